// `npm run test:electron`: the Playwright suite against the real Electron.
//
// The electron package downloads its binary from GitHub on first use; where that
// is out of reach (CI with only the npm registry) there is nothing to run, so this
// prints one line saying so and exits 0. Otherwise it builds dist/ and the demo
// app (out/), then runs Playwright, and exits with its code. Arguments are passed
// on to `playwright test` (e.g. `npm run test:electron -- --grep reload`).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { findElectronBinary, skipMessage } from './electron-binary.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
process.chdir(root);

const binary = findElectronBinary();
if (!binary.found) {
  console.log(skipMessage(binary.reason));
  process.exit(0);
}

/** Runs a command in the repo root with our stdio; returns its exit code. */
function run(command, args) {
  const result = spawnSync(command, args, { stdio: 'inherit' });
  if (result.error) throw result.error;
  return result.status ?? 1;
}

/** Electron needs a display; on a Linux box without one, xvfb-run provides it if installed. */
function needsVirtualDisplay() {
  if (process.platform !== 'linux' || process.env.DISPLAY || process.env.WAYLAND_DISPLAY) return false;
  return (process.env.PATH ?? '').split(path.delimiter).some((dir) => dir !== '' && fs.existsSync(path.join(dir, 'xvfb-run')));
}

const node = process.execPath;
for (const [command, args] of [
  [node, ['scripts/build.mjs']],
  [node, ['node_modules/electron-vite/bin/electron-vite.js', 'build']],
]) {
  const code = run(command, args);
  if (code !== 0) process.exit(code);
}

const playwright = [node, 'node_modules/@playwright/test/cli.js', 'test', '-c', 'e2e/electron/playwright.config.ts', ...process.argv.slice(2)];
process.exit(needsVirtualDisplay() ? run('xvfb-run', ['-a', ...playwright]) : run(playwright[0], playwright.slice(1)));
