/**
 * How the stand-in carries port messages over its WebSocket, in both directions.
 *
 * Stricter than Electron: Electron's IPC structured-clones, so a page could slip a
 * Map, a Date, `undefined` or a class instance to main. Here the page's messages may
 * hold only plain objects, arrays, strings, finite numbers, booleans, null and
 * Uint8Array (as base64 under a marker); anything else throws before it leaves the
 * page, so the bridge cannot come to depend on more than the protocol promises.
 * Host → page only, `undefined` is also carried (structured clone would carry it,
 * and the host may leave optional fields undefined).
 *
 * As faithful as structured clone (Chromium's and Electron's, shell/common/v8_util.cc):
 * a Uint8Array that views part of a larger buffer arrives as a view at the same
 * offset into a copy of its WHOLE buffer, so code that reads `.buffer` without
 * `byteOffset`/`byteLength` gets the neighbouring bytes here too.
 *
 * Runs in the harness (Node) and in the page's isolated realm: no Node or DOM imports.
 */

const BYTES = '$bytes';
const UNDEFINED = '$undefined';
/** With BYTES (the whole buffer), for a view that does not span its buffer. */
const OFFSET = '$offset';
const LENGTH = '$length';

/** What a direction allows beyond the strict set. */
export interface WireRules {
  /** Carry `undefined` (host → page only). */
  allowUndefined: boolean;
}

/** Page → host: nothing beyond the strict set. */
export const STRICT: Readonly<WireRules> = Object.freeze({ allowUndefined: false });
/** Host → page: `undefined` too. */
export const HOST_TO_PAGE: Readonly<WireRules> = Object.freeze({ allowUndefined: true });

/** Encodes a message as JSON text; throws a TypeError naming the first thing it refuses. */
export function encodeMessage(message: unknown, rules: Readonly<WireRules> = STRICT): string {
  return JSON.stringify(toJson(message, rules, '$', new Set()));
}

/** Decodes what {@link encodeMessage} made; throws on anything it would not have made. */
export function decodeMessage(text: string, rules: Readonly<WireRules> = STRICT): unknown {
  return fromJson(JSON.parse(text) as unknown, rules, '$');
}

function tagOf(value: object): string {
  return Object.prototype.toString.call(value).slice(8, -1);
}

function isPlainObject(value: object): boolean {
  // Realm-independent: a plain object's prototype is some realm's Object.prototype (whose own prototype is null), or null.
  const proto = Object.getPrototypeOf(value) as object | null;
  return tagOf(value) === 'Object' && (proto === null || Object.getPrototypeOf(proto) === null);
}

function toJson(value: unknown, rules: Readonly<WireRules>, at: string, path: Set<object>): unknown {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`stand-in IPC: ${at} is ${value}, not a finite number`);
      return value;
    case 'undefined':
      if (rules.allowUndefined) return { [UNDEFINED]: 1 };
      throw new TypeError(`stand-in IPC: ${at} is undefined`);
    case 'object':
      break;
    default:
      throw new TypeError(`stand-in IPC: ${at} is a ${typeof value}`);
  }
  if (value === null) return null;
  if (path.has(value)) throw new TypeError(`stand-in IPC: ${at} is circular`);
  // isView reads an internal slot, so an object that only claims the tag is refused below.
  if (ArrayBuffer.isView(value) && tagOf(value) === 'Uint8Array') return bytesToJson(value as Uint8Array);
  path.add(value);
  try {
    if (Array.isArray(value)) {
      const out: unknown[] = [];
      for (let i = 0; i < value.length; i++) {
        if (!(i in value)) throw new TypeError(`stand-in IPC: ${at}[${i}] is a hole`);
        out.push(toJson(value[i], rules, `${at}[${i}]`, path));
      }
      return out;
    }
    if (!isPlainObject(value)) throw new TypeError(`stand-in IPC: ${at} is a ${tagOf(value)}, not a plain object`);
    if (Object.getOwnPropertySymbols(value).length > 0) throw new TypeError(`stand-in IPC: ${at} has Symbol keys`);
    const out: Record<string, unknown> = {};
    for (const key of Object.getOwnPropertyNames(value)) {
      if (key === BYTES || key === UNDEFINED) throw new TypeError(`stand-in IPC: ${at} uses the reserved key '${key}'`);
      const descriptor = Object.getOwnPropertyDescriptor(value, key)!;
      if (!('value' in descriptor)) throw new TypeError(`stand-in IPC: ${at}.${key} is an accessor`);
      if (!descriptor.enumerable) throw new TypeError(`stand-in IPC: ${at}.${key} is not enumerable`);
      Object.defineProperty(out, key, { value: toJson(descriptor.value, rules, `${at}.${key}`, path), enumerable: true, writable: true, configurable: true });
    }
    return out;
  } finally {
    path.delete(value);
  }
}

function fromJson(value: unknown, rules: Readonly<WireRules>, at: string): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((item, i) => fromJson(item, rules, `${at}[${i}]`));
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  if (keys.includes(BYTES)) return bytesFromJson(record, keys, at);
  if (keys.length === 1 && keys[0] === UNDEFINED) {
    if (!rules.allowUndefined) throw new TypeError(`stand-in IPC: ${at} is undefined, not allowed this way`);
    return undefined;
  }
  const out: Record<string, unknown> = {};
  for (const key of keys) {
    // defineProperty, so a '__proto__' key stays an own property as structured clone would keep it.
    Object.defineProperty(out, key, { value: fromJson(record[key], rules, `${at}.${key}`), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** A view as structured clone carries it: its whole buffer, and where it is in it when it does not span it. */
function bytesToJson(view: Uint8Array): Record<string, unknown> {
  const whole = new Uint8Array(view.buffer);
  if (view.byteOffset === 0 && view.byteLength === whole.byteLength) return { [BYTES]: toBase64(view) };
  return { [BYTES]: toBase64(whole), [OFFSET]: view.byteOffset, [LENGTH]: view.length };
}

function bytesFromJson(record: Record<string, unknown>, keys: string[], at: string): Uint8Array {
  const text = record[BYTES];
  if (typeof text !== 'string') throw new TypeError(`stand-in IPC: ${at} has bad bytes`);
  const whole = fromBase64(text);
  if (keys.length === 1) return whole;
  const offset = record[OFFSET];
  const length = record[LENGTH];
  const valid = keys.length === 3 && Number.isSafeInteger(offset) && Number.isSafeInteger(length) && (offset as number) >= 0 && (length as number) >= 0 && (offset as number) + (length as number) <= whole.length;
  if (!valid) throw new TypeError(`stand-in IPC: ${at} has a bad byte range`);
  return new Uint8Array(whole.buffer, offset as number, length as number);
}

const CHUNK = 0x8000;

function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += CHUNK) binary += String.fromCharCode(...bytes.subarray(i, i + CHUNK));
  return btoa(binary);
}

function fromBase64(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
