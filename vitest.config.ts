import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Real processes and real sockets: two cores, so keep the file-level parallelism modest.
    maxWorkers: 2,
  },
});
