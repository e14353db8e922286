/**
 * For tests that run the built package (dist/) in other processes: builds it first
 * when src/ changed since the last build. `npm test` builds before the suites, so
 * there this only looks at modification times.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Newest modification time under `dir`, in ms. */
function newest(dir: string): number {
  let latest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) latest = Math.max(latest, fs.statSync(path.join(entry.parentPath, entry.name)).mtimeMs);
  }
  return latest;
}

/** Runs `npm run build` unless dist/index.js is newer than every file in src/. */
export function ensureBuilt(): void {
  const entry = path.join(ROOT, 'dist/index.js');
  if (fs.existsSync(entry) && fs.statSync(entry).mtimeMs >= newest(path.join(ROOT, 'src'))) return;
  try {
    execFileSync(process.execPath, [path.join(ROOT, 'scripts/build.mjs')], { cwd: ROOT, stdio: 'pipe', encoding: 'utf8' });
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`npm run build failed; these tests run the built package:\n${stdout ?? ''}${stderr ?? ''}`);
  }
}
