/**
 * The §2 event API in a real sandboxed, context-isolated page, where
 * contextBridge would give a new proxy for every crossing of a function
 * (electron/electron#33328): `off(f)` with the very `f` given to `on` must
 * still work, and every method returns the same socket, so calls chain.
 */
import { expect } from '@playwright/test';
import type { NetApi, PageDataSocket } from '../../src/renderer/index.js';
import { DataSocketProbe, test } from '../../src/testing/index.js';
import { demoApp, demoWindow, noElectron } from './demo-app.js';

test.skip(noElectron !== null, noElectron ?? '');

/** Bare names resolve in each test's own namespace (the kit's datasocketNamespace): a fixed name never meets another test's. */
const NAME = 'page-api';

/** What the page keeps for this test, at `globalThis.apiTest`. */
interface ApiTest {
  socket: PageDataSocket;
  counts: { all: number; f: number; namespaced: number; once: number; late: number };
  sameSocket: boolean[];
}

test.describe('§2 on / once / off in the renderer', () => {
  test('off(f) removes f wherever it was registered; off by namespace and by name; every call chains', async ({ launchInstance }) => {
    // The test's probe is the page's peer: it listens, and sends the values the page's handlers count.
    await using peer = await DataSocketProbe.listen(NAME).ready();
    const page = await demoWindow(await launchInstance(demoApp('a')));

    await page.evaluate((name) => {
      const g = globalThis as unknown as { Net: NetApi; apiTest?: ApiTest };
      const counts = { all: 0, f: 0, namespaced: 0, once: 0, late: 0 };
      const f = (): void => {
        counts.f += 1;
      };
      const socket = g.Net.DataSocket.connect(name);
      const returned = [
        socket.on('data', () => {
          counts.all += 1;
        }),
        socket.on('data', f).on('connect', f),
        socket.on('data.ns', () => {
          counts.namespaced += 1;
        }),
        socket.once('data', () => {
          counts.once += 1;
        }),
        // Before 'connect': had it stayed registered there, f would count the connect.
        socket.off(f),
      ];
      g.apiTest = { socket, counts, sameSocket: returned.map((r) => r === socket) };
    }, NAME);

    const counts = () => page.evaluate(() => (globalThis as unknown as { apiTest: ApiTest }).apiTest.counts);
    expect(await page.evaluate(() => (globalThis as unknown as { apiTest: ApiTest }).apiTest.sameSocket)).toEqual([true, true, true, true, true]);

    await peer.connection();
    expect(peer.connections).toBe(1);
    for (const value of [1, 2, 3]) peer.send(value);
    await expect.poll(counts).toEqual({ all: 3, f: 0, namespaced: 3, once: 1, late: 0 });

    expect(await page.evaluate(() => {
      const { socket } = (globalThis as unknown as { apiTest: ApiTest }).apiTest;
      return socket.off('.ns') === socket;
    })).toBe(true);
    peer.send(4);
    await expect.poll(counts).toEqual({ all: 4, f: 0, namespaced: 3, once: 1, late: 0 });

    // off('data') removes every data handler; one added afterwards is the only one left.
    await page.evaluate(() => {
      const { socket, counts: pageCounts } = (globalThis as unknown as { apiTest: ApiTest }).apiTest;
      socket.off('data').on('data.late', () => {
        pageCounts.late += 1;
      });
    });
    peer.send(5);
    await expect.poll(counts).toEqual({ all: 4, f: 0, namespaced: 3, once: 1, late: 1 });
  });

  test('a listener from listen() chains its on() calls, and close() is idempotent', async ({ launchInstance }) => {
    const page = await demoWindow(await launchInstance(demoApp('a')));
    const result = await page.evaluate(
      (name) =>
        new Promise<{ sameAfterOn: boolean; states: string[] }>((resolve) => {
          const { DataSocket } = (globalThis as unknown as { Net: NetApi }).Net;
          const states: string[] = [];
          const listener = DataSocket.listen(() => true, name);
          const afterOn = listener
            .on('listening', () => {
              states.push(listener.state);
              listener.close();
              listener.close();
              states.push(listener.state);
            })
            .on('close', () => {
              states.push(listener.state);
              resolve({ sameAfterOn: afterOn === listener, states });
            });
        }),
      NAME,
    );
    expect(result.sameAfterOn).toBe(true);
    expect(result.states[0]).toBe('listening');
    expect(result.states.at(-1)).toBe('closed');
  });
});
