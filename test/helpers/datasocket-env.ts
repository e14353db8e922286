/**
 * The DATASOCKET_* environment variables the library reads at each socket (namespace,
 * trace): tests set them freely, and these put them back after each test of the file.
 */
import fs from 'node:fs';
import { afterEach, beforeEach } from 'vitest';
import { tempDir } from './sockets.js';

const NAMES = ['DATASOCKET_NAMESPACE', 'DATASOCKET_TRACE', 'DATASOCKET_TRACE_VALUES'] as const;

/** Puts DATASOCKET_NAMESPACE, DATASOCKET_TRACE and DATASOCKET_TRACE_VALUES back as they were after each test of the calling file. */
export function restoreDataSocketEnv(): void {
  const saved = NAMES.map((name) => [name, process.env[name]] as const);
  afterEach(() => {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });
}

/**
 * Before each test, DATASOCKET_TRACE is a fresh directory (removed after the test) and
 * DATASOCKET_TRACE_VALUES is '1' or unset as `values` says; both put back after it.
 * Returns the current test's directory.
 */
export function useTraceDir(prefix: string, { values }: { values: boolean }): () => string {
  restoreDataSocketEnv();
  let dir = '';
  beforeEach(() => {
    dir = tempDir(prefix);
    process.env.DATASOCKET_TRACE = dir;
    if (values) process.env.DATASOCKET_TRACE_VALUES = '1';
    else delete process.env.DATASOCKET_TRACE_VALUES;
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
  return () => dir;
}
