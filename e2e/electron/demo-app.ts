/**
 * The demo app (demo/, built into out/) as the specs start it with the testing kit's
 * `launchInstance`, and whether there is an Electron binary to start it with.
 *
 * The kit gives every instance what used to be made here: its own userData directory
 * (`--user-data-dir`), the test's namespace and trace directory in its environment,
 * its whole process tree gone after the test, and its output attached when a test
 * fails. Bare socket names resolve in the test's namespace — in the test process and,
 * through that environment, in the demo's main, which serves its page's sockets — so
 * the specs use fixed names.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from '@playwright/test';
import type { DataSocketFixtures, DataSocketInstance, LaunchInstanceOptions } from '../../src/testing/index.js';
import { findElectronBinary, skipMessage } from './electron-binary.mjs';
import { harness, installHarness, waitForNet } from './page-harness.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The demo's main script, built by `npm run build:app` (`npm run test:electron` builds it first). */
export const demoMain = path.join(root, 'out/main/index.js');

const binary = findElectronBinary();

/**
 * Why the specs cannot run here, or null. Every spec starts with
 * `test.skip(noElectron !== null, noElectron ?? '')`.
 */
export const noElectron: string | null = binary.found ? null : skipMessage(binary.reason);

/**
 * `launchInstance` options for one instance of the demo, labelled `label`; `env` is
 * added to the instance's environment. ELECTRON_ENABLE_LOGGING puts the page's console
 * messages and uncaught errors on Electron's stderr, which the kit attaches to the
 * report of a failed test (`<label>-stderr`).
 */
export function demoApp(label: string, { env = {} }: { env?: Record<string, string> } = {}): LaunchInstanceOptions {
  if (!fs.existsSync(demoMain)) {
    throw new Error(`${path.relative(root, demoMain)} is missing: run npm run test:electron, or npm run build && npx electron-vite build`);
  }
  return { args: [demoMain], cwd: root, label, env: { ELECTRON_ENABLE_LOGGING: 'true', ...env } };
}

/**
 * The demo's window in `instance`, once its page has loaded (the page's own scripts
 * ran: before that, its buttons do nothing) and the preload has given it `window.Net`.
 */
export async function demoWindow(instance: DataSocketInstance): Promise<Page> {
  const page = await instance.app.firstWindow();
  // By URL, not waitForLoadState(): the window may still show its first, empty document, whose load state that would be.
  await page.waitForURL('**/index.html');
  await waitForNet(page);
  return page;
}

/** Two instances of the demo, `a` and `b`, with the page harness in each window; `inA`/`inB` drive them. */
export async function launchPairWithHarness(launchInstance: DataSocketFixtures['launchInstance']) {
  const a = await launchInstance(demoApp('a'));
  const b = await launchInstance(demoApp('b'));
  const pageA = await demoWindow(a);
  const pageB = await demoWindow(b);
  await installHarness(pageA);
  await installHarness(pageB);
  return { a, b, pageA, pageB, inA: harness(pageA), inB: harness(pageB) };
}
