/**
 * Stand-in for Electron's `contextBridge`, with only `executeInMainWorld`, the one
 * method the preload uses. It runs in the isolated realm (a same-origin iframe of
 * the page) and reaches the page's main realm (realms.ts) the way Electron reaches
 * the main world.
 *
 * Stricter than Electron, so that what passes here passes there:
 * - `func` is recompiled from its source in the main realm: a function that closes
 *   over anything outside itself fails (this proves the bundle is self-contained);
 * - arguments and results are copied into the other realm: plain objects and arrays
 *   deep-copied and frozen, prototypes dropped (a class instance arrives as a plain
 *   object); bytes, dates, regexps, maps, sets and errors copied by the target
 *   realm's structuredClone, and NOT frozen (Electron does not freeze those either:
 *   only objects and arrays); a Symbol or a Promise throws (Electron drops Symbols,
 *   proxies Promises);
 * - which rule applies is decided by brand checks (internal slots, intrinsics.ts),
 *   never by `Symbol.toStringTag`: a plain object tagged 'Map' is copied as a plain
 *   object, a real Map whose tag was changed still as a Map. A Promise is known by its
 *   prototype chain (JS has no brand check for it without side effects), so an object
 *   made from Promise.prototype throws too, which is only stricter;
 * - EVERY crossing of a function gives a FRESH wrapper made in the target realm, so
 *   identity never survives a crossing (electron/electron#33328); its arguments,
 *   result and thrown errors cross back by the same rules;
 * - the copying uses only built-ins taken before any page script ran (intrinsics.ts,
 *   realms.ts), and reads arguments by index, so page code that replaces
 *   `Array.prototype.slice`, `map`, `window.Array` or `structuredClone` later changes
 *   nothing that crosses.
 */
import { apply, defineProperty, freeze, functionSource, isArray, isArrayBuffer, isDate, isError, isInstance, isMap, isRegExp, isSet, isView, keys, mapGet, mapHas, mapSet, SafeMap } from './intrinsics.js';
import { isolated, main, type AnyFunction, type Realm } from './realms.js';

/** What crosses by the target realm's structuredClone: the kinds Electron also clones rather than copies field by field. */
function isCloned(object: object): boolean {
  return isView(object) || isArrayBuffer(object) || isDate(object) || isRegExp(object) || isMap(object) || isSet(object) || isError(object);
}

/** An own data property, as a copy's properties are: defining it runs no setter the page put on a prototype. */
function defineValue(target: object, key: PropertyKey, value: unknown): void {
  defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Copies `value` from realm `from` into realm `to` by the rules above. */
export function crossRealm(value: unknown, from: Realm, to: Realm, seen: Map<object, unknown> = new SafeMap()): unknown {
  switch (typeof value) {
    case 'undefined':
    case 'boolean':
    case 'number':
    case 'string':
    case 'bigint':
      return value;
    case 'symbol':
      throw new TypeError('contextBridge stand-in: a Symbol cannot cross the bridge (Electron would drop it silently)');
    case 'function':
      // Never cached: each crossing makes a new wrapper, as Electron makes a new proxy.
      return wrapFunction(value as AnyFunction, from, to);
    default:
      break;
  }
  if (value === null) return null;
  const object = value as object;
  if (mapHas(seen, object)) return mapGet(seen, object);
  if (isCloned(object)) {
    // Maps and Sets holding functions throw here (DataCloneError): stricter than Electron.
    const copy = to.clone(object);
    mapSet(seen, object, copy);
    return copy;
  }
  // A Promise of either realm, by its prototype chain: a look-alike throws too, which is only stricter.
  if (isInstance(from.Promise, object) || isInstance(to.Promise, object)) {
    throw new TypeError('contextBridge stand-in: a Promise cannot cross the bridge here');
  }
  if (isArray(object)) {
    const source = object as unknown[];
    const out = new to.Array<unknown>();
    mapSet(seen, object, out);
    for (let i = 0; i < source.length; i++) defineValue(out, i, crossRealm(source[i], from, to, seen));
    return freeze(out);
  }
  // Everything else, class instances included, arrives as a plain object of the target realm.
  const out = new to.Object() as Record<string, unknown>;
  mapSet(seen, object, out);
  const names = keys(object);
  for (let i = 0; i < names.length; i++) {
    const key = names[i]!;
    defineValue(out, key, crossRealm((object as Record<string, unknown>)[key], from, to, seen));
  }
  return freeze(out);
}

/** Each argument copied on its own, read by index (an `arguments` object or an array, never iterated). */
function crossArguments(args: ArrayLike<unknown>, from: Realm, to: Realm): unknown[] {
  const out: unknown[] = [];
  for (let i = 0; i < args.length; i++) defineValue(out, i, crossRealm(args[i], from, to));
  return out;
}

function wrapFunction(fn: AnyFunction, from: Realm, to: Realm): AnyFunction {
  return to.wrap((args) => {
    const inner = crossArguments(args, to, from);
    let result: unknown;
    try {
      result = apply(fn, undefined, inner);
    } catch (error) {
      throw crossRealm(error, from, to);
    }
    return crossRealm(result, from, to);
  });
}

/** `contextBridge` as the preload sees it: `executeInMainWorld`, nothing else. */
export const contextBridge = Object.freeze({
  /** Recompiles `func` in the main realm from its source and calls it with `args` copied there; returns its result copied back. */
  executeInMainWorld(script: { func: AnyFunction; args?: unknown[] }): unknown {
    const { func, args = [] } = script;
    if (typeof func !== 'function') throw new TypeError('executeInMainWorld: func must be a function');
    if (!isArray(args)) throw new TypeError('executeInMainWorld: args must be an array');
    const compiled = main.evaluate(functionSource(func)) as AnyFunction;
    const copied = crossArguments(args, isolated, main);
    let result: unknown;
    try {
      result = apply(compiled, undefined, copied);
    } catch (error) {
      throw crossRealm(error, main, isolated);
    }
    return crossRealm(result, main, isolated);
  },
});
