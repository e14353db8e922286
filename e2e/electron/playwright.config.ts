/**
 * The real-Electron suite: each test launches the built demo app (out/main/index.js)
 * one or more times with the testing kit's `launchInstance` (electron-datasocket/testing,
 * src/testing), the first user of the kit. Run it with `npm run test:electron`, which
 * builds first and skips cleanly when there is no Electron binary.
 */
import { defineConfig } from '@playwright/test';

export default defineConfig({
  testDir: '.',
  testMatch: '*.spec.ts',
  // A test starts up to three Electron apps; on two cores, one test at a time.
  workers: 1,
  fullyParallel: false,
  forbidOnly: Boolean(process.env['CI']),
  timeout: 60_000,
  expect: { timeout: 10_000 },
  outputDir: '../../test-results/electron',
  reporter: process.env['CI'] ? [['list'], ['html', { open: 'never', outputFolder: '../../playwright-report/electron' }]] : 'list',
  // No `use.trace`: it applies to browsers Playwright launches, not to Electron apps.
  // When a test fails, the kit attaches each instance's stdout and stderr (with the
  // page's console: demo-app.ts sets ELECTRON_ENABLE_LOGGING) and the merged socket trace.
});
