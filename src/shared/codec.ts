/**
 * Values ⇄ frames, one encoder and one decoder per connection (msgpackr's
 * sequential records are per-stream state). A top-level binary value (any
 * TypedArray, DataView, ArrayBuffer, Buffer) travels as its raw bytes in a
 * binary frame; everything else is one msgpackr value in a VALUE frame.
 *
 * Runs in Node and in the page: no Node or DOM imports.
 */
import { addExtension, C1, Packr, RESET_BUFFER_MODE, REUSE_BUFFER_MODE, Unpackr } from 'msgpackr';
import { DataSocketError, ErrorCode } from './errors.js';
import { FRAME_HEADER_BYTES, FrameKind } from './protocol.js';
import type { FrameWriter } from './frames.js';

function refuseFunction(): never {
  throw new DataSocketError(ErrorCode.UNSERIALIZABLE, 'a function cannot be sent');
}

// msgpackr keeps state on its options objects (structure tables), so every
// instance gets a fresh one.
function codecOptions() {
  return {
    structuredClone: true,
    sequential: true,
    useBigIntExtension: true,
    int64AsType: 'bigint' as const,
    writeFunction: refuseFunction,
  };
}

// msgpackr rebuilds an Error (ext 0x65: [name, message, cause, errors?]) by looking its
// name up on a plain object, so a name like 'valueOf' or '__lookupGetter__' reaches
// Object.prototype and returns one of its functions. This reader, same bytes, takes
// only the standard Error classes and makes anything else a plain Error with that name.
// (msgpackr keeps extensions per process; this one only ever makes decoding stricter.)
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

function readError(data: unknown): Error {
  if (!Array.isArray(data)) throw new TypeError('an Error value must be an array');
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

addExtension({ type: 0x65, read: readError } as unknown as Parameters<typeof addExtension>[0]);

/** Whether msgpackr's marker for the reserved byte 0xc1 is anywhere in `value` (no cycle or depth can trap the walk). */
function holdsReservedMarker(value: unknown): boolean {
  const seen = new Set<unknown>();
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const item = stack.pop();
    if (item === C1) return true;
    if (typeof item !== 'object' || item === null || seen.has(item) || ArrayBuffer.isView(item) || item instanceof ArrayBuffer) continue;
    seen.add(item);
    if (item instanceof Map) {
      for (const [k, v] of item) stack.push(k, v);
    } else if (item instanceof Set) {
      for (const member of item) stack.push(member);
    } else {
      for (const key of Object.keys(item)) stack.push((item as Record<string, unknown>)[key]);
    }
  }
  return false;
}

/** The binary kinds: the type each carries (its toString tag) and how a received, exactly sized buffer becomes one. */
const BINARY_TYPES: readonly (readonly [kind: number, type: string, make: (bytes: Uint8Array) => unknown])[] = [
  [FrameKind.UINT8ARRAY, 'Uint8Array', (bytes) => bytes],
  [FrameKind.ARRAYBUFFER, 'ArrayBuffer', (bytes) => bytes.buffer],
  [FrameKind.INT8ARRAY, 'Int8Array', (bytes) => new Int8Array(bytes.buffer)],
  [FrameKind.UINT8CLAMPEDARRAY, 'Uint8ClampedArray', (bytes) => new Uint8ClampedArray(bytes.buffer)],
  [FrameKind.INT16ARRAY, 'Int16Array', (bytes) => new Int16Array(bytes.buffer)],
  [FrameKind.UINT16ARRAY, 'Uint16Array', (bytes) => new Uint16Array(bytes.buffer)],
  [FrameKind.INT32ARRAY, 'Int32Array', (bytes) => new Int32Array(bytes.buffer)],
  [FrameKind.UINT32ARRAY, 'Uint32Array', (bytes) => new Uint32Array(bytes.buffer)],
  [FrameKind.FLOAT32ARRAY, 'Float32Array', (bytes) => new Float32Array(bytes.buffer)],
  [FrameKind.FLOAT64ARRAY, 'Float64Array', (bytes) => new Float64Array(bytes.buffer)],
  [FrameKind.BIGINT64ARRAY, 'BigInt64Array', (bytes) => new BigInt64Array(bytes.buffer)],
  [FrameKind.BIGUINT64ARRAY, 'BigUint64Array', (bytes) => new BigUint64Array(bytes.buffer)],
  [FrameKind.DATAVIEW, 'DataView', (bytes) => new DataView(bytes.buffer)],
];
const KIND_OF_TAG: Readonly<Record<string, number>> = Object.fromEntries(BINARY_TYPES.map(([kind, type]) => [`[object ${type}]`, kind]));
const MAKE_OF_KIND: readonly ((bytes: Uint8Array) => unknown)[] = BINARY_TYPES.reduce<((bytes: Uint8Array) => unknown)[]>((all, [kind, , make]) => {
  all[kind] = make;
  return all;
}, []);

const toStringTag = Object.prototype.toString;
const RELEASE_BUFFER_BYTES = 1024 * 1024;

/** The binary frame kind for `value`, or -1 if it goes through msgpackr. Works across realms. */
function binaryKind(value: object): number {
  const c = (value as { constructor?: unknown }).constructor;
  if (c === Object || c === Array) return -1;
  const tag = toStringTag.call(value);
  if (tag === '[object SharedArrayBuffer]') {
    // Sharing memory cannot cross processes; silently copying it would change what it means.
    throw new DataSocketError(ErrorCode.UNSERIALIZABLE, 'a SharedArrayBuffer cannot be sent; send a copy (new Uint8Array(shared).slice())');
  }
  return KIND_OF_TAG[tag] ?? -1;
}

function bytesOf(value: object, kind: number): Uint8Array {
  if (kind === FrameKind.UINT8ARRAY) return value as Uint8Array;
  if (kind === FrameKind.ARRAYBUFFER) return new Uint8Array(value as ArrayBuffer);
  const view = value as ArrayBufferView;
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

/** Limits a send must stay within. */
export interface EncodeLimits {
  maxFrameBytes: number;
  /** Bytes that may still be queued before `maxBufferedBytes` is passed. */
  budget: number;
}

/**
 * Turns values into frames. Throws, having written nothing:
 * ERR_DATASOCKET_UNSERIALIZABLE (a function or Symbol inside), ERR_DATASOCKET_FRAME_TOO_LARGE,
 * ERR_DATASOCKET_BUFFER_FULL.
 */
export class ValueEncoder {
  #packr = new Packr(codecOptions());

  /** Encodes `value` as one frame appended to `writer`; returns the frame's size in bytes. */
  encode(value: unknown, writer: FrameWriter, limits: EncodeLimits): number {
    let kind: number = FrameKind.VALUE;
    let source: Uint8Array;
    let start = 0;
    let end: number;
    if (typeof value === 'object' && value !== null && (kind = binaryKind(value)) !== -1) {
      source = bytesOf(value, kind);
      end = source.length;
    } else {
      kind = FrameKind.VALUE;
      let packed: Uint8Array & { start?: number; end?: number };
      try {
        // Packed into msgpackr's own buffer, at the same place every time: the bytes are
        // copied into the frame at once, so nothing is allocated per value.
        packed = this.#packr.pack(value, REUSE_BUFFER_MODE | RESET_BUFFER_MODE);
      } catch (error) {
        this.#reset();
        if (error instanceof DataSocketError) throw error;
        throw new DataSocketError(ErrorCode.UNSERIALIZABLE, `the value cannot be sent: ${(error as Error)?.message ?? String(error)}`, {
          cause: error,
        });
      }
      source = packed;
      // Values with shared references come back as their own buffer; the others as the whole
      // packing buffer with the value's range in start/end.
      if (typeof packed.start === 'number' && typeof packed.end === 'number') {
        start = packed.start;
        end = packed.end;
      } else {
        end = packed.length;
      }
    }
    const length = end - start;
    const total = FRAME_HEADER_BYTES + length;
    if (length > limits.maxFrameBytes || total > limits.budget) {
      // The packer may have defined record structures the peer will never see.
      if (kind === FrameKind.VALUE) this.#reset();
      if (length > limits.maxFrameBytes) {
        throw new DataSocketError(
          ErrorCode.FRAME_TOO_LARGE,
          `the value takes ${length} bytes, above maxFrameBytes (${limits.maxFrameBytes}); nothing was sent`,
        );
      }
      throw new DataSocketError(
        ErrorCode.BUFFER_FULL,
        `queuing ${total} more bytes would pass maxBufferedBytes; nothing was sent (wait for 'drain' or 'sent')`,
      );
    }
    writer.append(kind, source, start, end);
    // msgpackr keeps its largest buffer for reuse; once a big value is copied out, let it go.
    if (kind === FrameKind.VALUE && length > RELEASE_BUFFER_BYTES) this.#packr.useBuffer(new Uint8Array(8192));
    return total;
  }

  // A failed pack may leave msgpackr's record table ahead of what the peer has
  // seen. A fresh packer redefines every structure inline before using it, and
  // the peer's decoder takes each definition as it comes, so the stream stays in step.
  #reset(): void {
    this.#packr = new Packr(codecOptions());
  }
}

/** Turns frames back into values. Throws ERR_DATASOCKET_PROTOCOL on bytes that are not a valid value. */
export class ValueDecoder {
  readonly #unpackr = new Unpackr(codecOptions());

  /** Decodes the frame body `source[start..end)` of `kind`; `owned` if `source` is exactly that body and fresh. */
  decode(kind: number, source: Uint8Array, start: number, end: number, owned: boolean): unknown {
    if (kind === FrameKind.VALUE) {
      const body = source.subarray(start, end);
      let value: unknown;
      try {
        value = this.#unpackr.unpack(body);
      } catch (error) {
        throw new DataSocketError(ErrorCode.PROTOCOL, `the peer sent a value that cannot be decoded: ${(error as Error)?.message ?? String(error)}`, {
          cause: error,
        });
      }
      // 0xc1 is msgpack's never-used byte, which this codec never writes; msgpackr decodes
      // it to an internal marker object. Only a frame holding that byte somewhere is walked.
      if (body.indexOf(0xc1) !== -1 && holdsReservedMarker(value)) {
        throw new DataSocketError(ErrorCode.PROTOCOL, 'the peer sent the reserved msgpack byte 0xc1 as a value');
      }
      return value;
    }
    const make = MAKE_OF_KIND[kind];
    if (make === undefined) throw new DataSocketError(ErrorCode.PROTOCOL, `frame kind ${kind} carries no value`);
    // Binary values get their own, exactly sized, aligned buffer.
    if (owned) return make(source);
    const bytes = new Uint8Array(end - start);
    bytes.set(source.subarray(start, end));
    return make(bytes);
  }
}
