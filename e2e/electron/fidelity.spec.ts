/**
 * What only real Electron can show (SPEC §6, "Electron fidelity"): the page's bytes
 * cross renderer → main → socket → main → renderer intact, however large (a transfer
 * list holding an ArrayBuffer would lose them in main: electron/electron#34905); a
 * renderer that crashes drops its connections (peers see ECONNRESET) while one that
 * goes away cleanly closes them. (The page learning that main's bridge went away needs
 * a dispose() the demo app does not offer: test/main/bridge covers it.)
 */
import { expect } from '@playwright/test';
import { DataSocketProbe, test, type DataSocketFixtures } from '../../src/testing/index.js';
import { demoApp, demoWindow, launchPairWithHarness, noElectron } from './demo-app.js';
import { harness, installHarness } from './page-harness.js';

test.skip(noElectron !== null, noElectron ?? '');

/** Bare names resolve in each test's own namespace (the kit's datasocketNamespace): a fixed name never meets another test's. */
const NAME = 'fidelity';

/** A's page listens on NAME, B's connects; resolves once both ends are open. */
async function connectedPair(launchInstance: DataSocketFixtures['launchInstance']) {
  const pair = await launchPairWithHarness(launchInstance);
  await pair.inA.listen('listener', NAME);
  await expect.poll(() => pair.inA.eventNames('listener')).toEqual(['listening']);
  await pair.inB.connect('client', NAME);
  await expect.poll(() => pair.inB.eventNames('client')).toEqual(['connect']);
  await expect.poll(() => pair.inA.eventNames('listener/1')).toEqual(['connect']);
  return pair;
}

/** Launches A, whose page listens on NAME; resolves once it listens. The test's probe is A's peer. */
async function listeningInstance(launchInstance: DataSocketFixtures['launchInstance']) {
  const a = await launchInstance(demoApp('a'));
  const page = await demoWindow(a);
  await installHarness(page);
  const inA = harness(page);
  await inA.listen('listener', NAME);
  await expect.poll(() => inA.eventNames('listener')).toEqual(['listening']);
  return { a, inA };
}

test.describe('§6 page bytes cross real Electron intact', () => {
  for (const length of [1, 65_536, 8 * 1024 * 1024]) {
    test(`a ${length}-byte Uint8Array goes page to page both ways, byte for byte`, async ({ launchInstance }) => {
      const { inA, inB } = await connectedPair(launchInstance);
      const fromB = await inB.sendBytes('client', length);
      const fromA = await inA.sendBytes('listener/1', length);
      const received = async (side: typeof inA, key: string) =>
        (await side.events(key)).filter((e) => e.event === 'data').map((e) => e.value);
      const expected = length > 4096 ? { Uint8Array: { length, checksum: fromB.checksum } } : undefined;
      await expect.poll(() => received(inA, 'listener/1'), { timeout: 30_000 }).toHaveLength(1);
      await expect.poll(() => received(inB, 'client'), { timeout: 30_000 }).toHaveLength(1);
      if (expected !== undefined) {
        expect(await received(inA, 'listener/1')).toEqual([expected]);
        expect(await received(inB, 'client')).toEqual([{ Uint8Array: { length, checksum: fromA.checksum } }]);
      } else {
        expect(await received(inA, 'listener/1')).toEqual([{ Uint8Array: [0] }]);
        expect(await received(inB, 'client')).toEqual([{ Uint8Array: [0] }]);
      }
    });
  }
});

test.describe('§6 a crash drops the connections, a clean end closes them', () => {
  test("A's renderer crashes: its peer sees ECONNRESET, then close", async ({ launchInstance }) => {
    const { a, inA } = await listeningInstance(launchInstance);
    await using peer = await DataSocketProbe.connect(NAME).ready();
    await expect.poll(() => inA.eventNames('listener/1')).toEqual(['connect']);

    await a.app.evaluate(({ BrowserWindow }) => BrowserWindow.getAllWindows()[0]!.webContents.forcefullyCrashRenderer());

    // A probe's wait ends (ERR_DATASOCKET_CLOSED) when its connection closes; how it ended is in its errors.
    await expect(peer.next({ timeoutMs: 10_000 })).rejects.toMatchObject({ code: 'ERR_DATASOCKET_CLOSED' });
    expect(peer.errors.map((error) => error.code)).toEqual(['ECONNRESET']);
  });

  test("A's window is closed: its peer sees a plain close", async ({ launchInstance }) => {
    const { a, inA } = await listeningInstance(launchInstance);
    await using peer = await DataSocketProbe.connect(NAME).ready();
    await expect.poll(() => inA.eventNames('listener/1')).toEqual(['connect']);

    await a.app.evaluate(({ BrowserWindow }) => BrowserWindow.getAllWindows()[0]!.close());

    await expect(peer.next({ timeoutMs: 10_000 })).rejects.toMatchObject({ code: 'ERR_DATASOCKET_CLOSED' });
    expect(peer.errors).toEqual([]);
  });
});
