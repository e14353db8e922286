/**
 * The CLI's text form of values: one JSON document per value, with `$` markers
 * for what JSON cannot say (binary, BigInt, Map, Set, Date, RegExp, Error,
 * undefined, NaN and ±Infinity, cycles). Printing and reading use the same
 * markers, so a printed line sent back in arrives as the value it describes.
 */
import { ERROR_CLASSES } from '../../shared/extensions.js';

/** The binary types a `$binary` marker can name, with their element size in bytes. */
const BINARY_TYPES: Readonly<Record<string, number>> = {
  Uint8Array: 1,
  ArrayBuffer: 1,
  DataView: 1,
  Int8Array: 1,
  Uint8ClampedArray: 1,
  Int16Array: 2,
  Uint16Array: 2,
  Int32Array: 4,
  Uint32Array: 4,
  Float32Array: 4,
  Float64Array: 8,
  BigInt64Array: 8,
  BigUint64Array: 8,
};

/** Every key that makes an object a marker; a plain object holding one is printed inside `$object`. */
const MARKER_KEYS = new Set(['$binary', '$bigint', '$map', '$set', '$date', '$regexp', '$error', '$undefined', '$number', '$circular', '$object']);


const SPECIAL_NUMBERS = new Set(['NaN', 'Infinity', '-Infinity', '-0']);
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const toStringTag = Object.prototype.toString;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/**
 * Prints a value as one line of JSON, with markers for what JSON cannot hold.
 * A reference back to an enclosing object prints as `{"$circular":"<JSON pointer>"}`
 * to where that object is printed; objects shared without a cycle are printed in full each time.
 */
export function stringifyValue(value: unknown): string {
  return JSON.stringify(toJson(value, new Map(), ''));
}

/**
 * Reads a line the way `stringifyValue` prints: JSON, with the markers turned back
 * into values. Text that is not JSON is the string itself. An object that is not
 * exactly a well-formed marker stays the plain object it is.
 */
export function parseValue(text: string): unknown {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return text;
  }
  return fromJson(json, new Map(), '');
}

// `ancestors` maps each object being printed to its pointer, so a cycle becomes a marker, not a stack overflow.
function toJson(value: unknown, ancestors: Map<object, string>, pointer: string): Json {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      // JSON has no -0 (it prints 0): the marker keeps it, as --help promises.
      if (Object.is(value, -0)) return { $number: '-0' };
      return Number.isFinite(value) ? value : { $number: String(value) };
    case 'bigint':
      return { $bigint: value.toString() };
    case 'undefined':
      return { $undefined: true };
    case 'object':
      break;
    default:
      // Functions and Symbols never arrive: send() refuses them. Print them as JSON does in arrays.
      return null;
  }
  if (value === null) return null;
  const seen = ancestors.get(value);
  if (seen !== undefined) return { $circular: seen };
  const tag = toStringTag.call(value).slice(8, -1);
  if (value instanceof ArrayBuffer || ArrayBuffer.isView(value)) {
    const bytes = value instanceof ArrayBuffer ? new Uint8Array(value) : new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
    // A Buffer reports 'Uint8Array' as its tag: it arrives as one, and prints as one.
    return { $binary: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64'), type: tag };
  }
  if (value instanceof Date) return { $date: Number.isNaN(value.getTime()) ? null : value.toISOString() };
  if (value instanceof RegExp) return { $regexp: value.toString() };
  if (value instanceof Error) return { $error: { name: String(value.name), message: String(value.message) } };

  ancestors.set(value, pointer);
  let json: Json;
  if (Array.isArray(value)) {
    // An index loop, not map(): holes print as undefined rather than vanish.
    const items: Json[] = [];
    for (let i = 0; i < value.length; i++) items.push(toJson(value[i], ancestors, `${pointer}/${i}`));
    json = items;
  } else if (value instanceof Map) {
    let i = 0;
    const entries: Json[] = [];
    for (const [k, v] of value) {
      const at = `${pointer}/$map/${i++}`;
      entries.push([toJson(k, ancestors, `${at}/0`), toJson(v, ancestors, `${at}/1`)]);
    }
    json = { $map: entries };
  } else if (value instanceof Set) {
    let i = 0;
    const members: Json[] = [];
    for (const member of value) members.push(toJson(member, ancestors, `${pointer}/$set/${i++}`));
    json = { $set: members };
  } else {
    const keys = Object.keys(value);
    const wrap = keys.some((key) => MARKER_KEYS.has(key));
    const base = wrap ? `${pointer}/$object` : pointer;
    // A null prototype, so a key named __proto__ stays an ordinary key.
    const fields: { [key: string]: Json } = Object.create(null);
    for (const key of keys) fields[key] = toJson((value as Record<string, unknown>)[key], ancestors, `${base}/${escapePointer(key)}`);
    json = wrap ? { $object: fields } : fields;
  }
  ancestors.delete(value);
  return json;
}

// `ancestors` maps the pointer of each object being rebuilt to it, for `$circular`.
function fromJson(json: unknown, ancestors: Map<string, object>, pointer: string): unknown {
  if (typeof json !== 'object' || json === null) return json;
  if (Array.isArray(json)) {
    const items: unknown[] = [];
    ancestors.set(pointer, items);
    json.forEach((item, i) => items.push(fromJson(item, ancestors, `${pointer}/${i}`)));
    ancestors.delete(pointer);
    return items;
  }
  const record = json as Record<string, unknown>;
  const keys = Object.keys(record);
  const marker = keys.length === 1 || (keys.length === 2 && keys.includes('type')) ? keys.find((key) => MARKER_KEYS.has(key)) : undefined;
  if (marker !== undefined) {
    const revived = fromMarker(marker, record, keys.length, ancestors, pointer);
    if (revived !== NOT_A_MARKER) return revived;
  }
  return fromFields(record, {}, ancestors, pointer, pointer);
}

const NOT_A_MARKER = Symbol('not a marker');

function fromMarker(marker: string, record: Record<string, unknown>, keyCount: number, ancestors: Map<string, object>, pointer: string): unknown {
  const body = record[marker];
  if (keyCount === 2 && marker !== '$binary') return NOT_A_MARKER;
  switch (marker) {
    case '$binary':
      return fromBinary(body, keyCount === 2 ? record.type : 'Uint8Array');
    case '$bigint':
      return typeof body === 'string' && /^-?\d+$/.test(body) ? BigInt(body) : NOT_A_MARKER;
    case '$number':
      return typeof body === 'string' && SPECIAL_NUMBERS.has(body) ? Number(body) : NOT_A_MARKER;
    case '$undefined':
      return body === true ? undefined : NOT_A_MARKER;
    case '$date': {
      if (body === null) return new Date(NaN);
      const date = typeof body === 'string' ? new Date(body) : null;
      return date !== null && !Number.isNaN(date.getTime()) ? date : NOT_A_MARKER;
    }
    case '$regexp':
      return fromRegExp(body);
    case '$error':
      return fromError(body);
    case '$circular':
      return typeof body === 'string' ? (ancestors.get(body) ?? NOT_A_MARKER) : NOT_A_MARKER;
    case '$map': {
      if (!Array.isArray(body) || !body.every((entry) => Array.isArray(entry) && entry.length === 2)) return NOT_A_MARKER;
      const map = new Map<unknown, unknown>();
      ancestors.set(pointer, map);
      (body as unknown[][]).forEach(([k, v], i) => {
        const at = `${pointer}/$map/${i}`;
        map.set(fromJson(k, ancestors, `${at}/0`), fromJson(v, ancestors, `${at}/1`));
      });
      ancestors.delete(pointer);
      return map;
    }
    case '$set': {
      if (!Array.isArray(body)) return NOT_A_MARKER;
      const set = new Set<unknown>();
      ancestors.set(pointer, set);
      body.forEach((member, i) => set.add(fromJson(member, ancestors, `${pointer}/$set/${i}`)));
      ancestors.delete(pointer);
      return set;
    }
    case '$object':
      if (typeof body !== 'object' || body === null || Array.isArray(body)) return NOT_A_MARKER;
      return fromFields(body as Record<string, unknown>, {}, ancestors, pointer, `${pointer}/$object`);
    default:
      return NOT_A_MARKER;
  }
}

// `pointer` is where the object is (what `$circular` names); `base` is where its fields are printed.
function fromFields(record: Record<string, unknown>, target: Record<string, unknown>, ancestors: Map<string, object>, pointer: string, base: string): object {
  ancestors.set(pointer, target);
  for (const key of Object.keys(record)) {
    const value = fromJson(record[key], ancestors, `${base}/${escapePointer(key)}`);
    // defineProperty, not assignment: a key named __proto__ must stay data, never become the prototype.
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  }
  ancestors.delete(pointer);
  return target;
}

function fromBinary(body: unknown, type: unknown): unknown {
  if (typeof body !== 'string' || !BASE64.test(body) || typeof type !== 'string') return NOT_A_MARKER;
  const size = BINARY_TYPES[type];
  if (size === undefined) return NOT_A_MARKER;
  const decoded = Buffer.from(body, 'base64');
  if (decoded.length % size !== 0) return NOT_A_MARKER;
  // A fresh, exactly sized buffer: Buffer.from may hand out a slice of a shared pool at any offset.
  const buffer = new ArrayBuffer(decoded.length);
  new Uint8Array(buffer).set(decoded);
  switch (type) {
    case 'ArrayBuffer':
      return buffer;
    case 'DataView':
      return new DataView(buffer);
    default:
      return new (globalThis as unknown as Record<string, new (buffer: ArrayBuffer) => ArrayBufferView>)[type]!(buffer);
  }
}

function fromRegExp(body: unknown): unknown {
  if (typeof body !== 'string' || !body.startsWith('/')) return NOT_A_MARKER;
  const end = body.lastIndexOf('/');
  if (end === 0) return NOT_A_MARKER;
  try {
    return new RegExp(body.slice(1, end), body.slice(end + 1));
  } catch {
    return NOT_A_MARKER;
  }
}

function fromError(body: unknown): unknown {
  if (typeof body !== 'object' || body === null) return NOT_A_MARKER;
  const { name, message } = body as Record<string, unknown>;
  if (typeof name !== 'string' || typeof message !== 'string' || Object.keys(body).length !== 2) return NOT_A_MARKER;
  const Type = Object.hasOwn(ERROR_CLASSES, name) ? ERROR_CLASSES[name]! : Error;
  const error = new Type(message);
  if (error.name !== name) error.name = name;
  return error;
}

// RFC 6901: '~' and '/' are escaped so any key can be part of a pointer.
function escapePointer(key: string): string {
  return key.replaceAll('~', '~0').replaceAll('/', '~1');
}
