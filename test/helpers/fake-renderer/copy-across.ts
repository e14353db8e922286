/**
 * Test plumbing: exact copies between Node and a world, for test code acting as page code.
 */
import { types } from 'node:util';
import type { Globals } from './world.js';

const ERROR_CLASSES = ['Error', 'EvalError', 'RangeError', 'ReferenceError', 'SyntaxError', 'TypeError', 'URIError', 'AggregateError'];

/**
 * Copies `value` into the realm whose globals are `target`, keeping everything a value
 * carries (kinds, views' offsets and shared buffers, an Error's class and name, own
 * enumerable keys with symbols, shared and circular references). With `source`, every
 * object must be of that realm (built on its prototypes), or the copy throws.
 */
export function copyAcross(value: unknown, target: Globals, source: Globals | null, seen = new Map<object, unknown>()): any {
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
