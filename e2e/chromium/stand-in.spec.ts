/**
 * The stand-in for Electron is only worth something if it is at least as strict as
 * Electron. These tests pin that down: its IPC encoding (in Node); its
 * contextBridge and ipcRenderer in real Chromium realms, on a page whose isolated
 * realm holds the bare stand-in (the 'lab' preload) instead of the DataSocket preload.
 * Its main process's rule for taking ports is in stand-in-main.spec.ts.
 */
import { expect } from '@playwright/test';
// The suite's `test` is the testing kit's: helpers/app-pages.ts registers hooks that use its fixtures.
import { test } from '../../src/testing/index.js';
import { BRIDGE_CHANNEL } from '../../src/shared/bridge-protocol.js';
import type { HarnessEvent } from './harness/main-process.js';
import { useLab, type IsolatedGlobal, type Lab, type MainGlobal } from './helpers/lab.js';
import { decodeMessage, encodeMessage, HOST_TO_PAGE, STRICT } from './stand-in/wire-json.js';

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
  const lab = useLab();

  test('a function crossing twice becomes two different wrappers, each a function of the target realm, in both directions', async () => {
    await lab.isolated.evaluate(() => {
      const f = (): string => 'from the isolated realm';
      (globalThis as unknown as IsolatedGlobal).__lab.contextBridge.executeInMainWorld({
        func: (a: () => string, b: () => string) => {
          (globalThis as unknown as MainGlobal).__crossed = [a, b];
        },
        args: [f, f],
      });
    });
    const toMain = await lab.page.page.evaluate(() => {
      const [a, b] = (globalThis as unknown as MainGlobal).__crossed as [() => string, () => string];
      delete (globalThis as unknown as MainGlobal).__crossed;
      return { distinct: a !== b, mainRealm: a instanceof Function && b instanceof Function, result: a() };
    });
    expect(toMain).toEqual({ distinct: true, mainRealm: true, result: 'from the isolated realm' });

    const toIsolated = await lab.isolated.evaluate(() => {
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

  test('a Symbol or a Promise throws instead of crossing (stricter than Electron), with the error Electron gives for a value that cannot cross there', async () => {
    const outcomes = await lab.isolated.evaluate(() => {
      const g = globalThis as unknown as IsolatedGlobal;
      const { executeInMainWorld } = g.__lab.contextBridge;
      const attempt = (run: () => unknown): string => {
        try {
          run();
          return 'crossed';
        } catch (error) {
          return `${error instanceof Error && Object.getPrototypeOf(error) === Error.prototype ? 'isolated Error' : 'other'}: ${(error as Error).message}`;
        }
      };
      return {
        symbol: attempt(() => executeInMainWorld({ func: () => undefined, args: [Symbol('s')] })),
        nested: attempt(() => executeInMainWorld({ func: () => undefined, args: [1, { deep: [Symbol('s')] }] })),
        promise: attempt(() => executeInMainWorld({ func: () => undefined, args: [Promise.resolve(1)] })),
        result: attempt(() => executeInMainWorld({ func: () => Symbol('r'), args: [] })),
        // Arguments of a wrapper that cannot cross: the caller (main) gets a TypeError of its own realm.
        throughWrapper: executeInMainWorld({
          func: (callback: (s: symbol) => void) => {
            try {
              callback(Symbol('x'));
              return 'crossed';
            } catch (error) {
              return `${error instanceof TypeError ? 'main TypeError' : 'other'}: ${(error as Error).message}`;
            }
          },
          args: [() => undefined],
        }),
      };
    });
    expect(outcomes.symbol).toMatch(/^isolated Error: Failed to proxy argument at index 0 \(stand-in: TypeError: .*Symbol/);
    expect(outcomes.nested).toMatch(/^isolated Error: Failed to proxy argument at index 1 \(stand-in: TypeError: .*Symbol/);
    expect(outcomes.promise).toMatch(/^isolated Error: Failed to proxy argument at index 0 \(stand-in: TypeError: .*Promise/);
    expect(outcomes.result).toMatch(/^isolated Error: TypeError: .*Symbol/);
    expect(outcomes.throughWrapper).toMatch(/^main TypeError: TypeError: .*Symbol/);
  });

  test('copies are frozen, lose their prototypes and belong to the target realm; bytes, dates and maps cross by structured clone, unfrozen; an error as a new plain Error', async () => {
    await lab.isolated.evaluate(() => {
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
    const copy = await lab.page.page.evaluate(() => {
      type Copied = { point: object; list: unknown[]; bytes: Uint8Array; when: Date; map: Map<number, string>; error: Error };
      const v = (globalThis as unknown as MainGlobal).__copied as Copied;
      delete (globalThis as unknown as MainGlobal).__copied;
      return {
        frozen: [Object.isFrozen(v), Object.isFrozen(v.list), Object.isFrozen(v.list[1]), Object.isFrozen(v.point)],
        // Made by structuredClone (or, the error, anew), and not frozen: the stand-in freezes only the objects and arrays it copies.
        clonesFrozen: [Object.isFrozen(v.when), Object.isFrozen(v.map), Object.isFrozen(v.error)],
        point: { plain: Object.getPrototypeOf(v.point) === Object.prototype, keys: Object.keys(v.point), hasMethod: 'norm' in v.point },
        mainRealm: [v instanceof Object, v.list instanceof Array, v.bytes instanceof Uint8Array, v.when instanceof Date, v.map instanceof Map, v.error instanceof Error],
        bytes: Array.from(v.bytes),
        list: v.list.length,
        when: v.when.getTime(),
        map: [...v.map],
        error: [v.error.name, v.error.message, v.error instanceof RangeError],
      };
    });
    expect(copy).toEqual({
      frozen: [true, true, true, true],
      clonesFrozen: [false, false, false],
      point: { plain: true, keys: ['x', 'y'], hasMethod: false },
      mainRealm: [true, true, true, true, true, true],
      bytes: [1, 2, 3],
      list: 2,
      when: 5,
      map: [[1, 'a']],
      error: ['Error', 'r', false],
    });
  });

  test('func is recompiled from its source in the main realm: one that closes over anything outside itself fails there', async () => {
    const outcomes = await lab.isolated.evaluate(() => {
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
    // Electron gives the preload a plain Error whose message is the main world's exception as a string.
    expect(outcomes.closure).toBe('Error: ReferenceError: outside is not defined');
    expect(outcomes.selfContained).toBe(5);
    // Compiled in the main realm, it cannot see the isolated realm's globals.
    expect(outcomes.realm).toBe('undefined');
  });

  test('objects passed through a wrapped function are deep-frozen copies of the receiving realm, in both directions', async () => {
    const seen = await lab.isolated.evaluate(() => {
      type Sent = { nested: { n: number }; list: number[] };
      const g = globalThis as unknown as IsolatedGlobal;
      const { executeInMainWorld } = g.__lab.contextBridge;
      const describe = (value: Sent, original: unknown, realm: { Object: ObjectConstructor; Array: ArrayConstructor }) => ({
        copy: value !== original,
        frozen: [Object.isFrozen(value), Object.isFrozen(value.nested), Object.isFrozen(value.list)],
        realm: Object.getPrototypeOf(value) === realm.Object.prototype && Object.getPrototypeOf(value.list) === realm.Array.prototype,
        n: value.nested.n,
      });
      // Main calls a wrapper of an isolated function with an object of its own.
      let received: Sent | undefined;
      executeInMainWorld({
        func: (take: (value: object) => void) => {
          const sent = { nested: { n: 1 }, list: [1] };
          (globalThis as unknown as MainGlobal).__sent = sent;
          take(sent);
        },
        args: [(value: Sent) => (received = value)],
      });
      const sentByMain = g.parent.__sent;
      delete g.parent.__sent;
      // The isolated realm calls a wrapper of a main function with an object of its own.
      const give = executeInMainWorld({
        func: () => (value: object) => {
          (globalThis as unknown as MainGlobal).__given = value;
        },
        args: [],
      }) as (value: object) => void;
      const original: Sent = { nested: { n: 2 }, list: [2] };
      give(original);
      const given = g.parent.__given as Sent;
      delete g.parent.__given;
      const mainRealm = g.parent as unknown as { Object: ObjectConstructor; Array: ArrayConstructor };
      return { toIsolated: describe(received!, sentByMain, { Object, Array }), toMain: describe(given, original, mainRealm) };
    });
    expect(seen).toEqual({
      toIsolated: { copy: true, frozen: [true, true, true], realm: true, n: 1 },
      toMain: { copy: true, frozen: [true, true, true], realm: true, n: 2 },
    });
  });

  test("a function returned by a wrapped function is a fresh wrapper of the caller's realm every time, and works", async () => {
    const seen = await lab.isolated.evaluate(() => {
      const { executeInMainWorld } = (globalThis as unknown as IsolatedGlobal).__lab.contextBridge;
      const inner = (): string => 'isolated inner';
      const inMain = executeInMainWorld({
        func: (getInner: () => () => string) => {
          const a = getInner();
          const b = getInner();
          return { distinct: a !== b, realm: a instanceof Function, results: [a(), b()] };
        },
        args: [() => inner],
      });
      const getOuter = executeInMainWorld({
        func: () => {
          const outer = (): string => 'main outer';
          return () => outer;
        },
        args: [],
      }) as () => () => string;
      const a = getOuter();
      const b = getOuter();
      return { inMain, inIsolated: { distinct: a !== b, realm: a instanceof Function, results: [a(), b()] } };
    });
    expect(seen).toEqual({
      inMain: { distinct: true, realm: true, results: ['isolated inner', 'isolated inner'] },
      inIsolated: { distinct: true, realm: true, results: ['main outer', 'main outer'] },
    });
  });

  test("a thrown error reaches the catching realm as a new plain Error: from func with its text ('RangeError: …'), through a wrapper with its message only", async () => {
    const seen = await lab.isolated.evaluate(() => {
      const g = globalThis as unknown as IsolatedGlobal;
      const { executeInMainWorld } = g.__lab.contextBridge;
      const caught = (run: () => unknown): unknown => {
        try {
          run();
          return 'no error';
        } catch (error) {
          return error;
        }
      };
      const describe = (error: Error, realm: { Error: ErrorConstructor }) => ({
        plain: Object.getPrototypeOf(error) === realm.Error.prototype,
        name: error.name,
        message: error.message,
        cause: 'cause' in error,
        own: Object.keys(error),
      });
      // func throws in main; the preload catches.
      const fromFunc = caught(() =>
        executeInMainWorld({
          func: () => {
            throw Object.assign(new RangeError('from main', { cause: 'c' }), { code: 'E_MAIN' });
          },
          args: [],
        }),
      ) as Error;
      const thrownString = caught(() => executeInMainWorld({ func: () => {
        throw 'a string';
      }, args: [] })) as Error;
      // Main calls a wrapper of an isolated function that throws; main catches.
      const throughWrapper = executeInMainWorld({
        func: (fail: () => void, failWithString: () => void, failWithObject: () => void) => {
          const caughtInMain = (run: () => void): unknown => {
            try {
              run();
              return 'no error';
            } catch (error) {
              const e = error as Error;
              return { plain: Object.getPrototypeOf(e) === Error.prototype, name: e.name, message: e.message, cause: 'cause' in e, own: Object.keys(e) };
            }
          };
          return [caughtInMain(fail), caughtInMain(failWithString), caughtInMain(failWithObject)];
        },
        args: [
          () => {
            throw Object.assign(new TypeError('from the isolated realm', { cause: 'c' }), { code: 'E_ISOLATED' });
          },
          () => {
            throw 'a string';
          },
          () => {
            throw { message: 'an object with a message' };
          },
        ],
      });
      return { fromFunc: describe(fromFunc, { Error }), thrownString: describe(thrownString, { Error }), throughWrapper };
    });
    const plainError = (message: string) => ({ plain: true, name: 'Error', message, cause: false, own: [] });
    expect(seen).toEqual({
      fromFunc: plainError('RangeError: from main'),
      thrownString: plainError('a string'),
      throughWrapper: [
        plainError('from the isolated realm'),
        plainError('An unknown exception occurred in the isolated context, an error occurred but a valid exception was not thrown.'),
        plainError('an object with a message'),
      ],
    });
  });

  test('which copy rule applies is decided by brand checks, not by Symbol.toStringTag', async () => {
    await lab.isolated.evaluate(() => {
      const tagged = (tag: string, fields: object): object => Object.defineProperty({ ...fields }, Symbol.toStringTag, { value: tag });
      const retagged = Object.defineProperty(new Map([[1, 'x']]), Symbol.toStringTag, { value: 'Object' });
      (globalThis as unknown as IsolatedGlobal).__lab.contextBridge.executeInMainWorld({
        func: (value: unknown) => {
          (globalThis as unknown as MainGlobal).__branded = value;
        },
        args: [{ fakeMap: tagged('Map', { a: 1 }), fakePromise: tagged('Promise', { b: 2 }), fakeError: tagged('Error', { message: 'm' }), retagged }],
      });
    });
    const seen = await lab.page.page.evaluate(() => {
      const v = (globalThis as unknown as MainGlobal).__branded as Record<'fakeMap' | 'fakePromise' | 'fakeError' | 'retagged', object>;
      delete (globalThis as unknown as MainGlobal).__branded;
      const plain = (o: object) => ({ plain: Object.getPrototypeOf(o) === Object.prototype, frozen: Object.isFrozen(o), keys: Object.keys(o) });
      return {
        fakeMap: plain(v.fakeMap),
        fakePromise: plain(v.fakePromise),
        fakeError: plain(v.fakeError),
        retagged: v.retagged instanceof Map ? [...v.retagged] : 'not a Map',
      };
    });
    expect(seen).toEqual({
      fakeMap: { plain: true, frozen: true, keys: ['a'] },
      fakePromise: { plain: true, frozen: true, keys: ['b'] },
      fakeError: { plain: true, frozen: true, keys: ['message'] },
      retagged: [[1, 'x']],
    });
  });

  test('page code that replaces built-ins after load, in the page or in the isolated realm, changes nothing that crosses', async () => {
    await lab.isolated.evaluate(() => {
      (globalThis as unknown as IsolatedGlobal).__lab.contextBridge.executeInMainWorld({
        func: (echo: (...values: unknown[]) => unknown) => {
          (globalThis as unknown as MainGlobal).__echo = echo;
        },
        args: [(...values: unknown[]) => values],
      });
    });
    const seen = await lab.page.page.evaluate(() => {
      type Patchable = Record<string, unknown>;
      const w = globalThis as unknown as Patchable & { frames: Record<number, Patchable> };
      const iso = w.frames[0] as Patchable & { Array: ArrayConstructor; Map: MapConstructor; __lab: Lab };
      const echo = w.__echo as (...values: unknown[]) => unknown[];
      delete w.__echo;
      // Kept before patching, for the checks below.
      const { isFrozen, getPrototypeOf } = Object;
      const { isArray } = Array;
      const arrayPrototype = Array.prototype;
      const MainMap = Map;
      const stringify = JSON.stringify;
      const hijack = (): unknown => ['hijacked'];
      const patches: [Patchable, string, unknown][] = [
        [Array.prototype as unknown as Patchable, 'slice', hijack],
        [Array.prototype as unknown as Patchable, 'map', hijack],
        [w, 'Array', hijack],
        [w, 'Object', hijack],
        [w, 'structuredClone', hijack],
        [(w.Document as { prototype: Patchable }).prototype, 'createElement', hijack],
        [iso.Array.prototype as unknown as Patchable, 'slice', hijack],
        [iso.Array.prototype as unknown as Patchable, 'map', hijack],
        [iso.Map.prototype as unknown as Patchable, 'get', hijack],
        [iso.Map.prototype as unknown as Patchable, 'has', () => false],
        [iso.Map.prototype as unknown as Patchable, 'set', hijack],
        [iso, 'Array', hijack],
        [iso, 'Object', hijack],
        [iso, 'structuredClone', hijack],
      ];
      const saved = patches.map(([owner, key]) => owner[key]);
      try {
        for (const [owner, key, value] of patches) owner[key] = value;
        const shared = { a: 2 };
        const echoed = echo([1, shared, shared], new MainMap([[1, 'm']]), 'x');
        const executed = iso.__lab.contextBridge.executeInMainWorld({ func: (value: unknown) => value, args: [{ k: [1, 2] }] });
        return {
          echoed: {
            array: isArray(echoed) && getPrototypeOf(echoed) === arrayPrototype && isFrozen(echoed),
            length: echoed.length,
            first: stringify(echoed[0]),
            sharedStaysShared: (echoed[0] as unknown[])[1] === (echoed[0] as unknown[])[2],
            map: echoed[1] instanceof MainMap ? [...(echoed[1] as Map<unknown, unknown>)] : 'not a Map',
            last: echoed[2],
          },
          executed: stringify(executed),
        };
      } finally {
        patches.forEach(([owner, key], i) => (owner[key] = saved[i]));
      }
    });
    expect(seen).toEqual({ echoed: { array: true, length: 3, first: '[1,{"a":2},{"a":2}]', sharedStaysShared: true, map: [[1, 'm']], last: 'x' }, executed: '{"k":[1,2]}' });
  });

  test('ipcRenderer has only postMessage, only for the bridge channel, only with one real MessagePort and no message, and takes that port over', async () => {
    const from = lab.app.events.length;
    const outcomes = await lab.isolated.evaluate((channel) => {
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
        taggedAsPort: attempt(() => ipcRenderer.postMessage(channel, null, [{ [Symbol.toStringTag]: 'MessagePort' }])),
        // Transferable, so only a brand check stops it.
        bufferTaggedAsPort: attempt(() => ipcRenderer.postMessage(channel, null, [Object.defineProperty(new ArrayBuffer(8), Symbol.toStringTag, { value: 'MessagePort' })])),
        withMessage: attempt(() => ipcRenderer.postMessage(channel, { hello: 1 }, [port1])),
        // What the preload does, once: it must go through.
        thePort: attempt(() => ipcRenderer.postMessage(channel, null, [port2])),
        // Taken over, as Electron does: the same port cannot be posted again, nor transferred anywhere else.
        sameAgain: attempt(() => ipcRenderer.postMessage(channel, null, [port2])),
        stillTransferable: attempt(() => g.structuredClone(port2, { transfer: [port2] })),
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
      taggedAsPort: 'threw',
      bufferTaggedAsPort: 'threw',
      withMessage: 'threw',
      thePort: 'accepted',
      sameAgain: 'threw',
      stillTransferable: 'threw',
    });
    // Main got the port that went through.
    expect(await lab.app.waitFor((e) => e.ev === 'port', 5_000, from)).toMatchObject({ ev: 'port', url: lab.app.pageUrl() });
  });

  test("a second port from the same document replaces its first: main disposes the document's earlier Host, as Electron's main does per frame", async () => {
    const app = lab.app;
    const post = (): Promise<void> =>
      lab.isolated.evaluate((channel) => {
        const g = globalThis as unknown as IsolatedGlobal;
        g.__lab.ipcRenderer.postMessage(channel, null, [new g.MessageChannel().port2]);
      }, BRIDGE_CHANNEL);
    const from = app.events.length;
    await post();
    const first = (await app.waitFor((e) => e.ev === 'port', 5_000, from)) as Extract<HarnessEvent, { ev: 'port' }>;
    const mid = app.events.length;
    await post();
    expect(await app.waitFor((e) => e.ev === 'port', 5_000, mid)).toEqual({ ev: 'port', frame: first.frame, url: first.url });
    expect(app.events.slice(mid).find((e) => e.ev === 'disposed')).toEqual({ ev: 'disposed', frame: first.frame, reason: 'navigated', sockets: 0 });
  });
});
