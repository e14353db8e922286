/**
 * §6 preload: `exposeDataSocket()` makes `window.Net.DataSocket` available before the
 * page's scripts run and exposes nothing else — no ipcRenderer, no require, no
 * process, no channel names. The main-world code is built from one self-contained
 * function (the stand-in recompiles it from its source in the main realm) and works
 * under a CSP that forbids eval.
 */
import { expect, test } from '@playwright/test';
import { ErrorCode } from '../../src/shared/errors.js';
import { uniqueName, type AppPage } from './helpers/app-page.js';
import { useAppPages } from './helpers/app-pages.js';

test.describe('§6 the preload exposes window.Net.DataSocket and nothing else', () => {
  const world = useAppPages({ app: {} });
  let page!: AppPage;
  test.beforeAll(() => {
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
      statics: ['connect', 'length', 'listen', 'name', 'prototype'],
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

    // The same page without the preload: what the preload adds to `window` is the difference.
    const bare = await world.context.app.newPage();
    try {
      await bare.goto(world.app.app.pageUrl({ preload: 'none' }));
      // Frame indices ('0') are the stand-in's iframe standing for the isolated world, which Electron does not have.
      const globals = (): string[] => Object.getOwnPropertyNames(globalThis).filter((name) => !/^\d+$/.test(name));
      const [withPreload, without] = await Promise.all([page.page.evaluate(globals), bare.evaluate(globals)]);
      const added = withPreload.filter((name) => !without.includes(name));
      expect(added).toEqual(['Net']);
    } finally {
      await bare.close();
    }
  });

  test('the page cannot make a DataSocket but through connect() and listen()', async () => {
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
    const name = uniqueName('csp');
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
