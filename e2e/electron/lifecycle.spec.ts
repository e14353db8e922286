/**
 * A socket belongs to the document that made it (SPEC §6): reloading the page,
 * or quitting the app, closes its sockets at once and removes its listeners'
 * socket files.
 */
import fs from 'node:fs';
import { expect, harness, installHarness, noElectron, test, waitForNet, type DemoApp } from './demo-app.js';

test.skip(noElectron !== null, noElectron ?? '');

// Windows pipes are not files: there is nothing to look for on disk.
const socketFiles = process.platform !== 'win32';

/** A listens on `name`, B connects; returns the listener's socket path once both sides are open. */
async function connectPair(a: DemoApp, b: DemoApp, name: string): Promise<string> {
  await installHarness(a.page);
  await installHarness(b.page);
  const inA = harness(a.page);
  const inB = harness(b.page);
  await inA.listen('listener', name);
  await expect.poll(() => inA.eventNames('listener')).toEqual(['listening']);
  const { path } = await inA.address('listener');
  if (path === undefined) throw new Error('a local listener should report its socket path');
  if (socketFiles) expect(fs.existsSync(path)).toBe(true);
  await inB.connect('client', name);
  await expect.poll(() => inB.eventNames('client')).toEqual(['connect']);
  await expect.poll(() => inA.eventNames('listener/1')).toEqual(['connect']);
  return path;
}

test.describe('§6 a frame owns its sockets', () => {
  test('reloading A closes its sockets: B sees close, the socket file is removed, the name is free again', async ({ launchDemo, socketName }) => {
    const a = await launchDemo('a');
    const b = await launchDemo('b');
    const socketPath = await connectPair(a, b, socketName);
    const inB = harness(b.page);

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
    const a = await launchDemo('a');
    const b = await launchDemo('b');
    const socketPath = await connectPair(a, b, socketName);
    const inB = harness(b.page);

    await a.app.close();

    await expect.poll(() => inB.eventNames('client')).toContain('close');
    if (socketFiles) await expect.poll(() => fs.existsSync(socketPath)).toBe(false);
  });
});
