/**
 * A per-file XDG_RUNTIME_DIR: bare socket names (and the election's locks) land in a
 * directory of the calling test file's own, set for the whole file and removed after it.
 */
import fs from 'node:fs';
import { afterAll, beforeAll } from 'vitest';
import { tempDir } from './sockets.js';

/** Sets XDG_RUNTIME_DIR to a fresh directory before the file's tests, restores it and removes the directory after; returns the directory. */
export function useRuntimeDir(): string {
  const runtimeDir = tempDir('xdg-');
  let savedRuntimeDir: string | undefined;
  beforeAll(() => {
    savedRuntimeDir = process.env.XDG_RUNTIME_DIR;
    process.env.XDG_RUNTIME_DIR = runtimeDir;
  });
  afterAll(() => {
    if (savedRuntimeDir === undefined) delete process.env.XDG_RUNTIME_DIR;
    else process.env.XDG_RUNTIME_DIR = savedRuntimeDir;
    fs.rmSync(runtimeDir, { recursive: true, force: true });
  });
  return runtimeDir;
}
