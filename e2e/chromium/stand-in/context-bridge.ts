/**
 * Stand-in for Electron's `contextBridge`, with only `executeInMainWorld`, the one
 * method the preload uses. It runs in the isolated realm (a same-origin iframe of
 * the page) and reaches the page's main realm (realms.ts) the way Electron reaches
 * the main world.
 *
 * What Electron does, read in shell/renderer/api/electron_api_context_bridge.cc
 * (ExecuteInWorld, PassValueToOtherContextInner, ProxyFunctionWrapper; Electron 35+,
 * read at electron/electron 96f3996, v45 nightlies) and docs/api/context-bridge.md,
 * and how the stand-in matches it or is stricter:
 * - `func` is serialized with Function.prototype.toString and compiled as `(source)` in
 *   the main world, then called with `this` null: the same here, so a function that
 *   closes over anything outside itself (a module-level helper a bundler hoisted,
 *   `__publicField`, `__name`) fails with a ReferenceError in the main realm.
 * - What the call throws reaches the preload as a new plain `Error` whose message is the
 *   exception converted to a string (`'RangeError: …'`), made in the preload's realm;
 *   a result that cannot cross gives `Error(String(exception))` too; an argument that
 *   cannot cross gives `Error('Failed to proxy argument at index i')`. `script` must be
 *   an object, `func` a function, `args` (when present, even if undefined) an array:
 *   TypeErrors with Electron's messages.
 * - Values are copied on every crossing, arguments and results alike:
 *   primitives as they are; plain arrays into new arrays; objects that are neither
 *   arrays nor one of V8's special kinds (class instances included) into new plain
 *   objects of the target realm, their enumerable own properties read once each and
 *   their prototypes dropped; the special kinds (typed arrays, ArrayBuffers, dates,
 *   regexps, maps, sets, boxed primitives, …) by structured clone, so a WeakMap, a
 *   generator or a Map/Set iterator throws (DataCloneError), as in Electron.
 * - An Error (a real one: [[ErrorData]]) crosses as a NEW plain `Error` of the target
 *   realm with only its message: its class, name, cause, stack and own properties are
 *   lost, as Electron rebuilds it with `v8::Exception::Error(message)`. A function that
 *   throws through a wrapper gives its caller `new Error(thrown.message)` in the
 *   caller's realm (a thrown non-object gives Electron's "An unknown exception occurred
 *   in the isolated context…"); a result of a wrapper that cannot cross gives
 *   `Error('Uncaught …')`, as Electron's v8::Message text does.
 * - EVERY crossing of a function gives a FRESH wrapper made in the target realm, so
 *   identity never survives a crossing (electron/electron#33328); its arguments,
 *   result and thrown errors cross back by the same rules.
 * - Nesting: a value deeper than 1000 levels throws "Electron contextBridge recursion
 *   depth exceeded…", counted as Electron counts (an array adds one level, an object
 *   two: CreateProxyForAPI and then each property).
 *
 * Stricter than Electron, on purpose:
 * - copied objects and arrays are frozen (Electron freezes only what exposeInMainWorld
 *   exposes);
 * - a Symbol or a Promise throws (Electron passes a Symbol through as a primitive, its
 *   docs say it is dropped; it proxies a Promise);
 * - nothing is shared within one call: the same object or function passed twice, even
 *   in one argument list, crosses as two copies or two wrappers (Electron caches them
 *   per call), and a wrapper crossing back is wrapped again (Electron hands back the
 *   original); a wrapped function is called with `this` undefined (Electron: the
 *   object it was read from); a DOM Element, Blob, VideoFrame or DOMException crosses
 *   as a plain object of its enumerable own properties (Electron passes the first
 *   three as the same objects);
 * - `func` is compiled through a <script> carrying the page's CSP nonce: a compile
 *   error is also reported to the page (Electron's is not), and its text is not known
 *   here.
 *
 * Which rule applies is decided by brand checks (internal slots, intrinsics.ts), never
 * by `Symbol.toStringTag`: a plain object tagged 'Map' is copied as a plain object, a
 * real Map whose tag was changed still as a Map. A Promise is known by its prototype
 * chain and a generator or Map/Set iterator by its tag (JS has no side-effect-free
 * brand check for them), so look-alikes of those throw too, which is only stricter.
 * The one kind the stand-in cannot see is a Proxy (nothing in JS tells one apart):
 * Electron refuses it with a DataCloneError, here it is copied through its traps (see
 * the README: nothing the bridge sends is a Proxy).
 *
 * The copying uses only built-ins taken before any page script ran (intrinsics.ts,
 * realms.ts), and reads arguments by index, so page code that replaces
 * `Array.prototype.slice`, `map`, `window.Array` or `structuredClone` later changes
 * nothing that crosses.
 */
import {
  apply,
  builtinTag,
  defineProperty,
  freeze,
  functionSource,
  isArray,
  isArrayBuffer,
  isBoxedPrimitive,
  isDate,
  isDOMException,
  isError,
  isInstance,
  isMap,
  isRegExp,
  isSet,
  isView,
  isWeakCollection,
  keys,
  mapGet,
  mapHas,
  mapSet,
  SafeMap,
} from './intrinsics.js';
import { isolated, main, type AnyFunction, type Realm } from './realms.js';

/** Electron's kMaxRecursion. */
const MAX_DEPTH = 1000;
const DEPTH_EXCEEDED = 'Electron contextBridge recursion depth exceeded.  Nested objects deeper than 1000 are not supported.';
/** ProxyFunctionWrapper's message when the thrown value has no string `message`. */
const UNKNOWN_EXCEPTION = 'An unknown exception occurred in the isolated context, an error occurred but a valid exception was not thrown.';
/** The built-in tags of the kinds V8 keeps off the plain-object path and its serializer refuses. */
const UNCLONEABLE_TAGS = ['[object Map Iterator]', '[object Set Iterator]', '[object Generator]', '[object AsyncGenerator]'];

/** What crosses by the target realm's structuredClone, as Electron serializes what IsPlainObject excludes. */
function isCloned(object: object): boolean {
  if (isView(object) || isArrayBuffer(object) || isDate(object) || isRegExp(object) || isMap(object) || isSet(object) || isBoxedPrimitive(object) || isWeakCollection(object)) return true;
  const tag = builtinTag(object);
  for (let i = 0; i < UNCLONEABLE_TAGS.length; i++) if (tag === UNCLONEABLE_TAGS[i]) return true;
  return false;
}

/** An own data property, as a copy's properties are: defining it runs no setter the page put on a prototype. */
function defineValue(target: object, key: PropertyKey, value: unknown): void {
  defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/** `thrown.message` when it is a string, as Electron reads it (a throwing getter counts as none). */
function messageOf(thrown: unknown): string | undefined {
  if (thrown === null || (typeof thrown !== 'object' && typeof thrown !== 'function')) return undefined;
  try {
    const message = (thrown as { message?: unknown }).message;
    return typeof message === 'string' ? message : undefined;
  } catch {
    return undefined;
  }
}

/** `thrown` converted to a string, as v8::String::Utf8Value does (undefined when that throws, e.g. for a Symbol). */
function textOf(thrown: unknown): string | undefined {
  try {
    return `${thrown as string}`;
  } catch {
    return undefined;
  }
}

/**
 * Copies `value` from realm `from` into realm `to` by the rules above. `depth` counts
 * as Electron's recursion_depth does. Throws on what cannot cross; the caller turns
 * that into an error of the right realm.
 */
export function crossRealm(value: unknown, from: Realm, to: Realm, depth = 0, seen: Map<object, unknown> = new SafeMap()): unknown {
  // Checked before anything else, primitives included, as in Electron.
  if (depth >= MAX_DEPTH) throw new to.TypeError(DEPTH_EXCEEDED);
  switch (typeof value) {
    case 'undefined':
    case 'boolean':
    case 'number':
    case 'string':
    case 'bigint':
      return value;
    case 'symbol':
      throw new isolated.TypeError('contextBridge stand-in: a Symbol cannot cross the bridge (Electron passes it through; its docs say it is dropped)');
    case 'function':
      // Never cached: each crossing makes a new wrapper, as Electron makes a new proxy.
      return wrapFunction(value as AnyFunction, from, to);
    default:
      break;
  }
  if (value === null) return null;
  const object = value as object;
  if (mapHas(seen, object)) return mapGet(seen, object);
  // A Promise of either realm, by its prototype chain: a look-alike throws too, which is only stricter.
  if (isInstance(from.Promise, object) || isInstance(to.Promise, object)) {
    throw new isolated.TypeError('contextBridge stand-in: a Promise cannot cross the bridge here');
  }
  // Before errors: whether V8 sees a DOMException as a native error is not settled here, and a plain copy keeps less.
  if (!isDOMException(object) && isError(object)) {
    // Electron: v8::Exception::Error(message) in the target context. Only the message survives.
    const message = messageOf(object);
    const copy = new to.Error(message ?? textOf(object) ?? '');
    mapSet(seen, object, copy);
    return copy;
  }
  if (isArray(object)) {
    const source = object as unknown[];
    const out = new to.Array<unknown>();
    mapSet(seen, object, out);
    for (let i = 0; i < source.length; i++) defineValue(out, i, crossRealm(source[i], from, to, depth + 1, seen));
    return freeze(out);
  }
  if (isCloned(object)) {
    // Maps and Sets holding functions, WeakMaps, generators and iterators throw here (DataCloneError), as in Electron.
    const copy = to.clone(object);
    mapSet(seen, object, copy);
    return copy;
  }
  // Everything else, class instances included, arrives as a plain object of the target realm.
  const out = new to.Object() as Record<string, unknown>;
  mapSet(seen, object, out);
  const names = keys(object);
  for (let i = 0; i < names.length; i++) {
    const key = names[i]!;
    // Two levels deeper, as Electron counts: one for CreateProxyForAPI, one for the property.
    defineValue(out, key, crossRealm((object as Record<string, unknown>)[key], from, to, depth + 2, seen));
  }
  return freeze(out);
}

/** Each argument copied on its own, read by index (an `arguments` object or an array, never iterated). */
function crossArguments(args: ArrayLike<unknown>, from: Realm, to: Realm): unknown[] {
  const out: unknown[] = [];
  for (let i = 0; i < args.length; i++) defineValue(out, i, crossRealm(args[i], from, to));
  return out;
}

/** A wrapper in realm `to` of `fn` (of realm `from`), as Electron's ProxyFunctionWrapper. */
function wrapFunction(fn: AnyFunction, from: Realm, to: Realm): AnyFunction {
  return to.wrap((args) => {
    let inner: unknown[];
    try {
      inner = crossArguments(args, to, from);
    } catch (error) {
      // Electron throws the conversion's own exception in the caller's realm.
      throw new to.TypeError(textOf(error) ?? 'an argument could not cross the bridge');
    }
    let result: unknown;
    try {
      result = apply(fn, undefined, inner);
    } catch (error) {
      throw new to.Error(messageOf(error) ?? UNKNOWN_EXCEPTION);
    }
    try {
      return crossRealm(result, from, to);
    } catch (error) {
      throw new to.Error(`Uncaught ${textOf(error) ?? 'exception'}`);
    }
  });
}

/** Runs `func` (compiled in the main realm) with `args` copied there, as Electron's ExecuteInWorld; returns its result copied back. */
function executeInMainWorld(script: { func: AnyFunction; args?: unknown[] }): unknown {
  // Electron: no argument at all reads as an empty script; one that is not an object is refused.
  if (arguments.length === 0) throw new isolated.TypeError("Function 'func' is required in script");
  if (script === null || typeof script !== 'object') throw new isolated.TypeError('Invalid script');
  const func: unknown = script.func;
  if (typeof func !== 'function') throw new isolated.TypeError("Function 'func' is required in script");
  // Electron reads `args` when the property exists at all: `args: undefined` is not an array either.
  const hasArgs = 'args' in script;
  const args: unknown = script.args;
  if (hasArgs && !isArray(args)) throw new isolated.TypeError("'args' must be an array");
  let compiled: AnyFunction;
  try {
    compiled = main.evaluate(`(${functionSource(func)})`) as AnyFunction;
  } catch (error) {
    throw new isolated.Error(`SyntaxError: func did not compile in the main world (${messageOf(error) ?? 'Electron stand-in'})`);
  }
  const list = hasArgs ? (args as unknown[]) : [];
  const copied: unknown[] = [];
  for (let i = 0; i < list.length; i++) {
    try {
      defineValue(copied, i, crossRealm(list[i], isolated, main));
    } catch (error) {
      // Electron's message; the reason is added here, since the stand-in refuses more than Electron does.
      throw new isolated.Error(`Failed to proxy argument at index ${i} (stand-in: ${textOf(error) ?? 'unknown'})`);
    }
  }
  let result: unknown;
  try {
    result = apply(compiled, null, copied);
  } catch (error) {
    throw new isolated.Error(textOf(error) ?? 'Unknown error during function execution');
  }
  try {
    return crossRealm(result, main, isolated);
  } catch (error) {
    throw new isolated.Error(textOf(error) ?? 'Unknown error cloning result');
  }
}

/** `contextBridge` as the preload sees it: `executeInMainWorld`, nothing else. */
export const contextBridge = Object.freeze({ executeInMainWorld });
