/**
 * §2 in the page: `window.Net.DataSocket` is the §2 API unchanged — event order,
 * namespaces, `off(f)` with the very function given to `on`, chaining on one object,
 * sending while connecting. A contextBridge gives a new proxy for every crossing of a
 * function (the stand-in does exactly that), so the preload does not proxy the class:
 * it builds DataSocket in the main world itself, and the page's handlers never cross
 * the bridge. Only the preload's two bridge functions cross, once each, and messages
 * go through them as copies. The peer is a page of another app instance.
 */
import fs from 'node:fs';
import { expect } from '@playwright/test';
import { ErrorCode } from '../../src/shared/errors.js';
import { test } from '../../src/testing/index.js';
import { reachOf, type AppPage, type Reach } from './helpers/app-page.js';
import { useAppPages } from './helpers/app-pages.js';
import type { AcceptPlan } from './helpers/page-driver.js';

test.describe('§2 the page gets the §2 API unchanged', () => {
  const world = useAppPages({ client: {}, server: {} });
  let client!: AppPage;
  let server!: AppPage;
  test.beforeEach(() => {
    ({ client, server } = world.page);
  });

  /** A listener in the server page; returns how the client page reaches it. */
  async function serve(plan: AcceptPlan = { verdict: 'yes' }): Promise<Reach> {
    return reachOf(await server.listen('l', 'api', undefined, plan));
  }

  /** Connects the client page as `id` and waits for both ends to be open; returns the server's connection id. */
  async function connected(id = 'c'): Promise<string> {
    await client.connect(id, await serve());
    await client.until(id, 'connect');
    await server.until('l#1', 'connect');
    return 'l#1';
  }

  test('a client sees connect, then each data in order, then close — and nothing after close', async () => {
    await client.connect('c', await serve({ verdict: 'yes', onConnect: { send: ['one', 'two', 'three'], close: true } }));
    await client.until('c', 'close');
    // Anything late would show up now.
    await client.page.waitForTimeout(200);
    const snapshot = await client.snapshot('c');
    expect(snapshot.log).toEqual(['connect', 'data', 'data', 'data', 'close']);
    expect(snapshot.values).toEqual(['one', 'two', 'three']);
    expect(snapshot.state).toBe('closed');
    expect(snapshot.active).toBe(false);
    // The accepted side: connect right after its acceptor said yes, `sent` once per send, then close.
    const accepted = await server.snapshot('l#1');
    expect(accepted.log).toEqual(['connect', 'close']);
    expect(accepted.sent).toBe(3);
  });

  test('an error is followed by exactly one close, and nothing after it', async () => {
    await client.connect('refused', await serve({ verdict: 'no' }));
    // A socket file in the test's namespace that nobody made.
    await client.connect('missing', { name: world.app.server.socketFile('nobody') });
    await client.until('refused', 'close');
    await client.until('missing', 'close');
    await client.page.waitForTimeout(200);
    expect((await client.snapshot('refused')).log).toEqual([`error:${ErrorCode.REJECTED}`, 'close']);
    const missing = await client.snapshot('missing');
    expect(missing.log).toEqual(['error:ENOENT', 'close']);
    expect(missing.errors[0]).toMatchObject({ code: 'ENOENT', name: 'DataSocketError' });
  });

  test('an error nobody listens to is not thrown in the page: the socket just closes', async () => {
    // quiet: the driver registers no `error` handler on this socket.
    await client.run((d, a) => d.connect(a.id, a.name, undefined, undefined, true), { id: 'quiet', name: world.app.server.socketFile('nobody') });
    expect(await client.until('quiet', 'close')).toEqual(['close']);
    await client.page.waitForTimeout(100);
    expect(client.pageErrors).toEqual([]);
  });

  test("namespaces: on('data.x'), the 'receive' alias, off('.x'), off('data.y'), off('data')", async () => {
    const accepted = await connected();
    await client.run((d) => {
      const got: Record<string, string[]> = { x: [], y: [], plain: [], receiveX: [] };
      d.scratch.got = got;
      d.socket('c')
        .on('data.x', (v) => got.x!.push(v as string))
        .on('data.y', (v) => got.y!.push(v as string))
        .on('data', (v) => got.plain!.push(v as string))
        .on('receive.x', (v) => got.receiveX!.push(v as string));
    }, null);
    // Handlers run synchronously in one emit: once the driver saw value n, every handler saw it.
    const deliver = async (value: string, n: number): Promise<void> => {
      await server.send(accepted, value);
      await client.run((d, a) => d.untilValues('c', a.n), { n });
    };
    await deliver('v1', 1);
    await client.run((d) => void d.socket('c').off('.x'), null);
    await deliver('v2', 2);
    await client.run((d) => void d.socket('c').off('data.y'), null);
    await deliver('v3', 3);
    // off('data') removes every data handler, the driver's recorder too: count with a new probe.
    await client.run((d) => {
      const probe = { n: 0 };
      d.scratch.probe = probe;
      d.socket('c')
        .off('data')
        .on('data.probe', () => probe.n++);
    }, null);
    await server.send(accepted, 'v4');
    await expect.poll(() => client.run((d) => (d.scratch.probe as { n: number }).n, null)).toBe(1);
    expect(await client.run((d) => d.scratch.got, null)).toEqual({
      x: ['v1'],
      y: ['v1', 'v2'],
      plain: ['v1', 'v2', 'v3'],
      receiveX: ['v1'],
    });
  });

  test('off(f) removes the very function given to on() and once(), wherever it was registered', async () => {
    const accepted = await connected();
    await client.run((d) => {
      const calls: string[] = [];
      d.scratch.calls = calls;
      const f = (v: unknown): void => void calls.push(`f:${String(v)}`);
      const g = (v: unknown): void => void calls.push(`g:${String(v)}`);
      const s = d.socket('c');
      s.on('data', f).on('data.ns', f).once('data', f).on('data', g);
      s.off(f);
    }, null);
    await server.send(accepted, 'v1');
    await server.send(accepted, 'v2');
    await client.run((d) => d.untilValues('c', 2), null);
    expect(await client.run((d) => d.scratch.calls, null)).toEqual(['g:v1', 'g:v2']);
  });

  test('calls chain on one object: on, once and off return the very socket', async () => {
    const reach = await serve();
    const chained = await client.run(
      (d, a) => {
        const s = d.DataSocket.connect(a.name, a.port);
        const f = (): void => {};
        const results = [s.on('data', f), s.once('close', f), s.off('data'), s.off(f), s.on('error', f).on('close', f).off('.none')];
        const l = d.DataSocket.listen(() => true, a.listenName);
        const listenerResults = [l.on('listening', f), l.off(f)];
        const same = results.every((r) => r === s) && listenerResults.every((r) => r === l);
        s.close();
        l.close();
        return { same, state: s.state, listenerState: l.state };
      },
      { ...reach, listenName: 'chain' },
    );
    expect(chained.same).toBe(true);
  });

  test('values sent while connecting are queued and delivered in order once the listener accepts', async () => {
    const reach = await serve({ verdict: 'yes', delayMs: 300 });
    const states = await client.run(
      (d, a) => {
        d.connect('c', a.name, a.port);
        const s = d.socket('c');
        const seen: string[] = [];
        for (let i = 0; i < 50; i++) {
          seen.push(s.state);
          s.send({ i });
        }
        return seen;
      },
      reach,
    );
    expect(new Set(states)).toEqual(new Set(['connecting']));
    await server.run((d) => d.untilValues('l#1', 50), null);
    expect(await server.run((d) => d.values('l#1'), null)).toEqual(Array.from({ length: 50 }, (_, i) => ({ ref: 0, proto: 'Object', tag: 'Object', object: [['i', i]] })));
    await client.until('c', 'connect');
    expect((await client.snapshot('c')).sent).toBe(50);
  });

  test('close() before connect aborts: close without error, queued values dropped; send() after close throws ERR_DATASOCKET_CLOSED', async () => {
    const reach = await serve({ verdict: 'yes', delayMs: 200 });
    await client.run((d, a) => {
      d.connect('c', a.name, a.port);
      d.socket('c').send('never delivered');
    }, reach);
    // Close only once the listener's acceptor has the connection (its answer is 200 ms away): then there is exactly
    // one accepted connection that must never see the queued value, instead of a race over whether there is one.
    await server.until('l', 'accepted');
    const atClose = await client.run((d) => {
      const s = d.socket('c');
      const state = s.state;
      s.close();
      s.close();
      try {
        s.send('after close');
        return { state, thrown: 'sent' };
      } catch (error) {
        return { state, thrown: (error as { code?: string }).code };
      }
    }, null);
    expect(atClose).toEqual({ state: 'connecting', thrown: ErrorCode.CLOSED });
    expect(await client.until('c', 'close')).toEqual(['close']);
    await client.page.waitForTimeout(400);
    expect((await client.snapshot('c')).log).toEqual(['close']);
    const accepted = (await server.snapshot('l')).accepted;
    expect(accepted).toEqual(['l#1']);
    expect((await server.snapshot('l#1')).values).toEqual([]);
  });

  test('a listener that closes stops listening and removes its socket file; the connections it accepted stay open', async () => {
    const name = 'closing';
    const listener = await server.listen('l', name);
    await client.connect('c', reachOf(listener));
    await client.until('c', 'connect');
    expect(fs.existsSync(listener.address.path!)).toBe(true);
    await server.run((d) => d.socket('l').close(), null);
    expect(await server.until('l', 'close')).toEqual(['listening', 'accepted', 'close']);
    expect(fs.existsSync(world.app.server.socketFile(name))).toBe(false);
    await client.send('c', 'still open');
    await server.until('l#1', 'data');
    expect((await server.snapshot('l#1')).values).toEqual(['still open']);
    await client.connect('late', reachOf(listener));
    expect((await client.until('late', 'close'))[0]).toMatch(/^error:(ENOENT|ECONNREFUSED)$/);
  });

  test("the options work in the page: send() says false above highWaterMark and 'drain' follows; over maxBufferedBytes or maxFrameBytes it throws and the socket stays open", async () => {
    await client.connect('c', await serve(), { highWaterMark: 1024, maxBufferedBytes: 256 * 1024, maxFrameBytes: 128 * 1024 });
    await client.until('c', 'connect');
    const outcome = await client.run((d) => {
      const s = d.socket('c');
      const attempt = (value: unknown): string => {
        try {
          return String(s.send(value));
        } catch (error) {
          return (error as { code?: string }).code ?? String(error);
        }
      };
      const small = attempt('tiny');
      const big = attempt(new Uint8Array(64 * 1024));
      const frameTooLarge = attempt(new Uint8Array(200 * 1024));
      let full = '';
      for (let i = 0; i < 10 && full === ''; i++) {
        const result = attempt(new Uint8Array(100 * 1024));
        if (result !== 'false') full = result;
      }
      return { small, big, frameTooLarge, full, state: s.state, buffered: s.bufferedAmount > 0 };
    }, null);
    expect(outcome).toEqual({ small: 'true', big: 'false', frameTooLarge: ErrorCode.FRAME_TOO_LARGE, full: ErrorCode.BUFFER_FULL, state: 'open', buffered: true });
    expect(await client.until('c', 'drain')).toContain('drain');
    expect(await client.run((d) => d.socket('c').bufferedAmount, null)).toBe(0);
    await client.send('c', 'after all that');
    await server.run((d) => d.untilValues('l#1', 4), null);
    expect((await server.run((d) => d.values('l#1'), null)).at(-1)).toBe('after all that');
  });
});
