/**
 * The document: its two worlds, the web globals they share, its timers, its ports.
 */
import type { FakeRendererPort } from './message-port.js';
import { World, type AnyFunction, type Globals } from './world.js';

type TimerKind = 'timeout' | 'interval' | 'immediate';

/** One document of a renderer, with its preload run. */
export class RendererDocument {
  readonly mainWorld: World;
  readonly isolatedWorld: World;
  /** What the preload threw (Electron catches it, logs it and sends main 'preload-error'); undefined if it ran through. */
  preloadError: unknown = undefined;
  /** Exceptions thrown by the document's event listeners, timers and microtasks: a browser reports them and goes on. */
  readonly uncaught: unknown[] = [];
  readonly ports = new Set<FakeRendererPort>();
  readonly #timers = new Map<number, { kind: TimerKind; handle: NodeJS.Timeout | NodeJS.Immediate }>();
  #lastTimer = 0;
  #unloaded = false;

  constructor() {
    // The page's world runs under a Content-Security-Policy without 'unsafe-eval' (stricter than a page without one).
    this.mainWorld = new World('main world', { codeGeneration: false });
    this.isolatedWorld = new World('isolated world', { codeGeneration: true });
    for (const world of [this.mainWorld, this.isolatedWorld]) this.#installWebGlobals(world);
  }

  get unloaded(): boolean {
    return this.#unloaded;
  }

  /** Runs a listener or a timer's callback as a browser does: what it throws is reported, not propagated. */
  invoke(callback: () => void): void {
    try {
      callback();
    } catch (error) {
      this.uncaught.push(error);
    }
  }

  /** The document goes away: its ports close (main's MessagePortMain gets 'close'), its timers stop. */
  unload(): void {
    if (this.#unloaded) return;
    this.#unloaded = true;
    for (const port of this.ports) port.close();
    for (const id of [...this.#timers.keys()]) this.clearTimer(id);
    this.mainWorld.close();
    this.isolatedWorld.close();
  }

  /** setTimeout/setInterval/setImmediate of this document: numeric ids, cleared when it unloads. */
  setTimer(world: World, kind: TimerKind, callback: unknown, ms: unknown, args: unknown[]): number {
    if (typeof callback !== 'function') throw world.error('TypeError', 'fake-renderer: a timer callback must be a function (a string would be eval)');
    const id = ++this.#lastTimer;
    if (this.#unloaded) return id;
    const run = (): void => {
      if (kind !== 'interval') this.#timers.delete(id);
      this.invoke(() => Reflect.apply(callback, undefined, args));
    };
    const delay = Number(ms) || 0;
    const handle = kind === 'immediate' ? setImmediate(run) : kind === 'interval' ? setInterval(run, delay) : setTimeout(run, delay);
    this.#timers.set(id, { kind, handle });
    return id;
  }

  clearTimer(id: unknown): void {
    const timer = this.#timers.get(Number(id));
    if (timer === undefined) return;
    this.#timers.delete(Number(id));
    if (timer.kind === 'immediate') clearImmediate(timer.handle as NodeJS.Immediate);
    else clearTimeout(timer.handle as NodeJS.Timeout);
  }

  /** The timer functions a world (or the sandbox's 'timers' module) gets. */
  timers(world: World): Record<string, AnyFunction> {
    return {
      setTimeout: (callback: unknown, ms?: unknown, ...args: unknown[]) => this.setTimer(world, 'timeout', callback, ms, args),
      clearTimeout: (id: unknown) => this.clearTimer(id),
      setInterval: (callback: unknown, ms?: unknown, ...args: unknown[]) => this.setTimer(world, 'interval', callback, ms, args),
      clearInterval: (id: unknown) => this.clearTimer(id),
    } as Record<string, AnyFunction>;
  }

  /** What both worlds of a page have from the web platform, as far as the code here needs; nothing of Node. */
  #installWebGlobals(world: World): void {
    world.evaluate("Object.defineProperty(globalThis, 'window', { value: globalThis, enumerable: true }); Object.defineProperty(globalThis, 'self', { value: globalThis, enumerable: true, writable: true, configurable: true });");
    Object.assign(world.global, this.timers(world), {
      console,
      queueMicrotask: (callback: unknown) => {
        if (typeof callback !== 'function') throw world.error('TypeError', "Failed to execute 'queueMicrotask' on 'Window': parameter 1 is not of type 'Function'.");
        queueMicrotask(() => this.invoke(() => Reflect.apply(callback, undefined, [])));
      },
    });
    // TextEncoder/TextDecoder of the world itself, so what they return is the world's own Uint8Array.
    const make = world.evaluate(`(function (Encoder, Decoder) {
      class TextEncoder {
        #e = new Encoder();
        get encoding() { return 'utf-8'; }
        encode(input = '') { return new Uint8Array(this.#e.encode(input)); }
        encodeInto(input, dest) { const r = this.#e.encodeInto(input, dest); return { read: r.read, written: r.written }; }
      }
      class TextDecoder {
        #d;
        constructor(label, options) { this.#d = new Decoder(label, options); }
        get encoding() { return this.#d.encoding; }
        get fatal() { return this.#d.fatal; }
        get ignoreBOM() { return this.#d.ignoreBOM; }
        decode(input, options) { return this.#d.decode(input, options); }
      }
      return { TextEncoder, TextDecoder };
    })`) as (encoder: typeof TextEncoder, decoder: typeof TextDecoder) => Globals;
    Object.assign(world.global, make(TextEncoder, TextDecoder));
    // performance.now(), a monotonic clock in ms (the page's request deadlines run on it); nothing else of Performance.
    const clock = world.evaluate('(function (now) { return { performance: { now: function () { return now(); } } }; })') as (now: () => number) => Globals;
    Object.assign(world.global, clock(() => performance.now()));
  }
}
