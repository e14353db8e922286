/**
 * The isolated realm's built-ins, taken once when the preload bundle starts: the
 * loader runs the bundle while the page's <head> is parsed, before any page script.
 *
 * Why: the isolated realm is an iframe of the page, so page code can reach it and
 * replace `Array.prototype.map`, `Map.prototype.get` or `Function.prototype.call`
 * there (Electron's isolated world is out of the page's reach). The stand-in's
 * crossing code calls only these copies, never a method it looks up at call time.
 *
 * The brand checks read internal slots, so an object cannot pass one by claiming a
 * `Symbol.toStringTag` or a prototype, and a Proxy never passes one (no trap runs).
 */

export const apply = Reflect.apply;
const getOwnPropertyDescriptor = Object.getOwnPropertyDescriptor;

/** `method` as a plain function taking its `this` first; later changes to `call`/`apply` do not reach it. */
function uncurry<T, A extends unknown[], R>(method: (this: T, ...args: A) => R): (self: T, ...args: A) => R {
  return (self, ...args) => apply(method, self, args);
}

/** The method `name` of `proto`, uncurried. */
export function methodOf(proto: object, name: string): (self: unknown, ...args: unknown[]) => unknown {
  const method: unknown = getOwnPropertyDescriptor(proto, name)?.value;
  if (typeof method !== 'function') throw new Error(`Electron stand-in: no method '${name}' to take`);
  return uncurry(method as (...args: unknown[]) => unknown);
}

/** The getter of `name` on `proto`, uncurried. */
export function getterOf(proto: object, name: string): (self: unknown) => unknown {
  const get = getOwnPropertyDescriptor(proto, name)?.get;
  if (get === undefined) throw new Error(`Electron stand-in: no getter '${name}' to take`);
  return uncurry(get);
}

/** The setter of `name` on `proto`, uncurried. */
export function setterOf(proto: object, name: string): (self: unknown, value: unknown) => void {
  const set = getOwnPropertyDescriptor(proto, name)?.set;
  if (set === undefined) throw new Error(`Electron stand-in: no setter '${name}' to take`);
  return uncurry(set);
}

/** A check that passes when `probe` does not throw: `probe` is a built-in that throws for anything without its internal slot. */
export function branded(probe: (value: object) => unknown): (value: object) => boolean {
  return (value) => {
    try {
      probe(value);
      return true;
    } catch {
      return false;
    }
  };
}

export const defineProperty = Object.defineProperty;
export const freeze = Object.freeze;
export const keys = Object.keys;
export const isArray = Array.isArray;
/** A typed array or a DataView (reads [[ViewedArrayBuffer]]). */
export const isView = ArrayBuffer.isView;
/** The source text of a function, by the untouched `Function.prototype.toString`. */
export const functionSource = uncurry(Function.prototype.toString) as (fn: unknown) => string;
/** `value instanceof C` by the ordinary rule (prototype chain), whatever `C[Symbol.hasInstance]` says now. */
export const isInstance = uncurry(Function.prototype[Symbol.hasInstance]) as (C: unknown, value: unknown) => boolean;

/** A real Map (reads [[MapData]]). */
export const isMap = branded(getterOf(Map.prototype, 'size'));
/** A real Set (reads [[SetData]]). */
export const isSet = branded(getterOf(Set.prototype, 'size'));
/** A real Date (reads [[DateValue]]). */
export const isDate = branded(uncurry(Date.prototype.getTime) as (value: object) => number);
/** A real ArrayBuffer (reads [[ArrayBufferData]]; a SharedArrayBuffer fails it). */
export const isArrayBuffer = branded(getterOf(ArrayBuffer.prototype, 'byteLength'));
const hasRegExpSource = branded(getterOf(RegExp.prototype, 'source'));
const regExpPrototype: object = RegExp.prototype;
/** A real RegExp (reads [[OriginalSource]]; the getter also answers for this realm's RegExp.prototype, which is no RegExp). */
export const isRegExp = (value: object): boolean => value !== regExpPrototype && hasRegExpSource(value);
const errorIsError = (Error as unknown as { isError?: (value: unknown) => boolean }).isError;
if (errorIsError === undefined) throw new Error('Electron stand-in: needs Error.isError (Chromium 134 or later) to tell real errors from look-alikes');
/** A real Error of any realm (reads [[ErrorData]]). */
export const isError: (value: unknown) => boolean = errorIsError;

/** A boxed primitive (`new Number(1)`, `Object('s')`, `Object(1n)`, `Object(Symbol())`, `new Boolean(false)`): each valueOf reads its own internal slot. */
const boxedChecks = [Number.prototype.valueOf, String.prototype.valueOf, Boolean.prototype.valueOf, BigInt.prototype.valueOf, Symbol.prototype.valueOf].map((valueOf) =>
  branded(uncurry(valueOf as (this: unknown) => unknown)),
);
export const isBoxedPrimitive = (value: object): boolean => {
  for (let i = 0; i < boxedChecks.length; i++) if (boxedChecks[i]!(value)) return true;
  return false;
};
const probeKey = {};
const weakMapHas = uncurry(WeakMap.prototype.has) as (map: unknown, key: object) => boolean;
const weakSetHas = uncurry(WeakSet.prototype.has) as (set: unknown, key: object) => boolean;
/** A real WeakMap or WeakSet (reads [[WeakMapData]] / [[WeakSetData]]). */
export const isWeakCollection = (value: object): boolean => branded((v) => weakMapHas(v, probeKey))(value) || branded((v) => weakSetHas(v, probeKey))(value);
/** A real DOMException (its `code` getter reads the platform object's slot). */
export const isDOMException = branded(getterOf(DOMException.prototype, 'code'));
/** `Object.prototype.toString`, untouched: the built-in tag, or what `Symbol.toStringTag` claims. */
export const builtinTag = uncurry(Object.prototype.toString) as (value: unknown) => string;

/** The Map the stand-in keeps its own bookkeeping in, and its methods, untouched. */
export const SafeMap = Map;
export const mapGet = uncurry(Map.prototype.get) as (map: Map<object, unknown>, key: object) => unknown;
export const mapHas = uncurry(Map.prototype.has) as (map: Map<object, unknown>, key: object) => boolean;
export const mapSet = uncurry(Map.prototype.set) as (map: Map<object, unknown>, key: object, value: unknown) => void;
