/**
 * A socket belongs to the document that made it (SPEC §6): reloading the page,
 * or quitting the app, closes its sockets at once and removes its listeners'
 * socket files. The test's probe is the page's peer.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect, type Page } from '@playwright/test';
import { DataSocketProbe, test } from '../../src/testing/index.js';
import { demoApp, demoWindow, noElectron } from './demo-app.js';
import { harness, installHarness, waitForNet } from './page-harness.js';

test.skip(noElectron !== null, noElectron ?? '');

/** Bare names resolve in each test's own namespace (the kit's datasocketNamespace): a fixed name never meets another test's. */
const NAME = 'lifecycle';

// Windows pipes are not files: there is nothing to look for on disk.
const socketFiles = process.platform !== 'win32';

/**
 * The page listens on NAME (harness key `listener`); resolves once it listens, with its
 * socket path. That path is in the test's namespace: main resolved the page's bare name
 * with the DATASOCKET_NAMESPACE launchInstance put in its environment.
 */
async function listen(page: Page, namespace: string): Promise<string> {
  await installHarness(page);
  const inPage = harness(page);
  await inPage.listen('listener', NAME);
  await expect.poll(() => inPage.eventNames('listener')).toEqual(['listening']);
  const socketPath = (await inPage.address('listener')).path;
  if (socketPath === undefined) throw new Error('a local listener should report its socket path');
  if (socketFiles) {
    expect(fs.existsSync(socketPath)).toBe(true);
    expect(path.basename(path.dirname(socketPath))).toBe(namespace);
  }
  return socketPath;
}

test.describe('§6 a frame owns its sockets', () => {
  test('reloading A closes its sockets: its peer sees a clean close, the socket file is removed, the name is free again', async ({
    launchInstance,
    datasocketNamespace,
  }) => {
    const page = await demoWindow(await launchInstance(demoApp('a')));
    const socketPath = await listen(page, datasocketNamespace);
    await using peer = await DataSocketProbe.connect(NAME).ready();
    await expect.poll(() => harness(page).eventNames('listener/1')).toEqual(['connect']);

    await page.reload();

    // A probe's wait ends (ERR_DATASOCKET_CLOSED) when its connection closes; a reload is a clean end, no error.
    await expect(peer.next({ timeoutMs: 10_000 })).rejects.toMatchObject({ code: 'ERR_DATASOCKET_CLOSED' });
    expect(peer.errors).toEqual([]);
    expect(peer.connections).toBe(0);
    if (socketFiles) await expect.poll(() => fs.existsSync(socketPath)).toBe(false);

    // The new document starts with no sockets, and may listen on the same name: the old listener is gone.
    await waitForNet(page);
    await installHarness(page);
    const inA = harness(page);
    await inA.listen('listener-again', NAME);
    await expect.poll(() => inA.eventNames('listener-again')).toEqual(['listening']);
    await using again = await DataSocketProbe.connect(NAME).ready();
    expect(again.connections).toBe(1);
  });

  test('quitting A closes its sockets: its peer sees close and the socket file is removed', async ({ launchInstance, datasocketNamespace }) => {
    const a = await launchInstance(demoApp('a'));
    const page = await demoWindow(a);
    const socketPath = await listen(page, datasocketNamespace);
    await using peer = await DataSocketProbe.connect(NAME).ready();
    await expect.poll(() => harness(page).eventNames('listener/1')).toEqual(['connect']);

    // Playwright's own quit, as long as it takes (the kit's a.close() would kill the app after 5 s, leaving the file).
    await a.app.close();

    await expect(peer.next({ timeoutMs: 10_000 })).rejects.toMatchObject({ code: 'ERR_DATASOCKET_CLOSED' });
    if (socketFiles) await expect.poll(() => fs.existsSync(socketPath)).toBe(false);
  });
});
