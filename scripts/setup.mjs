// Makes a fresh checkout ready to run: installs the exact dependencies from the
// lock file when they are missing or stale, and (with --browser) Debian's
// Chromium for the browser suite. Uses nothing but Node itself, because it runs
// before node_modules exists.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const run = (command, args) => execFileSync(command, args, { cwd: root, stdio: 'inherit' });

const lock = path.join(root, 'package-lock.json');
const installed = path.join(root, 'node_modules/.package-lock.json');
if (!fs.existsSync(installed) || fs.statSync(installed).mtimeMs < fs.statSync(lock).mtimeMs) {
  console.log('setup: installing dependencies (npm ci)');
  run('npm', ['ci']);
}

export const CHROMIUM = '/usr/bin/chromium';
if (process.argv.includes('--browser') && !fs.existsSync(CHROMIUM)) {
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  let hasApt = false;
  try {
    execFileSync('apt-get', ['--version'], { stdio: 'ignore' });
    hasApt = true;
  } catch {}
  if (!isRoot || !hasApt) {
    console.error(`setup: the browser suite needs Debian's Chromium at ${CHROMIUM}: run 'sudo apt-get update && sudo apt-get install -y chromium'`);
    process.exit(1);
  }
  console.log("setup: installing Debian's chromium for the browser suite");
  run('apt-get', ['update']);
  run('apt-get', ['install', '-y', 'chromium']);
}
