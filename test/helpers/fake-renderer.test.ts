/**
 * §6 Electron fidelity: tests of the renderer stand-in itself (test/helpers/fake-renderer.ts).
 * Each rule it enforces is checked here with a small preload of its own, so that a
 * stand-in that grew looser than Electron fails here before it lets a bridge through.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { BRIDGE_CHANNEL } from '../../src/shared/bridge-protocol.js';
import { FakeTab, ipcMain, type FakeMessagePortMain } from './fake-electron.js';
import { loadPreload, type PreloadOptions, type RendererDocument } from './fake-renderer.js';
import { sleep, until } from './sockets.js';

const documents: RendererDocument[] = [];
const mainListeners: ((...args: any[]) => void)[] = [];

afterEach(() => {
  for (const document of documents.splice(0)) document.unload();
  for (const listener of mainListeners.splice(0)) ipcMain.removeListener(BRIDGE_CHANNEL, listener);
});

/** Runs `source` as the preload of a new tab's main frame. */
function preload(source: string, options?: PreloadOptions): { tab: FakeTab; document: RendererDocument } {
  const tab = new FakeTab();
  const document = loadPreload(tab, tab.mainFrame, source, options);
  documents.push(document);
  return { tab, document };
}

/** What the preload left in `global.outcome`, copied out of the isolated world (which it must belong to). */
function outcome(document: RendererDocument): any {
  expect(document.preloadError).toBeUndefined();
  return document.isolatedWorld.copyOut(document.isolatedWorld.global.outcome);
}

/** Collects the ports main is handed on the bridge channel, and every message main gets on them. */
function mainSide(): { events: { senderFrame: unknown; ports: FakeMessagePortMain[] }[]; data: unknown[] } {
  const side = { events: [] as { senderFrame: unknown; ports: FakeMessagePortMain[] }[], data: [] as unknown[] };
  const listener = (event: { senderFrame: unknown; ports: FakeMessagePortMain[] }): void => {
    side.events.push(event);
    for (const port of event.ports) {
      port.on('message', (message: { data: unknown }) => side.data.push(message.data));
      port.start();
    }
  };
  ipcMain.on(BRIDGE_CHANNEL, listener);
  mainListeners.push(listener);
  return side;
}

/** A preload prologue: the bridge channel, electron's two modules and the main-world runner. */
const PROLOGUE = `
  const CHANNEL = ${JSON.stringify(BRIDGE_CHANNEL)};
  const { contextBridge, ipcRenderer } = require('electron');
  const run = (func, args) => contextBridge.executeInMainWorld(args === undefined ? { func } : { func, args });
  const attempt = (f) => { try { return ['returned', f()]; } catch (e) { return ['threw', e instanceof Error, e.constructor === Error, e.message]; } };
`;

describe('§6 Electron fidelity: the sandboxed preload gets what lib/sandboxed_renderer/init.ts gives it', () => {
  it("require knows only 'electron', 'events', 'timers' and 'url'; anything else throws 'module not found'", () => {
    const { document } = preload(`
      global.outcome = [
        ['electron', 'events', 'timers', 'url'].map((name) => typeof require(name)),
        ['fs', 'path', 'child_process', 'node:events', 'electron/renderer'].map((name) => {
          try { require(name); return 'loaded'; } catch (e) { return e instanceof Error ? e.message : 'not an Error of this world'; }
        }),
        Object.keys(require('electron')).sort(),
      ];
    `);
    expect(outcome(document)).toEqual([
      ['object', 'object', 'object', 'object'],
      ['module not found: fs', 'module not found: path', 'module not found: child_process', 'module not found: node:events', 'module not found: electron/renderer'],
      ['contextBridge', 'ipcRenderer'],
    ]);
  });

  it('process has platform and little more: no env, no cwd(), no nextTick()', () => {
    const { document } = preload(
      `global.outcome = [process.platform, process.type, process.sandboxed, process.contextIsolated, typeof process.on, typeof process.env, typeof process.cwd, typeof process.nextTick, typeof process.exit];`,
      { platform: 'win32' },
    );
    expect(outcome(document)).toEqual(['win32', 'renderer', true, true, 'function', 'undefined', 'undefined', 'undefined', 'undefined']);
  });

  it('the preload is a function of require, process, exports, module, Buffer, global, setImmediate and clearImmediate; global is its world\'s window', () => {
    const { document } = preload(
      `global.outcome = [typeof exports, typeof module.exports, typeof Buffer, global === globalThis, global === window, typeof setImmediate, typeof clearImmediate, typeof __dirname];`,
    );
    expect(outcome(document)).toEqual(['object', 'object', 'function', true, true, 'function', 'function', 'undefined']);
  });

  it('what the preload throws is caught and kept, as Electron logs it and goes on', () => {
    const { document } = preload(`throw new TypeError('preload failed');`);
    expect(document.preloadError).toBeInstanceOf(document.isolatedWorld.global.TypeError);
    expect((document.preloadError as Error).message).toBe('preload failed');
  });
});

describe('§6 Electron fidelity: two worlds that share nothing but the contextBridge', () => {
  it('the page sees none of the preload\'s globals, and has no require, process, Buffer, global or setImmediate', () => {
    const { document } = preload(`global.fromPreload = 1; window.alsoFromPreload = 2;`);
    expect(document.isolatedWorld.global.fromPreload).toBe(1);
    expect(document.mainWorld.evaluate('[typeof fromPreload, typeof alsoFromPreload, typeof require, typeof process, typeof Buffer, typeof global, typeof setImmediate, typeof MessageChannel, typeof window]')).toEqual([
      'undefined', 'undefined', 'undefined', 'undefined', 'undefined', 'undefined', 'undefined', 'undefined', 'object',
    ]);
  });

  it("the page's world has its own intrinsics, and refuses eval as under a Content-Security-Policy without 'unsafe-eval'", () => {
    const { document } = preload('');
    expect(document.mainWorld.global.Object).not.toBe(document.isolatedWorld.global.Object);
    expect(document.mainWorld.global.Object).not.toBe(Object);
    expect(() => document.mainWorld.evaluate('eval("1")')).toThrow(/Code generation from strings disallowed/);
    expect(document.mainWorld.evaluate('new TextEncoder().encode("é") instanceof Uint8Array')).toBe(true);
  });
});

describe('§6 Electron fidelity: contextBridge.executeInMainWorld (electron_api_context_bridge.cc ExecuteInWorld)', () => {
  it('func is compiled from its source in the main world: a module-level helper it uses is not there, and the ReferenceError comes back as an Error', () => {
    const { document } = preload(`${PROLOGUE}
      const helper = () => 'helper ran';
      global.outcome = attempt(() => run(() => helper()));
    `);
    expect(outcome(document)).toEqual(['threw', true, true, 'ReferenceError: helper is not defined']);
  });

  it('the source is taken with the real Function.prototype.toString: overriding toString changes nothing', () => {
    const { document } = preload(`${PROLOGUE}
      const func = function () { return 'the real source'; };
      func.toString = () => "function () { return 'an overridden toString'; }";
      Function.prototype.toString = () => "function () { return 'an overridden Function.prototype.toString'; }";
      global.outcome = run(func);
    `);
    expect(outcome(document)).toBe('the real source');
  });

  it('func runs with this null (the page\'s window, in sloppy mode), and a method shorthand does not compile', () => {
    const { document } = preload(`${PROLOGUE}
      global.outcome = [run(function () { return this === window && typeof require; }), attempt(() => run({ m() { return 1; } }.m))[3]];
    `);
    expect(outcome(document)).toEqual(['undefined', expect.stringMatching(/^SyntaxError: /)]);
  });

  it("refuses a script without a function 'func' or with 'args' that is not an array", () => {
    const { document } = preload(`${PROLOGUE}
      global.outcome = [
        attempt(() => contextBridge.executeInMainWorld()),
        attempt(() => contextBridge.executeInMainWorld(42)),
        attempt(() => contextBridge.executeInMainWorld({ func: 'return 1' })),
        attempt(() => contextBridge.executeInMainWorld({ func: () => 1, args: undefined })),
        attempt(() => contextBridge.executeInMainWorld({ func: () => 1, args: { 0: 1, length: 1 } })),
      ].map((r) => r.slice(0, 1).concat(r.slice(3)));
    `);
    expect(outcome(document)).toEqual([
      ['threw', "Function 'func' is required in script"],
      ['threw', 'Invalid script'],
      ['threw', "Function 'func' is required in script"],
      ['threw', "'args' must be an array"],
      ['threw', "'args' must be an array"],
    ]);
  });

  it('arguments are copied: a class instance arrives as a plain object of the main world without its prototype, and changes to it stay there', () => {
    const { document } = preload(`${PROLOGUE}
      class Point { constructor() { this.x = 1; } get norm() { return 5; } }
      const point = new Point();
      const seen = run((p, list) => {
        const r = [Object.getPrototypeOf(p) === Object.prototype, p.x, 'norm' in p, list[0] === p, Object.isFrozen(p)];
        p.x = 99;
        return r;
      }, [point, [point]]);
      global.outcome = seen.concat([point.x, point instanceof Point]);
    `);
    expect(outcome(document)).toEqual([true, 1, false, true, false, 1, true]);
  });

  it('a function crossing twice gives two different proxies (#33328); within one crossing it is one; a proxy crossing back is the original', () => {
    const { document } = preload(`${PROLOGUE}
      const f = () => 'f ran';
      run((a, b) => { window.__seen = [a, b]; }, [f, f]);
      run((a) => { window.__seen.push(a); }, [f]);
      global.outcome = run(() => [window.__seen[0] === window.__seen[1], window.__seen[0] === window.__seen[2], window.__seen[2](), Object.getPrototypeOf(window.__seen[0]) === Function.prototype])
        .concat([run((g) => g, [f]) === f]);
    `);
    expect(outcome(document)).toEqual([true, false, 'f ran', true, true]);
  });

  it('a proxied function gets its arguments copied into its own world on every call', () => {
    const { document } = preload(`${PROLOGUE}
      const kept = [];
      run((keep) => { const o = { n: 1 }; keep(o); keep(o); }, [(o) => kept.push(o)]);
      global.outcome = [kept.length, kept[0] === kept[1], Object.getPrototypeOf(kept[0]) === Object.prototype, kept[0].n];
    `);
    expect(outcome(document)).toEqual([2, false, true, 1]);
  });

  it("an Error crosses as new Error(message) only: its class, name and own properties are dropped", () => {
    const { document } = preload(`${PROLOGUE}
      const error = new TypeError('bad input');
      error.code = 'E_BAD';
      global.outcome = run((e) => [Object.getPrototypeOf(e) === Error.prototype, e.name, e.message, 'code' in e], [error]);
    `);
    expect(outcome(document)).toEqual([true, 'Error', 'bad input', false]);
  });

  it('a throw in the main world comes back as an Error of the isolated world holding its string form', () => {
    const { document } = preload(`${PROLOGUE}
      global.outcome = [attempt(() => run(() => { throw new RangeError('out of range'); })), attempt(() => run(() => { throw 42; }))];
    `);
    expect(outcome(document)).toEqual([
      ['threw', true, true, 'RangeError: out of range'],
      ['threw', true, true, '42'],
    ]);
  });

  it('a throw in a preload function the page calls reaches the page as new Error(message) of its own world', () => {
    const { document } = preload(`${PROLOGUE}
      global.outcome = run((fn) => {
        try { fn(); return 'no throw'; } catch (e) { return [Object.getPrototypeOf(e) === Error.prototype, e.name, e.message]; }
      }, [() => { throw new TypeError('thrown in the preload'); }]);
    `);
    expect(outcome(document)).toEqual([true, 'Error', 'thrown in the preload']);
  });

  it("cloneable values arrive as structured clones made of the main world's classes; a view brings its whole buffer", () => {
    const { document } = preload(`${PROLOGUE}
      const bytes = Uint8Array.of(1, 2, 3);
      const view = new Uint8Array(new ArrayBuffer(8), 2, 3);
      global.outcome = run((m, d, b, v) => {
        const r = [m instanceof Map, m.get(1).a, d instanceof Date, d.getTime(), b instanceof Uint8Array, v.byteOffset, v.buffer.byteLength];
        b[0] = 9;
        return r;
      }, [new Map([[1, { a: 'in a map' }]]), new Date(5), bytes, view]).concat([bytes[0]]);
    `);
    expect(outcome(document)).toEqual([true, 'in a map', true, 5, true, 2, 8, 1]);
  });

  it("what cannot be cloned (a function in a Map) fails the call: 'Failed to proxy argument at index 0'", () => {
    const { document } = preload(`${PROLOGUE}
      global.outcome = attempt(() => run(() => 'ran', [1, new Map([['f', () => 1]])]));
    `);
    expect(outcome(document)).toEqual(['threw', true, true, 'Failed to proxy argument at index 1']);
  });

  it('values nested 1000 deep throw the recursion error; 999 deep cross', () => {
    const { document } = preload(`${PROLOGUE}
      const nest = (depth) => { let a = []; for (let i = 0; i < depth; i++) a = [a]; return a; };
      const deepest = (a) => { let n = 0; while (a.length) { a = a[0]; n++; } return n; };
      global.outcome = [deepest(run(() => { let a = []; for (let i = 0; i < 999; i++) a = [a]; return a; })), attempt(() => run(() => { let a = []; for (let i = 0; i < 1000; i++) a = [a]; return a; }))[3], attempt(() => run(() => 1, [nest(1000)]))[3]];
    `);
    expect(outcome(document)).toEqual([
      999,
      'TypeError: Electron contextBridge recursion depth exceeded.  Nested objects deeper than 1000 are not supported.',
      'Failed to proxy argument at index 0',
    ]);
  });

  it('a promise crosses as a promise of the other world, settled with a copy', async () => {
    const { document } = preload(`${PROLOGUE}
      global.outcome = run(() => Promise.resolve({ from: 'the page' }));
      global.isPromise = global.outcome instanceof Promise;
    `);
    expect(document.isolatedWorld.global.isPromise).toBe(true);
    const settled = await (document.isolatedWorld.global.outcome as Promise<unknown>);
    expect(document.isolatedWorld.copyOut(settled)).toEqual({ from: 'the page' });
  });
});

describe('§6 Electron fidelity: ipcRenderer.postMessage (electron_api_ipc_renderer.cc PostMessage)', () => {
  it("transfer must be an array of MessagePorts: anything else throws 'Invalid value for transfer' and main gets nothing", async () => {
    const main = mainSide();
    const { document } = preload(`${PROLOGUE}
      const { port1, port2 } = new MessageChannel();
      global.outcome = [
        attempt(() => ipcRenderer.postMessage(CHANNEL, null, [new ArrayBuffer(8)])),
        attempt(() => ipcRenderer.postMessage(CHANNEL, null, port2)),
        attempt(() => ipcRenderer.postMessage(CHANNEL, null, [port2, {}])),
      ].map((r) => r[3]);
    `);
    expect(outcome(document)).toEqual(['Invalid value for transfer', 'Invalid value for transfer', 'Invalid value for transfer']);
    await sleep(20);
    expect(main.events).toEqual([]);
  });

  it('the port reaches main after the preload returns, as a MessagePortMain from the frame; in the renderer it is neutered', async () => {
    const main = mainSide();
    const { tab, document } = preload(`${PROLOGUE}
      const { port1, port2 } = new MessageChannel();
      ipcRenderer.postMessage(CHANNEL, null, [port2]);
      global.outcome = attempt(() => ipcRenderer.postMessage(CHANNEL, null, [port2]))[3];
    `);
    expect(outcome(document)).toBe('Invalid value for transfer');
    expect(main.events).toEqual([]);
    await until(() => main.events.length === 1);
    expect(main.events[0]!.senderFrame).toBe(tab.mainFrame);
    expect(main.events[0]!.ports).toHaveLength(1);
  });
});

describe("§6 Electron fidelity: the renderer's MessagePort as main's MessagePortMain sees it (electron/electron#34905)", () => {
  /** A preload that hands main port2 and keeps port1 (and `bytes`) on its global; `before` runs first. */
  function channelToMain(before = ''): { document: RendererDocument; main: ReturnType<typeof mainSide> } {
    const main = mainSide();
    const { document } = preload(`${PROLOGUE}
      const { port1, port2 } = new MessageChannel();
      global.port1 = port1;
      global.bytes = Uint8Array.of(1, 2, 3);
      ${before}
      ipcRenderer.postMessage(CHANNEL, null, [port2]);
    `);
    expect(document.preloadError).toBeUndefined();
    return { document, main };
  }

  it('a message whose transfer list holds an ArrayBuffer reaches main with its data lost (null); the buffer is detached in the renderer all the same', async () => {
    const { document, main } = channelToMain();
    document.isolatedWorld.evaluate("port1.postMessage({ t: 'send', bytes }, [bytes.buffer]); port1.postMessage('after it');");
    await until(() => main.data.length === 2);
    expect(main.data).toEqual([null, 'after it']);
    expect(document.isolatedWorld.evaluate('bytes.byteLength')).toBe(0);
  });

  it('the { transfer } options form loses the data the same way', async () => {
    const { document, main } = channelToMain();
    document.isolatedWorld.evaluate("port1.postMessage({ bytes }, { transfer: [bytes.buffer] });");
    await until(() => main.data.length === 1);
    expect(main.data).toEqual([null]);
    expect(document.isolatedWorld.evaluate('bytes.byteLength')).toBe(0);
  });

  it('without a transfer list the message is structured-cloned: main gets all of it, and the renderer keeps its bytes', async () => {
    const { document, main } = channelToMain();
    document.isolatedWorld.evaluate("port1.postMessage({ t: 'send', bytes }); port1.postMessage({ bytes }, { transfer: [] });");
    await until(() => main.data.length === 2);
    expect(main.data).toEqual([{ t: 'send', bytes: Uint8Array.of(1, 2, 3) }, { bytes: Uint8Array.of(1, 2, 3) }]);
    expect(document.isolatedWorld.evaluate('bytes.byteLength')).toBe(3);
  });

  it('a message posted with a transferred buffer before the port was handed to main is lost too', async () => {
    const { main } = channelToMain("port1.postMessage({ early: bytes }, [bytes.buffer]); port1.postMessage('early, no transfer');");
    await until(() => main.data.length === 2);
    expect(main.data).toEqual([null, 'early, no transfer']);
  });

  it('a transfer list holding what is not transferable (a view) throws a DataCloneError and posts nothing', async () => {
    const { document, main } = channelToMain();
    const thrown = document.isolatedWorld.evaluate("try { port1.postMessage({ bytes }, [bytes]); 'posted'; } catch (e) { [e instanceof Error, e.name, e.message]; }") as unknown;
    document.isolatedWorld.evaluate("port1.postMessage('next');");
    await until(() => main.data.length === 1);
    expect(document.isolatedWorld.copyOut(thrown)).toEqual([true, 'DataCloneError', "Failed to execute 'postMessage' on 'MessagePort': Value at index 0 does not have a transferable type."]);
    expect(main.data).toEqual(['next']);
  });

  it("main's messages wait until the renderer's port is started, then arrive made of the isolated world's objects", async () => {
    const { document, main } = channelToMain("global.got = []; port1.addEventListener('message', (e) => got.push(e.data));");
    await until(() => main.events.length === 1);
    main.events[0]!.ports[0]!.postMessage({ bytes: Uint8Array.of(7, 8) });
    await sleep(30);
    expect(document.isolatedWorld.evaluate('got.length')).toBe(0);
    document.isolatedWorld.evaluate('port1.start()');
    await until(() => document.isolatedWorld.evaluate('got.length') === 1);
    expect(document.isolatedWorld.evaluate('[got[0].bytes instanceof Uint8Array, Object.getPrototypeOf(got[0]) === Object.prototype, Array.from(got[0].bytes).join()]')).toEqual([true, true, '7,8']);
  });

  it("the renderer's end gets no 'close' event when main closes its port (Chromium fires none); main gets 'close' when the renderer closes", async () => {
    const { document, main } = channelToMain("global.closes = 0; port1.addEventListener('close', () => closes++); port1.onmessage = () => {};");
    await until(() => main.events.length === 1);
    const port = main.events[0]!.ports[0]!;
    let mainClosed = 0;
    port.on('close', () => mainClosed++);
    port.close();
    await sleep(30);
    expect(document.isolatedWorld.global.closes).toBe(0);

    const second = channelToMain();
    await until(() => second.main.events.length === 1);
    const other = second.main.events[0]!.ports[0]!;
    other.on('close', () => mainClosed++);
    second.document.isolatedWorld.evaluate('port1.close()');
    await until(() => mainClosed === 1);
  });
});
