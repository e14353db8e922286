/**
 * A socket belongs to the document that made it (SPEC §6): reloading the page,
 * or quitting the app, closes its sockets at once and removes its listeners'
 * socket files.
 */
import fs from 'node:fs';
import { expect, harness, installHarness, launchPairWithHarness, noElectron, test, waitForNet } from './demo-app.js';

test.skip(noElectron !== null, noElectron ?? '');

// Windows pipes are not files: there is nothing to look for on disk.
const socketFiles = process.platform !== 'win32';

/** Launches A and B; A listens on `name`, B connects; resolves once both sides are open, with the listener's socket path. */
async function connectedPair(launchDemo: Parameters<typeof launchPairWithHarness>[0], name: string) {
  const { a, b, inA, inB } = await launchPairWithHarness(launchDemo);
  await inA.listen('listener', name);
  await expect.poll(() => inA.eventNames('listener')).toEqual(['listening']);
  const { path } = await inA.address('listener');
  if (path === undefined) throw new Error('a local listener should report its socket path');
  if (socketFiles) expect(fs.existsSync(path)).toBe(true);
  await inB.connect('client', name);
  await expect.poll(() => inB.eventNames('client')).toEqual(['connect']);
  await expect.poll(() => inA.eventNames('listener/1')).toEqual(['connect']);
  return { a, b, inB, socketPath: path };
}

test.describe('§6 a frame owns its sockets', () => {
  test('reloading A closes its sockets: B sees close, the socket file is removed, the name is free again', async ({ launchDemo, socketName }) => {
    const { a, inB, socketPath } = await connectedPair(launchDemo, socketName);

    await a.page.reload();

    await expect.poll(() => inB.eventNames('client')).toContain('close');
    expect(await inB.state('client')).toBe('closed');
    if (socketFiles) await expect.poll(() => fs.existsSync(socketPath)).toBe(false);

    // The new document starts with no sockets, and may listen on the same name: the old listener is gone.
    await waitForNet(a.page);
    await installHarness(a.page);
    const inA = harness(a.page);
    await inA.listen('listener-again', socketName);
    await expect.poll(() => inA.eventNames('listener-again')).toEqual(['listening']);
    await inB.connect('client-again', socketName);
    await expect.poll(() => inB.eventNames('client-again')).toEqual(['connect']);
  });

  test('quitting A closes its sockets: B sees close and the socket file is removed', async ({ launchDemo, socketName }) => {
    const { a, inB, socketPath } = await connectedPair(launchDemo, socketName);

    await a.app.close();

    await expect.poll(() => inB.eventNames('client')).toContain('close');
    if (socketFiles) await expect.poll(() => fs.existsSync(socketPath)).toBe(false);
  });
});
