/**
 * The stand-in for Electron is only worth something if it is at least as strict as
 * Electron. These tests pin that down: its IPC encoding (in Node), and its
 * contextBridge and ipcRenderer in real Chromium realms, on a page whose isolated
 * realm holds the bare stand-in (the 'lab' preload) instead of the DataSocket preload.
 */
import { expect, test, type Frame } from '@playwright/test';
import { BRIDGE_CHANNEL } from '../../src/shared/bridge-protocol.js';
import type { AppPage } from './helpers/app-page.js';
import { useAppPages } from './helpers/app-pages.js';
import { decodeMessage, encodeMessage, HOST_TO_PAGE, STRICT } from './stand-in/wire-json.js';

type Func = (...args: never[]) => unknown;
/** The stand-in as the lab preload leaves it on the isolated realm. */
interface Lab {
  contextBridge: { executeInMainWorld(script: { func: Func; args?: unknown[] }): unknown };
  ipcRenderer: { postMessage(channel: string, message: unknown, transfer?: unknown[]): void } & Record<string, unknown>;
}
/** The isolated realm's global, as the tests use it. */
type IsolatedGlobal = { __lab: Lab; MessageChannel: new () => { port1: unknown; port2: unknown } } & Record<string, unknown>;
/** The main realm's global, as the tests use it. */
type MainGlobal = Record<string, unknown>;

test.describe('the stand-in: its IPC carries only what the bridge protocol allows', () => {
  test('plain objects, arrays, strings, finite numbers, booleans, null and Uint8Array go through, and come back equal', () => {
    const message = { t: 'send', id: 3, bytes: Uint8Array.of(0, 1, 255), count: 1, nested: [{ a: null, b: true, c: 'é😀' }] };
    const back = decodeMessage(encodeMessage(message, STRICT), STRICT);
    expect(back).toEqual(message);
    expect((back as { bytes: unknown }).bytes).toBeInstanceOf(Uint8Array);
  });

  const refused: [string, unknown][] = [
    ['undefined', { t: 'end', id: undefined }],
    ['NaN', { id: Number.NaN }],
    ['Infinity', [Infinity]],
    ['a BigInt', { id: 1n }],
    ['a Map', new Map()],
    ['a Date', { when: new Date(0) }],
    ['a class instance', { x: new (class Point {})() }],
    ['an ArrayBuffer', { bytes: new ArrayBuffer(2) }],
    ['another typed array', { bytes: Uint16Array.of(1) }],
    ['a Symbol', { s: Symbol('s') }],
    ['a function', { f: () => 1 }],
    ['a hole in an array', [1, , 3]],
    ['a circular reference', (() => {
      const o: Record<string, unknown> = {};
      o.self = o;
      return o;
    })()],
    ['the reserved marker key', { $bytes: 'AAE=' }],
  ];
  for (const [what, value] of refused) {
    test(`page → main: ${what} throws`, () => {
      expect(() => encodeMessage(value, STRICT)).toThrow(TypeError);
    });
  }

  test('undefined goes main → page only', () => {
    const text = encodeMessage({ t: 'open', id: 1, address: { name: 'x', port: undefined } }, HOST_TO_PAGE);
    expect(decodeMessage(text, HOST_TO_PAGE)).toEqual({ t: 'open', id: 1, address: { name: 'x', port: undefined } });
    expect(() => decodeMessage(text, STRICT)).toThrow(TypeError);
  });
});

test.describe('the stand-in: its contextBridge and ipcRenderer are at least as strict as Electron', () => {
  const world = useAppPages({ lab: { page: { preload: 'lab' } } });
  let page!: AppPage;
  let isolated!: Frame;
  test.beforeAll(() => {
    page = world.page.lab;
    const frame = page.page.mainFrame().childFrames()[0];
    if (frame === undefined) throw new Error('the stand-in made no isolated realm');
    isolated = frame;
  });

  test('a function crossing twice becomes two different wrappers, each a function of the target realm, in both directions', async () => {
    await isolated.evaluate(() => {
      const f = (): string => 'from the isolated realm';
      (globalThis as unknown as IsolatedGlobal).__lab.contextBridge.executeInMainWorld({
        func: (a: () => string, b: () => string) => {
          (globalThis as unknown as MainGlobal).__crossed = [a, b];
        },
        args: [f, f],
      });
    });
    const toMain = await page.page.evaluate(() => {
      const [a, b] = (globalThis as unknown as MainGlobal).__crossed as [() => string, () => string];
      delete (globalThis as unknown as MainGlobal).__crossed;
      return { distinct: a !== b, mainRealm: a instanceof Function && b instanceof Function, result: a() };
    });
    expect(toMain).toEqual({ distinct: true, mainRealm: true, result: 'from the isolated realm' });

    const toIsolated = await isolated.evaluate(() => {
      const got: unknown[] = [];
      (globalThis as unknown as IsolatedGlobal).__lab.contextBridge.executeInMainWorld({
        func: (register: (fn: () => string) => void) => {
          const g = (): string => 'from the main realm';
          register(g);
          register(g);
        },
        args: [(fn: unknown) => got.push(fn)],
      });
      const [a, b] = got as [() => string, () => string];
      return { distinct: a !== b, isolatedRealm: a instanceof Function, result: a() };
    });
    expect(toIsolated).toEqual({ distinct: true, isolatedRealm: true, result: 'from the main realm' });
  });

  test('a Symbol or a Promise throws instead of crossing: as an argument, nested, as a result, and through a wrapper', async () => {
    const outcomes = await isolated.evaluate(() => {
      const { executeInMainWorld } = (globalThis as unknown as IsolatedGlobal).__lab.contextBridge;
      const attempt = (run: () => unknown): string => {
        try {
          run();
          return 'crossed';
        } catch (error) {
          return (error as Error).name;
        }
      };
      return {
        symbol: attempt(() => executeInMainWorld({ func: () => undefined, args: [Symbol('s')] })),
        nested: attempt(() => executeInMainWorld({ func: () => undefined, args: [{ deep: [Symbol('s')] }] })),
        promise: attempt(() => executeInMainWorld({ func: () => undefined, args: [Promise.resolve(1)] })),
        result: attempt(() => executeInMainWorld({ func: () => Symbol('r'), args: [] })),
        throughWrapper: executeInMainWorld({
          func: (callback: (s: symbol) => void) => {
            try {
              callback(Symbol('x'));
              return 'crossed';
            } catch (error) {
              return (error as Error).name;
            }
          },
          args: [() => undefined],
        }),
      };
    });
    expect(outcomes).toEqual({ symbol: 'TypeError', nested: 'TypeError', promise: 'TypeError', result: 'TypeError', throughWrapper: 'TypeError' });
  });

  test('copies are frozen, lose their prototypes and belong to the target realm; bytes, dates, maps and errors cross by structured clone', async () => {
    await isolated.evaluate(() => {
      class Point {
        x = 1;
        y = 2;
        norm(): number {
          return Math.hypot(this.x, this.y);
        }
      }
      const bytes = Uint8Array.of(1, 2, 3);
      const list: unknown[] = [1, { deep: true }];
      const original = { point: new Point(), list, bytes, when: new Date(5), map: new Map([[1, 'a']]), error: new RangeError('r') };
      (globalThis as unknown as IsolatedGlobal).__lab.contextBridge.executeInMainWorld({
        func: (value: unknown) => {
          (globalThis as unknown as MainGlobal).__copied = value;
        },
        args: [original],
      });
      // Changing the original afterwards must not reach the copy.
      bytes[0] = 99;
      list.push('later');
    });
    const copy = await page.page.evaluate(() => {
      type Copied = { point: object; list: unknown[]; bytes: Uint8Array; when: Date; map: Map<number, string>; error: Error };
      const v = (globalThis as unknown as MainGlobal).__copied as Copied;
      delete (globalThis as unknown as MainGlobal).__copied;
      return {
        frozen: [Object.isFrozen(v), Object.isFrozen(v.list), Object.isFrozen(v.list[1]), Object.isFrozen(v.point)],
        point: { plain: Object.getPrototypeOf(v.point) === Object.prototype, keys: Object.keys(v.point), hasMethod: 'norm' in v.point },
        mainRealm: [v instanceof Object, v.list instanceof Array, v.bytes instanceof Uint8Array, v.when instanceof Date, v.map instanceof Map, v.error instanceof RangeError],
        bytes: Array.from(v.bytes),
        list: v.list.length,
        when: v.when.getTime(),
        map: [...v.map],
        error: [v.error.name, v.error.message],
      };
    });
    expect(copy).toEqual({
      frozen: [true, true, true, true],
      point: { plain: true, keys: ['x', 'y'], hasMethod: false },
      mainRealm: [true, true, true, true, true, true],
      bytes: [1, 2, 3],
      list: 2,
      when: 5,
      map: [[1, 'a']],
      error: ['RangeError', 'r'],
    });
  });

  test('func is recompiled from its source in the main realm: one that closes over anything outside itself fails there', async () => {
    const outcomes = await isolated.evaluate(() => {
      const { executeInMainWorld } = (globalThis as unknown as IsolatedGlobal).__lab.contextBridge;
      const outside = 'captured';
      let closure: string;
      try {
        executeInMainWorld({ func: () => outside, args: [] });
        closure = 'ran';
      } catch (error) {
        closure = `${(error as Error).name}: ${(error as Error).message}`;
      }
      const selfContained = executeInMainWorld({ func: (a: number, b: number) => a + b, args: [2, 3] });
      const realm = executeInMainWorld({ func: () => typeof (globalThis as unknown as { __lab?: unknown }).__lab, args: [] });
      return { closure, selfContained, realm };
    });
    expect(outcomes.closure).toMatch(/^ReferenceError: .*outside/);
    expect(outcomes.selfContained).toBe(5);
    // Compiled in the main realm, it cannot see the isolated realm's globals.
    expect(outcomes.realm).toBe('undefined');
  });

  test('ipcRenderer has only postMessage, only for the bridge channel, only with one MessagePort and no message', async () => {
    const outcomes = await isolated.evaluate((channel) => {
      const g = globalThis as unknown as IsolatedGlobal;
      const { ipcRenderer, contextBridge } = g.__lab;
      const { port1, port2 } = new g.MessageChannel();
      const attempt = (run: () => unknown): string => {
        try {
          run();
          return 'accepted';
        } catch {
          return 'threw';
        }
      };
      return {
        ipcRendererKeys: Object.keys(ipcRenderer),
        contextBridgeKeys: Object.keys(contextBridge),
        frozen: Object.isFrozen(ipcRenderer) && Object.isFrozen(contextBridge),
        others: ['send', 'sendSync', 'invoke', 'on', 'once'].filter((name) => name in ipcRenderer),
        otherChannel: attempt(() => ipcRenderer.postMessage('some-channel', null, [port1])),
        noPort: attempt(() => ipcRenderer.postMessage(channel, null, [])),
        twoPorts: attempt(() => ipcRenderer.postMessage(channel, null, [port1, port2])),
        notAPort: attempt(() => ipcRenderer.postMessage(channel, null, [{}])),
        withMessage: attempt(() => ipcRenderer.postMessage(channel, { hello: 1 }, [port1])),
      };
    }, BRIDGE_CHANNEL);
    expect(outcomes).toEqual({
      ipcRendererKeys: ['postMessage'],
      contextBridgeKeys: ['executeInMainWorld'],
      frozen: true,
      others: [],
      otherChannel: 'threw',
      noPort: 'threw',
      twoPorts: 'threw',
      notAPort: 'threw',
      withMessage: 'threw',
    });
  });
});
