/**
 * contextBridge: shell/renderer/api/electron_api_context_bridge.cc, docs/api/context-bridge.md
 */
import { types } from 'node:util';
import vm from 'node:vm';
import type { AnyFunction, Globals, World } from './world.js';

// The real intrinsics, taken before any world's script runs: Electron's C++ calls
// v8::Function::FunctionProtoToString and v8::Promise::Then, which no script can override.
const functionToString = Function.prototype.toString;
const promiseThen = Promise.prototype.then;

/** shell/renderer/api/electron_api_context_bridge.cc: kMaxRecursion. */
const MAX_RECURSION = 1000;
const RECURSION_MESSAGE = 'Electron contextBridge recursion depth exceeded.  Nested objects deeper than 1000 are not supported.';

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
export function executeInMainWorld(isolated: World, main: World, argv: unknown[]): unknown {
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
