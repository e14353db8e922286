/**
 * The Chromium end-to-end suite (SPEC §6): real pages in Debian's Chromium, the real
 * preload and page code, a strict stand-in for Electron's IPC and contextBridge, and
 * real host code in separate harness processes. Run `npm run build` first: the pages
 * load dist/preload.js. The specs take `test` from the testing kit (src/testing).
 */
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from '@playwright/test';

export default defineConfig({
  testDir: path.dirname(fileURLToPath(import.meta.url)),
  testMatch: '*.spec.ts',
  // Real processes and sockets on two cores: two workers. Each test has its own instances and namespace (the testing
  // kit's; README.md), so more workers do not collide; tests within a file still run in order, the stand-in's lab page
  // being shared per describe.
  workers: 2,
  fullyParallel: false,
  forbidOnly: !!process.env.CI,
  retries: 0,
  timeout: 30_000,
  expect: { timeout: 5_000 },
  reporter: 'list',
  // Traces and failure context go to the temp dir, not into the repository.
  outputDir: path.join(os.tmpdir(), 'electron-datasocket-chromium-results'),
  use: {
    browserName: 'chromium',
    headless: true,
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    },
  },
});
