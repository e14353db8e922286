/**
 * What each msgpack extension type of a VALUE body decodes to (PROTOCOL.md §5.4),
 * decided here for every type msgpackr knows. msgpackr keeps its extension
 * readers in module state, so these apply to every decoder of this msgpackr
 * copy; each is stricter than msgpackr's own, never looser.
 *
 * | type | reader |
 * |---|---|
 * | 0x00 undefined | ours: only as `d4 00 xx` |
 * | 0x42 BigInt, 0x74 typed arrays, 0xff Date | msgpackr's (self-contained data) |
 * | 0x62 bundled strings | refused |
 * | 0x65 Error, 0x73 Set, 0x78 RegExp | ours: prefixes, only as `d4 <type> xx`, and the next value must have their shape |
 * | 0x69 id, 0x70 pointer | msgpackr's (they need its reader state) |
 * | 0x72 record | built into msgpackr's reader (see record-table.ts) |
 *
 * Any other type is unknown to msgpackr: a protocol error.
 *
 * Runs in Node and in the page: no Node or DOM imports.
 */
import { addExtension } from 'msgpackr';
import { DataSocketError, ErrorCode } from './errors.js';
import { ExtType, hexByte } from './protocol.js';

/** The Error classes a value may be rebuilt as, by name (own properties only). */
export const ERROR_CLASSES: Readonly<Record<string, ErrorConstructor>> = Object.freeze({
  __proto__: null,
  Error,
  EvalError,
  RangeError,
  ReferenceError,
  SyntaxError,
  TypeError,
  URIError,
}) as unknown as Record<string, ErrorConstructor>;

function refuse(message: string): never {
  throw new DataSocketError(ErrorCode.PROTOCOL, message);
}

// msgpackr rebuilds an Error ([name, message, cause, errors?]) by looking its name up
// on a plain object, so a name like 'valueOf' or '__lookupGetter__' reaches
// Object.prototype. This reader takes only the standard classes by name and makes
// anything else a plain Error with that name.
function readError(data: unknown): Error {
  if (!Array.isArray(data)) refuse('an Error (extension 0x65) must be followed by an array');
  const [name, message, cause, errors] = data as unknown[];
  const text = typeof message === 'string' ? message : String(message ?? '');
  const options = cause === undefined ? undefined : { cause };
  if (name === 'AggregateError' && typeof AggregateError === 'function') {
    return new AggregateError(Array.isArray(errors) ? errors : [], text, options);
  }
  const Class = typeof name === 'string' && Object.hasOwn(ERROR_CLASSES, name) ? ERROR_CLASSES[name]! : Error;
  const error = new Class(text, options);
  if (Class === Error && typeof name === 'string' && name !== 'Error') error.name = name;
  return error;
}

// msgpackr's Set reader takes any iterable (a string becomes a Set of its characters).
function readSet(members: unknown): Set<unknown> {
  if (!Array.isArray(members)) refuse('a Set (extension 0x73) must be followed by an array');
  return new Set(members);
}

function readRegExp(data: unknown): RegExp {
  if (!Array.isArray(data) || data.length !== 2 || typeof data[0] !== 'string' || typeof data[1] !== 'string') {
    refuse('a RegExp (extension 0x78) must be followed by [source, flags]');
  }
  return new RegExp(data[0] as string, data[1] as string);
}

/**
 * A prefix extension: msgpackr hands `read` the value after `d4 <type> xx`; any
 * other form of the type calls the function itself, which refuses it.
 */
function prefix(type: number, read: (next: unknown) => unknown) {
  const reader = (): never => refuse(`extension ${hexByte(type)} is a prefix, written d4 ${type.toString(16).padStart(2, '0')} 00 before its value`);
  return Object.assign(reader, { type, read });
}

// `noBuffer`: msgpackr calls it with no data for `d4 00 xx`, with the data for any other form.
const readUndefined = Object.assign(
  (data?: Uint8Array): undefined => {
    if (data !== undefined) refuse('undefined (extension 0x00) is written d4 00 00');
    return undefined;
  },
  { type: ExtType.UNDEFINED, noBuffer: true },
);

const refuseBundle = Object.assign(
  (): never => refuse("extension 0x62 (msgpackr's bundled strings) is not part of the protocol"),
  { type: 0x62 },
);

type Extension = Parameters<typeof addExtension>[0];
for (const extension of [readUndefined, refuseBundle, prefix(ExtType.ERROR, readError), prefix(ExtType.SET, readSet), prefix(ExtType.REGEXP, readRegExp)]) {
  addExtension(extension as unknown as Extension);
}
