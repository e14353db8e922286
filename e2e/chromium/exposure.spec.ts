/**
 * §6 preload: `exposeDataSocket()` makes `window.Net.DataSocket` available before the
 * page's scripts run and exposes nothing else — no ipcRenderer, no require, no
 * process, no channel names. The main-world code is built from one self-contained
 * function (the stand-in recompiles it from its source in the main realm) and works
 * under a CSP that forbids eval.
 *
 * The second describe checks the stand-in's own side of that: its settings (the
 * document's token included) are out of the page's DOM and off the isolated realm,
 * the page's own WebSocket to main gets no Host, and nothing in a page's URL turns on
 * the test internals or another preload. It does not claim page code cannot reach the
 * isolated realm: it can (see README.md).
 */
import { expect } from '@playwright/test';
import { ErrorCode } from '../../src/shared/errors.js';
import { test } from '../../src/testing/index.js';
import type { AppPage } from './helpers/app-page.js';
import { useAppPages } from './helpers/app-pages.js';

test.describe('§6 the preload exposes window.Net.DataSocket and nothing else', () => {
  // 'bare' serves the same page without a preload: what the preload adds to `window` is the difference.
  const world = useAppPages({ app: {}, bare: { app: { preload: 'none' } } });
  let page!: AppPage;
  test.beforeEach(() => {
    page = world.page.app;
  });

  test('window.Net is exactly { DataSocket }, frozen and fixed, and the first page script already sees it', async () => {
    const seen = await page.page.evaluate(() => {
      const w = globalThis as unknown as { Net: { DataSocket: object } };
      const descriptor = Object.getOwnPropertyDescriptor(globalThis, 'Net')!;
      return {
        keys: Object.keys(w.Net),
        frozen: Object.isFrozen(w.Net),
        writable: descriptor.writable,
        configurable: descriptor.configurable,
        type: typeof w.Net.DataSocket,
        statics: Object.getOwnPropertyNames(w.Net.DataSocket).sort(),
        atFirstScript: (globalThis as unknown as { document: { documentElement: { dataset: Record<string, string> } } }).document.documentElement.dataset.netAtFirstScript,
      };
    });
    expect(seen).toEqual({
      keys: ['DataSocket'],
      frozen: true,
      writable: false,
      configurable: false,
      type: 'function',
      statics: ['connect', 'connectOrListen', 'length', 'listen', 'name', 'prototype'],
      atFirstScript: 'function',
    });
  });

  test('nothing else reaches the main world: no ipcRenderer, require, process, module, Buffer or test internals; Net is the only new global', async () => {
    const leaks = await page.page.evaluate(() =>
      ['ipcRenderer', 'require', 'process', 'module', 'exports', 'Buffer', 'electron', 'contextBridge', '__datasocketTest', '__electronStandIn', '__datasocketMainWorld', '__lab'].filter(
        (name) => name in globalThis,
      ),
    );
    expect(leaks).toEqual([]);

    // Frame indices ('0') are the stand-in's iframe standing for the isolated world, which Electron does not have.
    const globals = (): string[] => Object.getOwnPropertyNames(globalThis).filter((name) => !/^\d+$/.test(name));
    const [withPreload, without] = await Promise.all([page.page.evaluate(globals), world.page.bare.page.evaluate(globals)]);
    const added = withPreload.filter((name) => !without.includes(name));
    expect(added).toEqual(['Net']);
  });

  test('the page cannot make a DataSocket but through connect(), listen() and connectOrListen()', async () => {
    const code = await page.page.evaluate(() => {
      const { DataSocket } = (globalThis as unknown as { Net: { DataSocket: new () => unknown } }).Net;
      try {
        new DataSocket();
        return 'constructed';
      } catch (error) {
        return (error as { code?: string }).code ?? String(error);
      }
    });
    expect(code).toBe(ErrorCode.INVALID_ARGUMENT);
  });

  test('the page runs under a CSP that forbids eval, and its DataSocket still encodes and decodes every value', async () => {
    const evalInPage = await page.page.evaluate(
      () => (globalThis as unknown as { document: { documentElement: { dataset: Record<string, string> } } }).document.documentElement.dataset.evalInPage,
    );
    expect(evalInPage).toBe('blocked');
    // One page, both ends: decoding runs in the port's message events, where the CSP applies.
    const name = 'csp';
    await page.listen('l', name);
    await page.connect('c', { name: world.app.app.socketFile(name) });
    await page.until('c', 'connect');
    const sent = await page.run((d) => {
      // Many values of one shape: the count at which msgpackr would compile record readers with eval, if it could.
      const values = [...Array.from({ length: 40 }, (_, i) => ({ same: 'shape', i })), ...d.sampleNames().map((n) => d.sample(n))];
      for (const value of values) d.send('c', value);
      return values.map((value) => d.describe(value));
    }, null);
    await page.run((d, a) => d.untilValues('l#1', a.n), { n: sent.length });
    expect(await page.run((d) => d.values('l#1'), null)).toEqual(sent);
    expect(page.consoleLines.filter((line) => /Content Security Policy/i.test(line))).toEqual([]);
  });
});

/** What the tests read of the page's global (there is no DOM lib in the Node program). */
interface PageGlobal {
  readonly document: {
    readonly documentElement: { readonly dataset: Record<string, string | undefined> };
    querySelectorAll(selector: string): { readonly length: number };
  };
  readonly frames: { readonly length: number; readonly [index: number]: Record<string, unknown> | undefined };
  readonly Net?: { readonly DataSocket?: unknown };
  readonly WebSocket: new (url: string) => { onopen: (() => void) | null; onclose: (() => void) | null; close(): void };
}

test.describe('§6 the page reaches main only through the preload: the stand-in keeps its settings and its ports out of page code', () => {
  const world = useAppPages({ app: {} });
  let page!: AppPage;
  test.beforeEach(() => {
    page = world.page.app;
  });

  test("the loader's settings (its token included) are out of the DOM before the first page script, and off the isolated realm once the preload ran", async () => {
    const seen = await page.page.evaluate(() => {
      const w = globalThis as unknown as PageGlobal;
      const isolated = w.frames[0];
      return {
        frames: w.frames.length,
        atFirstScript: w.document.documentElement.dataset.settingsAtFirstScript,
        inDom: w.document.querySelectorAll('[data-port-url], [data-token], [data-platform], [data-internals]').length,
        onIsolatedRealm: isolated === undefined ? 'no isolated realm' : typeof isolated.__electronStandIn,
        keyOnIsolatedRealm: isolated !== undefined && '__electronStandIn' in isolated,
      };
    });
    expect(seen).toEqual({ frames: 1, atFirstScript: 'hidden', inDom: 0, onIsolatedRealm: 'undefined', keyOnIsolatedRealm: false });
  });

  test("the page's own WebSocket to main gets no Host: without a token, with a made-up one, or naming another page's URL", async () => {
    const app = world.app.app;
    const from = app.events.length;
    const outcomes = await page.page.evaluate(async (portUrl) => {
      const w = globalThis as unknown as PageGlobal;
      const attempt = (url: string): Promise<string> =>
        new Promise((resolve) => {
          const socket = new w.WebSocket(url);
          socket.onopen = () => {
            socket.close();
            resolve('opened');
          };
          socket.onclose = () => resolve('refused');
        });
      return Promise.all([
        attempt(`${portUrl}?page=${encodeURIComponent('app://spoofed/')}`),
        attempt(`${portUrl}?token=made-up&port=1`),
        attempt(`${portUrl}?token=&port=1&page=${encodeURIComponent('app://spoofed/')}`),
      ]);
    }, app.portUrl());
    expect(outcomes).toEqual(['refused', 'refused', 'refused']);
    await expect.poll(() => app.events.slice(from).filter((e) => e.ev === 'refused-port').length).toBe(3);
    expect(app.events.slice(from).filter((e) => e.ev === 'port')).toEqual([]);
  });

  test("'?internals=1' or '?preload=lab' in a page's URL changes nothing (main decides both when it starts), and main records the URL it served", async () => {
    const app = world.app.app;
    const from = app.events.length;
    const url = `${app.pageUrl()}?internals=1&preload=lab`;
    const probe = await world.context.app.newPage();
    try {
      await probe.goto(url);
      const seen = await probe.evaluate(() => {
        const w = globalThis as unknown as PageGlobal;
        return { internals: '__datasocketTest' in w, lab: w.frames[0] !== undefined && '__lab' in w.frames[0], net: typeof w.Net?.DataSocket };
      });
      expect(seen).toEqual({ internals: false, lab: false, net: 'function' });
      expect(await app.waitFor((e) => e.ev === 'port', 5_000, from)).toMatchObject({ ev: 'port', url });
    } finally {
      await probe.close();
    }
  });
});
