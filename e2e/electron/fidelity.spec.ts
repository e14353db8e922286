/**
 * What only real Electron can show (SPEC §6, "Electron fidelity"): the page's bytes
 * cross renderer → main → socket → main → renderer intact, however large (a transfer
 * list holding an ArrayBuffer would lose them in main: electron/electron#34905); a
 * renderer that crashes drops its connections (peers see ECONNRESET) while one that
 * goes away cleanly closes them. (The page learning that main's bridge went away needs
 * a dispose() the demo app does not offer: test/main/bridge covers it.)
 */
import { expect, launchPairWithHarness, noElectron, test } from './demo-app.js';

test.skip(noElectron !== null, noElectron ?? '');

/** A listens on `name`, B connects; resolves once both ends are open. */
async function connectedPair(launchDemo: Parameters<typeof launchPairWithHarness>[0], name: string) {
  const pair = await launchPairWithHarness(launchDemo);
  await pair.inA.listen('listener', name);
  await expect.poll(() => pair.inA.eventNames('listener')).toEqual(['listening']);
  await pair.inB.connect('client', name);
  await expect.poll(() => pair.inB.eventNames('client')).toEqual(['connect']);
  await expect.poll(() => pair.inA.eventNames('listener/1')).toEqual(['connect']);
  return pair;
}

test.describe('§6 page bytes cross real Electron intact', () => {
  for (const length of [1, 65_536, 8 * 1024 * 1024]) {
    test(`a ${length}-byte Uint8Array goes page to page both ways, byte for byte`, async ({ launchDemo, socketName }) => {
      const { inA, inB } = await connectedPair(launchDemo, socketName);
      const fromB = await inB.sendBytes('client', length);
      const fromA = await inA.sendBytes('listener/1', length);
      const received = async (harness: typeof inA, key: string) =>
        (await harness.events(key)).filter((e) => e.event === 'data').map((e) => e.value);
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
  test("A's renderer crashes: B sees ECONNRESET, then close", async ({ launchDemo, socketName }) => {
    const { a, inB } = await connectedPair(launchDemo, socketName);
    await a.app.evaluate(({ BrowserWindow }) => BrowserWindow.getAllWindows()[0]!.webContents.forcefullyCrashRenderer());
    await expect.poll(() => inB.events('client'), { timeout: 10_000 }).toEqual([{ event: 'connect' }, { event: 'error', code: 'ECONNRESET' }, { event: 'close' }]);
  });

  test("A's window is closed: B sees a plain close", async ({ launchDemo, socketName }) => {
    const { a, inB } = await connectedPair(launchDemo, socketName);
    await a.app.evaluate(({ BrowserWindow }) => BrowserWindow.getAllWindows()[0]!.close());
    await expect.poll(() => inB.events('client'), { timeout: 10_000 }).toEqual([{ event: 'connect' }, { event: 'close' }]);
  });
});
