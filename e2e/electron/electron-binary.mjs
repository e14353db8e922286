// Is there an Electron binary to run? Answers the way node_modules/electron/index.js
// finds it, without its side effect: requiring 'electron' from Node downloads the
// binary from GitHub when it is missing, which must not happen in a test run.
// Plain JS so that run.mjs can use it before anything is built; electron-binary.d.mts types it.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

/** Where the electron package is; resolving package.json runs none of its code. */
function electronPackageDir() {
  try {
    return path.dirname(createRequire(import.meta.url).resolve('electron/package.json'));
  } catch {
    return null;
  }
}

/**
 * `{ found: true, path }` when the binary is there, else `{ found: false, reason }`,
 * the reason being one line that says what is missing.
 */
export function findElectronBinary() {
  const dir = electronPackageDir();
  if (dir === null) return { found: false, reason: 'no Electron binary (the electron package is not installed; run npm install)' };
  const pathFile = path.join(dir, 'path.txt');
  const executable = fs.existsSync(pathFile) ? fs.readFileSync(pathFile, 'utf8') : '';
  const override = process.env.ELECTRON_OVERRIDE_DIST_PATH;
  if (override) {
    const binary = path.join(override, executable || 'electron');
    return fs.existsSync(binary)
      ? { found: true, path: binary }
      : { found: false, reason: `no Electron binary (${binary}, from ELECTRON_OVERRIDE_DIST_PATH, is missing)` };
  }
  const dist = path.join(dir, 'dist');
  if (executable !== '' && fs.existsSync(path.join(dist, executable))) return { found: true, path: path.join(dist, executable) };
  const missing = fs.existsSync(dist) && executable !== '' ? path.join(dist, executable) : dist;
  return {
    found: false,
    reason: `no Electron binary (${path.relative(process.cwd(), missing) || missing} is missing; it needs network access to GitHub)`,
  };
}

/** The one line printed, and given to test.skip, when there is no binary. */
export function skipMessage(reason) {
  return `electron e2e: skipped — ${reason}`;
}
