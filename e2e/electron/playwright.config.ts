/**
 * The real-Electron suite: each test launches the built demo app (out/main/index.js)
 * one or more times with Playwright's `_electron`. Run it with `npm run test:electron`,
 * which builds first and skips cleanly when there is no Electron binary.
 */
import { defineConfig } from '@playwright/test';

export default defineConfig({
  testDir: '.',
  testMatch: '*.spec.ts',
  // Every test starts two Electron apps; on two cores, one test at a time.
  workers: 1,
  fullyParallel: false,
  forbidOnly: Boolean(process.env['CI']),
  timeout: 60_000,
  expect: { timeout: 10_000 },
  outputDir: '../../test-results/electron',
  reporter: process.env['CI'] ? [['list'], ['html', { open: 'never', outputFolder: '../../playwright-report/electron' }]] : 'list',
  // No `use.trace`: it applies to browsers Playwright launches, not to Electron apps;
  // demo-app.ts records a trace of each app itself and keeps it when a test fails.
});
