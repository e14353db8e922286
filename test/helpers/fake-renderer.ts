/**
 * A stand-in for one document of a sandboxed, context-isolated Electron 45 renderer,
 * to run a REAL preload bundle in Node the way Electron runs it. The other half of
 * test/helpers/fake-electron.ts (main's API): the preload's port reaches main through
 * `FakeTab.postPort`, so the real bridge serves it.
 *
 * Two node:vm contexts stand for the two worlds of the document: the isolated world
 * (the preload's) and the main world (the page's). Neither sees the other's globals;
 * values cross only through the fake contextBridge, by Electron's rules. Every rule
 * carries where Electron's behaviour is written; where the real thing was unclear the
 * stand-in is stricter, never looser (CONVENTIONS.md, habit 11). Sources are read at
 * electron/electron main as of v45.0.0-nightly (2026-08).
 *
 * Not modelled, and refused or absent rather than faked: contextBridge.exposeInMainWorld,
 * ipcRenderer's other methods, transferring MessagePorts through a renderer MessagePort,
 * DOM objects (Element, Blob, VideoFrame) crossing the bridge, WebAssembly objects.
 */
import { EventEmitter, on, once } from 'node:events';
import * as nodeUrl from 'node:url';
import { types } from 'node:util';
import vm from 'node:vm';
import { MessageChannel as NodeMessageChannel, moveMessagePortToContext, receiveMessageOnPort, type MessagePort as NodeMessagePort } from 'node:worker_threads';
import { BRIDGE_CHANNEL } from '../../src/shared/bridge-protocol.js';
import type { FakeTab, FakeWebFrameMain } from './fake-electron.js';

// The real intrinsics, taken before any world's script runs: Electron's C++ calls
// v8::Function::FunctionProtoToString and v8::Promise::Then, which no script can override.
const functionToString = Function.prototype.toString;
const promiseThen = Promise.prototype.then;

/** shell/renderer/api/electron_api_context_bridge.cc: kMaxRecursion. */
const MAX_RECURSION = 1000;
const RECURSION_MESSAGE = 'Electron contextBridge recursion depth exceeded.  Nested objects deeper than 1000 are not supported.';

type AnyFunction = (...args: unknown[]) => unknown;
type Globals = Record<PropertyKey, any>;

/** What a world's own code would throw; made with the world's intrinsics, so `instanceof Error` holds there. */
type ErrorKind = 'Error' | 'TypeError';

/** One JavaScript world of the document: a node:vm context with its own intrinsics. */
export class World {
  readonly name: string;
  readonly context: vm.Context;
  /** The world's `globalThis` (`window`). */
  readonly global: Globals;
  readonly #intrinsics: Globals;
  /** Makes a function of this world that hands its arguments to `call` (a proxy's body). */
  readonly #wrap: (call: (args: IArguments) => unknown) => AnyFunction;
  /** A channel whose far end lives in this world: what crosses it is deserialized here. */
  readonly #cloneIn: NodeMessagePort;
  readonly #cloneOut: NodeMessagePort;

  constructor(name: string, options: { codeGeneration: boolean }) {
    this.name = name;
    this.context = vm.createContext({}, { name, codeGeneration: { strings: options.codeGeneration, wasm: options.codeGeneration } });
    this.global = vm.runInContext('globalThis', this.context) as Globals;
    this.#intrinsics = vm.runInContext('({ Object, Array, Promise, Error, TypeError })', this.context) as Globals;
    this.#wrap = vm.runInContext('(function (call) { return function () { return call(arguments); }; })', this.context) as (call: (args: IArguments) => unknown) => AnyFunction;
    const { port1, port2 } = new NodeMessageChannel();
    this.#cloneIn = port1;
    this.#cloneOut = moveMessagePortToContext(port2, this.context);
  }

  /** Runs `code` as a script of this world (as page code, or the preload's own). */
  evaluate(code: string): any {
    return vm.runInContext(code, this.context);
  }

  /** The HTML structured clone of `value`, made of this world's objects (V8's serializer, as Electron's). */
  clone(value: unknown): unknown {
    rejectSharedMemory(value);
    this.#cloneIn.postMessage(value);
    return receiveMessageOnPort(this.#cloneOut)!.message;
  }

  error(kind: ErrorKind, message: string): Error {
    return new this.#intrinsics[kind](message) as Error;
  }

  /** A DOMException-like DataCloneError of this world (an Error there, as in Chromium). */
  dataCloneError(message: string): Error {
    const error = this.error('Error', message);
    error.name = 'DataCloneError';
    return error;
  }

  newObject(): Globals {
    return new this.#intrinsics.Object() as Globals;
  }

  newArray(items: unknown[]): unknown[] {
    const array = new this.#intrinsics.Array() as unknown[];
    for (const item of items) array.push(item);
    return array;
  }

  /** A promise of this world and its settle functions. */
  deferred(): { promise: Promise<unknown>; resolve: (value: unknown) => void; reject: (reason: unknown) => void } {
    let resolve!: (value: unknown) => void;
    let reject!: (reason: unknown) => void;
    const promise = new this.#intrinsics.Promise((res: typeof resolve, rej: typeof reject) => {
      resolve = res;
      reject = rej;
    }) as Promise<unknown>;
    return { promise, resolve, reject };
  }

  wrap(call: (args: unknown[]) => unknown): AnyFunction {
    return this.#wrap((args) => call(Array.from(args)));
  }

  /** Test code acting as page code: an exact copy of a Node value, made of this world's objects. */
  copyIn(value: unknown): any {
    return copyAcross(value, this.global, null);
  }

  /** An exact copy of a value of this world, made of Node's objects; throws for anything not of this world. */
  copyOut(value: unknown): any {
    return copyAcross(value, globalThis, this.global);
  }

  close(): void {
    this.#cloneIn.close();
  }
}

/**
 * V8's serializer with Electron's delegate refuses shared memory (GetSharedArrayBufferId is
 * not implemented: shell/common/v8_util.cc V8Serializer); Node's postMessage would share it.
 */
function rejectSharedMemory(value: unknown, seen = new Set<object>()): void {
  if (value === null || typeof value !== 'object' || seen.has(value)) return;
  seen.add(value);
  if (types.isSharedArrayBuffer(value) || (ArrayBuffer.isView(value) && types.isSharedArrayBuffer(value.buffer))) {
    throw new Error('#<SharedArrayBuffer> could not be cloned.');
  }
  if (types.isMap(value)) for (const [k, v] of value) (rejectSharedMemory(k, seen), rejectSharedMemory(v, seen));
  else if (types.isSet(value)) for (const v of value) rejectSharedMemory(v, seen);
  else if (!ArrayBuffer.isView(value)) for (const key of Object.keys(value)) rejectSharedMemory((value as Globals)[key], seen);
}

// ---------------------------------------------------------------------------------------
// contextBridge: shell/renderer/api/electron_api_context_bridge.cc, docs/api/context-bridge.md

/** A proxy function → the function it stands for and the world that owns it (kOriginalFunctionPrivateKey). */
const proxied = new WeakMap<object, { fn: AnyFunction; owner: World }>();

/** A crossing of one value (PassValueToOtherContext): its object cache and where errors are thrown. */
interface Crossing {
  from: World;
  to: World;
  cache: Map<object, unknown>;
  errorWorld: World;
}

/** IsPlainObject: every object that is none of V8's special kinds — a class instance too (its prototype is dropped). */
function isPlainObject(value: object): boolean {
  return !(
    types.isDate(value) || types.isArgumentsObject(value) || types.isBoxedPrimitive(value) || types.isNativeError(value) ||
    types.isRegExp(value) || types.isPromise(value) || types.isMap(value) || types.isSet(value) || types.isMapIterator(value) ||
    types.isSetIterator(value) || types.isWeakMap(value) || types.isWeakSet(value) || types.isArrayBuffer(value) ||
    ArrayBuffer.isView(value) || Array.isArray(value) || types.isSharedArrayBuffer(value) || types.isGeneratorObject(value) ||
    types.isModuleNamespaceObject(value) || types.isProxy(value)
  );
}

/**
 * PassValueToOtherContextInner, in its order: primitives as they are; the crossing's cache
 * (one object twice in one crossing stays one object); functions → a NEW proxy on every
 * crossing (electron/electron#33328), or the original when a proxy goes back to its world;
 * promises → a proxied promise; Errors → `new Error(message)` only (name, class and custom
 * properties dropped, electron/electron#25596); arrays element by element; other plain
 * objects (class instances too) → a fresh object of own enumerable properties, prototype
 * dropped; everything else → Electron's V8 structured clone. Depth over 1000 throws.
 */
function pass(value: unknown, c: Crossing, parent: unknown, depth: number): unknown {
  if (depth >= MAX_RECURSION) throw c.errorWorld.error('TypeError', RECURSION_MESSAGE);
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return value;
  if (c.cache.has(value)) return c.cache.get(value);
  if (typeof value === 'function') {
    const origin = proxied.get(value);
    if (origin !== undefined && origin.owner === c.to) return origin.fn;
    const fn = value as AnyFunction;
    const owner = c.from;
    const caller = c.to;
    const proxy = caller.wrap((args) => callProxied(fn, parent, owner, caller, args));
    proxied.set(proxy, { fn, owner });
    c.cache.set(value, proxy);
    return proxy;
  }
  if (types.isPromise(value)) {
    const { promise, resolve, reject } = c.to.deferred();
    const settle = (settleWith: (v: unknown) => void, kind: string) => (result: unknown) => {
      try {
        settleWith(pass(result, { from: c.from, to: c.to, cache: new Map(), errorWorld: c.to }, c.from.global, 0));
      } catch (error) {
        reject(c.to.error('Error', `An error was thrown while sending a promise ${kind} over the context bridge: ${describe(error)}`));
      }
    };
    promiseThen.call(value, settle(resolve, 'result'), settle(reject, 'rejection'));
    c.cache.set(value, promise);
    return promise;
  }
  if (types.isNativeError(value)) {
    const message = (value as Error).message;
    return c.to.error('Error', typeof message === 'string' ? message : `Uncaught ${describe(value)}`);
  }
  if (Array.isArray(value) && !types.isProxy(value)) {
    const items: unknown[] = [];
    for (let i = 0; i < value.length; i++) items.push(pass(value[i], c, value, depth + 1));
    const array = c.to.newArray(items);
    c.cache.set(value, array); // after the elements, as Electron does: an array holding itself recurses to the limit
    return array;
  }
  if (isPlainObject(value)) {
    const copy = c.to.newObject();
    c.cache.set(value, copy);
    // GetOwnPropertyNames(ONLY_ENUMERABLE): own enumerable keys, symbols included; getters are called.
    for (const key of Reflect.ownKeys(value)) {
      if (!Object.prototype.propertyIsEnumerable.call(value, key)) continue;
      const passed = pass((value as Globals)[key], c, value, depth + 2);
      Object.defineProperty(copy, key, { value: passed, writable: true, enumerable: true, configurable: true });
    }
    return copy;
  }
  let cloned: unknown;
  try {
    cloned = c.to.clone(value);
  } catch {
    // V8Serializer::Write (shell/common/v8_util.cc) replaces the DataCloneError with this.
    throw c.errorWorld.error('Error', 'An object could not be cloned.');
  }
  c.cache.set(value, cloned);
  return cloned;
}

/**
 * ProxyFunctionWrapper: arguments are copied into the owner's world on every call (one
 * cache per call); the function runs with the receiver it was found on; a throw comes back
 * as `new Error(message)` in the caller's world; the result is copied back.
 */
function callProxied(fn: AnyFunction, receiver: unknown, owner: World, caller: World, args: unknown[]): unknown {
  const cache = new Map<object, unknown>();
  const passed = args.map((arg) => pass(arg, { from: caller, to: owner, cache, errorWorld: caller }, caller.global, 0));
  let result: unknown;
  try {
    result = Reflect.apply(fn, receiver, passed);
  } catch (error) {
    const message = error !== null && (typeof error === 'object' || typeof error === 'function') ? (error as Error).message : undefined;
    throw caller.error(
      'Error',
      typeof message === 'string' ? message : 'An unknown exception occurred in the isolated context, an error occurred but a valid exception was not thrown.',
    );
  }
  try {
    return pass(result, { from: owner, to: caller, cache: new Map(), errorWorld: caller }, owner.global, 0);
  } catch (error) {
    throw caller.error('Error', `Uncaught ${describe(error)}`);
  }
}

/** v8::String::Utf8Value of a thrown value: its string form ("TypeError: message"). */
function describe(thrown: unknown): string {
  try {
    return String(thrown);
  } catch {
    return 'Unknown error';
  }
}

/**
 * contextBridge.executeInMainWorld (ExecuteInWorld): serializes `func` with the real
 * Function.prototype.toString and compiles `(${source})` as a script of the main world, so
 * the function reaches nothing of the isolated world (closures, module-level helpers a
 * bundler added); `args` are copied over; it is called with `this` null; a throw at any
 * step comes back as `new Error(String(thrown))` in the isolated world; the result is copied back.
 */
function executeInMainWorld(isolated: World, main: World, argv: unknown[]): unknown {
  const script = argv[0];
  if (argv.length >= 1 && (script === null || (typeof script !== 'object' && typeof script !== 'function'))) throw isolated.error('TypeError', 'Invalid script');
  // gin_helper::Dictionary::Get: GetRealNamedProperty, so a key on the prototype chain counts and a missing one does not.
  const dictionary = script as Globals | undefined;
  const func: unknown = dictionary !== undefined && 'func' in dictionary ? dictionary.func : undefined;
  if (typeof func !== 'function') throw isolated.error('TypeError', "Function 'func' is required in script");
  let args: unknown[] = [];
  if (dictionary !== undefined && 'args' in dictionary) {
    const given: unknown = dictionary.args;
    if (!Array.isArray(given) || types.isProxy(given)) throw isolated.error('TypeError', "'args' must be an array");
    args = given;
  }
  const source = functionToString.call(func);
  let copied: unknown;
  try {
    copied = new vm.Script(`(${source})`, { filename: 'executeInMainWorld' }).runInContext(main.context);
  } catch (error) {
    throw isolated.error('Error', describe(error));
  }
  if (typeof copied !== 'function') throw isolated.error('Error', 'Expected script to result in a function but a non-function type was found');
  const cache = new Map<object, unknown>();
  const passed: unknown[] = [];
  for (let i = 0; i < args.length; i++) {
    try {
      passed.push(pass(args[i], { from: isolated, to: main, cache, errorWorld: isolated }, isolated.global, 0));
    } catch {
      throw isolated.error('Error', `Failed to proxy argument at index ${i}`);
    }
  }
  let result: unknown;
  try {
    result = Reflect.apply(copied as AnyFunction, null, passed);
  } catch (error) {
    throw isolated.error('Error', describe(error));
  }
  try {
    return pass(result, { from: main, to: isolated, cache: new Map(), errorWorld: main }, main.global, 0);
  } catch (error) {
    throw isolated.error('Error', describe(error));
  }
}

// ---------------------------------------------------------------------------------------
// The renderer's MessageChannel (Blink's MessagePort) as far as main can tell it apart.

/** A message as serialized when posted; `lost` if its transfer list held ArrayBuffers. */
interface Posted {
  value: unknown;
  lost: boolean;
}

/** WebIDL: postMessage(message, sequence<object> transfer) or postMessage(message, optional StructuredSerializeOptions options). */
function transferList(world: World, given: unknown): unknown[] {
  if (given === undefined || given === null) return [];
  if (typeof given !== 'object' && typeof given !== 'function') throw world.error('TypeError', "Failed to execute 'postMessage' on 'MessagePort': The provided value is not of type 'StructuredSerializeOptions'.");
  const list: unknown = Symbol.iterator in given ? given : (given as { transfer?: unknown }).transfer;
  if (list === undefined) return [];
  if (list === null || typeof list !== 'object' || !(Symbol.iterator in list)) throw world.error('TypeError', "Failed to execute 'postMessage' on 'MessagePort': The provided value cannot be converted to a sequence.");
  return Array.from(list as Iterable<unknown>);
}

/**
 * One end of a renderer MessageChannel. While both ends are in this document, messages go
 * from one to the other by structured clone (transfers work). Once an end has been handed
 * to main (ipcRenderer.postMessage), main's MessagePortMain gets what this end's peer posts
 * as Electron gives it: a message whose transfer list held an ArrayBuffer arrives with
 * `data: null` — MessagePort::Accept deserializes only the encoded message, never the
 * transferred buffers (shell/browser/api/message_port.cc; electron/electron#34905) — while
 * the buffers are detached here all the same ("Transferable object ownership is correctly
 * lost in the renderer", #34905). That holds for messages posted before the handoff too: their
 * fate is sealed when they are serialized.
 *
 * Messages wait until start() (or setting onmessage), as in the HTML spec. No 'close' event
 * is ever dispatched: Chromium fires none on the page's end when main closes its port
 * (checked in Chromium 156, see commit dcd3202), so nothing may rely on one.
 */
class FakeRendererPort {
  readonly #document: RendererDocument;
  /** This end's node port; its twin is the peer's. Main gets this one when this end is handed over. */
  readonly #node: NodeMessagePort;
  #peer!: FakeRendererPort;
  #handedToMain = false;
  #closed = false;
  #started = false;
  /** Posted to this end by its peer while this end was in the document. */
  readonly #inbox: Posted[] = [];
  readonly #listeners: { type: string; listener: unknown }[] = [];
  #onmessage: { handler: unknown } | null = null;

  constructor(document: RendererDocument, node: NodeMessagePort) {
    this.#document = document;
    this.#node = node;
    // The peer's twin closed (main closed its port, or the peer closed): nothing more can be posted.
    node.on('close', () => {
      this.#closed = true;
    });
  }

  static pair(document: RendererDocument): { port1: FakeRendererPort; port2: FakeRendererPort } {
    const { port1: a, port2: b } = new NodeMessageChannel();
    const port1 = new FakeRendererPort(document, a);
    const port2 = new FakeRendererPort(document, b);
    port1.#peer = port2;
    port2.#peer = port1;
    document.ports.add(port1);
    document.ports.add(port2);
    return { port1, port2 };
  }

  get onmessage(): unknown {
    return this.#onmessage?.handler ?? null;
  }

  set onmessage(handler: unknown) {
    if (typeof handler !== 'function') {
      const index = this.#listeners.findIndex((l) => l.listener === this.#onmessage);
      if (index >= 0) this.#listeners.splice(index, 1);
      this.#onmessage = null;
      return;
    }
    if (this.#onmessage === null) {
      this.#onmessage = { handler };
      this.#listeners.push({ type: 'message', listener: this.#onmessage });
    } else {
      this.#onmessage.handler = handler;
    }
    this.start(); // "setting onmessage implicitly calls start()" (HTML, MessagePort)
  }

  addEventListener(type: string, listener: unknown): void {
    if (listener === null || listener === undefined) return;
    if (this.#listeners.some((l) => l.type === type && l.listener === listener)) return;
    this.#listeners.push({ type: String(type), listener });
  }

  removeEventListener(type: string, listener: unknown): void {
    const index = this.#listeners.findIndex((l) => l.type === type && l.listener === listener);
    if (index >= 0) this.#listeners.splice(index, 1);
  }

  postMessage(message: unknown, transferOrOptions?: unknown): void {
    const world = this.#document.isolatedWorld;
    const transfer = transferList(world, transferOrOptions);
    const buffers: ArrayBuffer[] = [];
    transfer.forEach((item, i) => {
      if (item instanceof FakeRendererPort) throw new Error('fake-renderer: transferring a MessagePort through a renderer MessagePort is not modelled');
      if (!types.isArrayBuffer(item)) throw world.dataCloneError(`Failed to execute 'postMessage' on 'MessagePort': Value at index ${i} does not have a transferable type.`);
      buffers.push(item);
    });
    let value: unknown;
    try {
      rejectSharedMemory(message);
      value = structuredClone(message, { transfer: buffers });
    } catch (error) {
      throw world.dataCloneError(`Failed to execute 'postMessage' on 'MessagePort': ${(error as Error).message}`);
    }
    if (this.#handedToMain || this.#closed) return; // a neutered or closed port posts nothing
    const posted = { value, lost: buffers.length > 0 };
    if (this.#peer.#handedToMain) this.#toMain(posted);
    else this.#peer.#receiveHere(posted);
  }

  start(): void {
    if (this.#started || this.#handedToMain || this.#closed) return;
    this.#started = true;
    this.#node.on('message', (data: unknown) => {
      if (!this.#closed) this.#dispatch(this.#document.isolatedWorld.clone(data));
    });
    this.#drainInbox();
  }

  close(): void {
    if (this.#closed || this.#handedToMain) return;
    this.#closed = true;
    this.#node.close();
  }

  /** ipcRenderer.postMessage took this end: it is neutered here, and main gets its node port, after what was already posted to it. */
  handToMain(): NodeMessagePort {
    if (this.#started) throw new Error('fake-renderer: handing main a port this document already listened on is not modelled');
    this.#handedToMain = true;
    for (const posted of this.#inbox.splice(0)) this.#peer.#toMain(posted);
    return this.#node;
  }

  /** Can be transferred: not neutered, not closed. */
  get transferable(): boolean {
    return !this.#handedToMain && !this.#closed;
  }

  #toMain(posted: Posted): void {
    this.#node.postMessage(posted.lost ? null : posted.value);
  }

  #receiveHere(posted: Posted): void {
    this.#inbox.push(posted);
    if (this.#started) setImmediate(() => this.#drainInbox());
  }

  #drainInbox(): void {
    for (const posted of this.#inbox.splice(0)) this.#dispatch(this.#document.isolatedWorld.clone(posted.value));
  }

  #dispatch(data: unknown): void {
    if (this.#closed) return;
    const world = this.#document.isolatedWorld;
    const event = world.newObject();
    Object.assign(event, { type: 'message', data, ports: world.newArray([]), origin: '', lastEventId: '', source: null, target: this, currentTarget: this });
    for (const { type, listener } of [...this.#listeners]) {
      if (type !== 'message') continue;
      const target = listener === this.#onmessage ? this.#onmessage?.handler : listener;
      this.#document.invoke(() => {
        if (typeof target === 'function') Reflect.apply(target, this, [event]);
        else if (target !== null && typeof target === 'object' && typeof (target as Globals).handleEvent === 'function') (target as Globals).handleEvent(event);
      });
    }
  }
}

// ---------------------------------------------------------------------------------------
// The document.

type TimerKind = 'timeout' | 'interval' | 'immediate';

/** Options of {@link loadPreload}. */
export interface PreloadOptions {
  /** `process.platform` as the preload sees it. Default: Node's. */
  platform?: string;
  /** Runs in the main world before the preload (what another preload or the embedder put there). */
  before?: (mainWorld: World) => void;
  /** The preload's file name, for stack traces. */
  filename?: string;
}

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
  }
}

/**
 * Loads a document in `frame` of `tab` and runs `source` (a CommonJS preload bundle, as an
 * app's bundler makes it) in its isolated world the way Electron's sandboxed renderer does
 * (lib/sandboxed_renderer/init.ts, lib/sandboxed_renderer/preload.ts): compiled as a
 * function of `require, process, exports, module, Buffer, global, setImmediate,
 * clearImmediate`; what it throws is caught and kept in `preloadError`.
 */
export function loadPreload(tab: FakeTab, frame: FakeWebFrameMain, source: string, options: PreloadOptions = {}): RendererDocument {
  const document = new RendererDocument();
  const { mainWorld, isolatedWorld } = document;
  isolatedWorld.global.MessageChannel = class MessageChannel {
    readonly port1: FakeRendererPort;
    readonly port2: FakeRendererPort;
    constructor() {
      ({ port1: this.port1, port2: this.port2 } = FakeRendererPort.pair(document));
    }
  };
  options.before?.(mainWorld);

  const electron = {
    contextBridge: {
      executeInMainWorld: (...argv: unknown[]) => executeInMainWorld(isolatedWorld, mainWorld, argv),
    },
    ipcRenderer: {
      postMessage: (channel: unknown, message: unknown, transfer?: unknown) => postMessageToMain(document, tab, frame, channel, message, transfer),
    },
  };
  const timers = document.timers(isolatedWorld);
  const immediate = {
    setImmediate: (callback: unknown, ...args: unknown[]) => document.setTimer(isolatedWorld, 'immediate', callback, 0, args),
    clearImmediate: (id: unknown) => document.clearTimer(id),
  };
  // The sandbox's require knows only these (docs/tutorial/sandbox.md; loadedModules and
  // loadableModules in lib/sandboxed_renderer/init.ts). Electron also accepts 'node:events',
  // 'node:timers', 'node:url', 'electron/common' and 'electron/renderer'; refusing them is stricter.
  const modules = new Map<string, unknown>([
    ['electron', electron],
    ['events', { EventEmitter, once, on }],
    ['timers', { ...timers, ...immediate }],
    ['url', { URL, URLSearchParams, parse: nodeUrl.parse, format: nodeUrl.format, resolve: nodeUrl.resolve }],
  ]);
  const preloadRequire = (name: unknown): unknown => {
    if (typeof name === 'string' && modules.has(name)) return modules.get(name);
    throw isolatedWorld.error('Error', `module not found: ${String(name)}`);
  };
  // createPreloadProcessObject() given binding.process and the startup data's process
  // (shell/renderer/electron_sandboxed_renderer_client.cc, shell/renderer/preload_utils.cc):
  // an EventEmitter with platform, arch, versions and the like. Electron also copies main's
  // `env` and `execPath` in; leaving them out is stricter. There is no cwd(), no nextTick().
  const preloadProcess = Object.assign(new EventEmitter(), {
    platform: options.platform ?? process.platform,
    arch: process.arch,
    type: 'renderer',
    sandboxed: true,
    contextIsolated: true,
    isMainFrame: frame === tab.mainFrame,
    version: process.version,
    versions: { ...process.versions },
  });
  const exports = isolatedWorld.newObject();
  const module = isolatedWorld.newObject();
  module.exports = exports;
  try {
    const run = vm.compileFunction(source, ['require', 'process', 'exports', 'module', 'Buffer', 'global', 'setImmediate', 'clearImmediate'], {
      parsingContext: isolatedWorld.context,
      filename: options.filename ?? 'preload.js',
    });
    run(preloadRequire, preloadProcess, exports, module, Buffer, isolatedWorld.global, immediate.setImmediate, immediate.clearImmediate);
  } catch (error) {
    document.preloadError = error;
  }
  return document;
}

/**
 * ipcRenderer.postMessage (lib/renderer/api/ipc-renderer.ts → ElectronApiIPCRenderer::PostMessage,
 * shell/renderer/api/electron_api_ipc_renderer.cc): the message is serialized with Electron's
 * V8 serializer; `transfer` must be an array of MessagePorts ("Invalid value for transfer"
 * otherwise), which are neutered here; main gets the message asynchronously. Only what the
 * bridge sends is modelled (fake-electron's FakeTab.postPort carries one port on BRIDGE_CHANNEL).
 */
function postMessageToMain(document: RendererDocument, tab: FakeTab, frame: FakeWebFrameMain, channel: unknown, message: unknown, transfer: unknown): void {
  const world = document.isolatedWorld;
  if (typeof channel !== 'string') throw world.error('TypeError', 'Error processing argument at index 0, conversion failure from ' + typeof channel);
  try {
    rejectSharedMemory(message);
    structuredClone(message);
  } catch {
    throw world.error('Error', 'An object could not be cloned.');
  }
  let ports: FakeRendererPort[] = [];
  if (transfer !== undefined) {
    if (!Array.isArray(transfer)) throw world.error('TypeError', 'Invalid value for transfer');
    ports = transfer.map((item: unknown) => {
      if (!(item instanceof FakeRendererPort) || !item.transferable) throw world.error('TypeError', 'Invalid value for transfer');
      return item;
    });
  }
  if (channel !== BRIDGE_CHANNEL || message !== null || ports.length !== 1) {
    throw new Error(`fake-renderer: only ipcRenderer.postMessage('${BRIDGE_CHANNEL}', null, [port]) is modelled`);
  }
  const node = ports[0]!.handToMain();
  setImmediate(() => {
    if (document.unloaded) node.close();
    else tab.postPort(frame, node);
  });
}

// ---------------------------------------------------------------------------------------
// Test plumbing: exact copies between Node and a world, for test code acting as page code.

const ERROR_CLASSES = ['Error', 'EvalError', 'RangeError', 'ReferenceError', 'SyntaxError', 'TypeError', 'URIError', 'AggregateError'];

/**
 * Copies `value` into the realm whose globals are `target`, keeping everything a value
 * carries (kinds, views' offsets and shared buffers, an Error's class and name, own
 * enumerable keys with symbols, shared and circular references). With `source`, every
 * object must be of that realm (built on its prototypes), or the copy throws.
 */
function copyAcross(value: unknown, target: Globals, source: Globals | null, seen = new Map<object, unknown>()): any {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return value;
  if (seen.has(value)) return seen.get(value);
  if (typeof value === 'function') throw new Error('copyAcross: a function is not a value');
  const tag = Object.prototype.toString.call(value).slice(8, -1);
  const proto = Object.getPrototypeOf(value) as object | null;
  const ownedBy = (name: string): void => {
    if (source !== null && proto !== (source[name] as { prototype: object }).prototype) throw new Error(`copyAcross: a ${tag} that is not made of the world's own ${name}`);
  };
  const copy = (v: unknown) => copyAcross(v, target, source, seen);
  const keep = <T>(out: T): T => {
    seen.set(value, out);
    return out;
  };
  const ownKeys = (from: object, to: object, skip: (key: PropertyKey) => boolean = () => false): void => {
    for (const key of Reflect.ownKeys(from)) {
      if (skip(key) || !Object.prototype.propertyIsEnumerable.call(from, key)) continue;
      Object.defineProperty(to, key, { value: copy((from as Globals)[key]), writable: true, enumerable: true, configurable: true });
    }
  };
  if (Array.isArray(value)) {
    ownedBy('Array');
    const out = keep(new target.Array(value.length));
    ownKeys(value, out, (key) => key === 'length');
    return out;
  }
  if (types.isDate(value)) return (ownedBy('Date'), keep(new target.Date(Date.prototype.getTime.call(value))));
  if (types.isRegExp(value)) return (ownedBy('RegExp'), keep(new target.RegExp(value.source, value.flags)));
  if (types.isMap(value)) {
    ownedBy('Map');
    const out = keep(new target.Map());
    for (const [k, v] of Map.prototype.entries.call(value)) out.set(copy(k), copy(v));
    return out;
  }
  if (types.isSet(value)) {
    ownedBy('Set');
    const out = keep(new target.Set());
    for (const v of Set.prototype.values.call(value)) out.add(copy(v));
    return out;
  }
  if (types.isArrayBuffer(value)) {
    ownedBy('ArrayBuffer');
    const out = keep(new target.ArrayBuffer(value.byteLength));
    new Uint8Array(out).set(new Uint8Array(value));
    return out;
  }
  if (types.isDataView(value)) return (ownedBy('DataView'), keep(new target.DataView(copy(value.buffer), value.byteOffset, value.byteLength)));
  if (types.isTypedArray(value)) {
    if (source !== null) ownedBy(tag); // a Node Buffer becomes the page's Uint8Array: the page has no Buffer
    return keep(new target[tag](copy(value.buffer), value.byteOffset, (value as Uint8Array).length));
  }
  if (types.isNativeError(value)) {
    let name = 'Error';
    for (let p = proto; p !== null; p = Object.getPrototypeOf(p) as object | null) {
      const ctor = Object.getOwnPropertyDescriptor(p, 'constructor')?.value as { name?: string } | undefined;
      if (ctor?.name !== undefined && ERROR_CLASSES.includes(ctor.name)) {
        name = ctor.name;
        break;
      }
    }
    ownedBy(name);
    const out = keep(new target[name]((value as Error).message));
    ownKeys(value, out, (key) => key === 'message' || key === 'stack');
    return out;
  }
  if (tag === 'Object' && (proto === null || Object.getPrototypeOf(proto) === null)) {
    if (proto !== null) ownedBy('Object');
    const out = keep(proto === null ? target.Object.create(null) : new target.Object());
    ownKeys(value, out);
    return out;
  }
  throw new Error(`copyAcross: cannot copy a ${tag} built on a class`);
}
