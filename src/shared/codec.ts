/**
 * Values ⇄ frames, one encoder and one decoder per connection (msgpackr's
 * sequential records are per-stream state, bounded by record-table.ts). A
 * top-level binary value (any TypedArray, DataView, ArrayBuffer, Buffer) travels
 * as its raw bytes in a binary frame; everything else is one msgpackr value in a
 * VALUE frame, checked by value-scan.ts where msgpackr is looser than PROTOCOL.md.
 *
 * Runs in Node and in the page: no Node or DOM imports.
 */
import { Packr, RESET_BUFFER_MODE, REUSE_BUFFER_MODE, Unpackr } from 'msgpackr';
import { DataSocketError, ErrorCode } from './errors.js';
import './extensions.js';
import { FRAME_HEADER_BYTES, FrameKind, MAX_NESTING, PREFIX_BODY_BYTES, RECORD_SLOTS } from './protocol.js';
import { ReceivedRecords, SentRecords } from './record-table.js';
import { scanValue } from './value-scan.js';
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

/** Slot states for scanning a body: scratch, as encoding and decoding run one value at a time. */
const encodeSlots = new Int32Array(RECORD_SLOTS);
const decodeSlots = new Int32Array(RECORD_SLOTS);

/**
 * Turns values into frames. Throws, having written nothing:
 * ERR_DATASOCKET_UNSERIALIZABLE (a function or Symbol inside, or nesting deeper
 * than MAX_NESTING), ERR_DATASOCKET_FRAME_TOO_LARGE, ERR_DATASOCKET_BUFFER_FULL.
 */
export class ValueEncoder {
  private _records = new SentRecords();
  private _packr = packrFor(this._records);
  private _packing = false;

  /**
   * Encodes `value` as one frame appended to `writer`; returns the frame's size in bytes.
   * With a `prefix` kind (REQUEST, REPLY, FAILURE), that frame for request `id` goes right
   * before it, and the value is not counted as a message. Nothing is appended on a throw.
   */
  encode(value: unknown, writer: FrameWriter, limits: EncodeLimits, prefix = -1, id = 0): number {
    let kind: number = FrameKind.VALUE;
    let source: Uint8Array;
    let start = 0;
    let end: number;
    if (typeof value === 'object' && value !== null && (kind = binaryKind(value)) !== -1) {
      source = bytesOf(value, kind);
      end = source.length;
    } else {
      kind = FrameKind.VALUE;
      if (this._packing) {
        // msgpackr would pack it inside the value being packed, on the same record table.
        throw new DataSocketError(ErrorCode.UNSERIALIZABLE, 'send() was called on this socket while it was encoding a value (from a getter or toJSON)');
      }
      let packed: Uint8Array & { start?: number; end?: number };
      this._packing = true;
      this._records.startFrame();
      try {
        // Packed into msgpackr's own buffer, at the same place every time: the bytes are
        // copied into the frame at once, so nothing is allocated per value.
        packed = this._packr.pack(value, REUSE_BUFFER_MODE | RESET_BUFFER_MODE);
      } catch (error) {
        this._reset();
        if (error instanceof DataSocketError) throw error;
        throw new DataSocketError(ErrorCode.UNSERIALIZABLE, `the value cannot be sent: ${(error as Error)?.message ?? String(error)}`, {
          cause: error,
        });
      } finally {
        this._packing = false;
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
      // Only a body longer than MAX_NESTING bytes can nest deeper than that.
      if (end - start > MAX_NESTING) {
        this._records.peerSlots(encodeSlots);
        const problem = scanValue(source, start, end, encodeSlots);
        if (problem !== null) {
          this._reset();
          throw new DataSocketError(ErrorCode.UNSERIALIZABLE, `the value cannot be sent: ${problem}`);
        }
      }
    }
    const length = end - start;
    const total = FRAME_HEADER_BYTES + length + (prefix === -1 ? 0 : FRAME_HEADER_BYTES + PREFIX_BODY_BYTES);
    if (length > limits.maxFrameBytes || total > limits.budget) {
      // The packer may have defined record structures the peer will never see.
      if (kind === FrameKind.VALUE) this._reset();
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
    if (prefix !== -1) writer.appendPrefix(prefix, id);
    writer.append(kind, source, start, end);
    if (prefix !== -1) writer.pendingCount--;
    if (kind === FrameKind.VALUE) {
      this._records.commit();
      // msgpackr keeps its largest buffer for reuse; once a big value is copied out, let it go.
      if (length > RELEASE_BUFFER_BYTES) this._packr.useBuffer(new Uint8Array(8192));
    }
    return total;
  }

  // A refused value may leave msgpackr's record table ahead of what the peer has
  // seen. A fresh table redefines every structure inline before using it (an encoder
  // never references a slot it did not write), and the peer's decoder takes each
  // definition as it comes, so the stream stays in step.
  private _reset(): void {
    this._records = new SentRecords();
    this._packr = packrFor(this._records);
  }
}

function packrFor(records: SentRecords): Packr {
  const packr = new Packr(codecOptions());
  // Read by msgpackr at the start of every pack.
  (packr as unknown as { structures: unknown }).structures = records.structures;
  return packr;
}

/**
 * One Unpackr for every connection: msgpackr keeps the Unpackr it last ran in
 * module state, so it must not be a connection's. Each connection's record table
 * is lent to it only while that connection's frame is decoded. `copyBuffers`:
 * a msgpack bin is copied out of the body, so it arrives as a Uint8Array of its own.
 */
const UNPACKR = new Unpackr({ ...codecOptions(), copyBuffers: true });
const IDLE_TABLE = new ReceivedRecords().structures;
const NEUTRAL_BODY = Uint8Array.of(0xc0);

function lend(structures: unknown): void {
  (UNPACKR as unknown as { structures: unknown }).structures = structures;
}
lend(IDLE_TABLE);

let releaseScheduled = false;

/**
 * msgpackr keeps, in module state, a view of the last body it decoded and the
 * strings it extracted from it: once the frames of this turn are decoded, a
 * one-byte body takes their place, so that nothing of a connection (a read buffer,
 * a 64 MiB body) stays reachable after its values were delivered.
 */
function scheduleRelease(): void {
  if (releaseScheduled) return;
  releaseScheduled = true;
  queueMicrotask(release);
}

function release(): void {
  releaseScheduled = false;
  UNPACKR.unpack(NEUTRAL_BODY);
}

/** Turns frames back into values. Throws ERR_DATASOCKET_PROTOCOL on bytes that are not a valid value. */
export class ValueDecoder {
  private readonly _records = new ReceivedRecords();

  /** Decodes the frame body `source[start..end)` of `kind`; `owned` if `source` is exactly that body and fresh. */
  decode(kind: number, source: Uint8Array, start: number, end: number, owned: boolean): unknown {
    if (kind === FrameKind.VALUE) return this._decodeValue(source, start, end);
    const make = MAKE_OF_KIND[kind];
    if (make === undefined) throw new DataSocketError(ErrorCode.PROTOCOL, `frame kind ${kind} carries no value`);
    // Binary values get their own, exactly sized, aligned buffer.
    if (owned) return make(source);
    const bytes = new Uint8Array(end - start);
    bytes.set(source.subarray(start, end));
    return make(bytes);
  }

  private _decodeValue(source: Uint8Array, start: number, end: number): unknown {
    const length = end - start;
    // A plain Uint8Array (not a Node Buffer), so that the bins msgpackr copies out of it are Uint8Arrays too.
    const body = new Uint8Array(source.buffer, source.byteOffset + start, length);
    const records = this._records;
    let scanned: Int32Array | null = null;
    // Only a body longer than MAX_NESTING bytes can nest deeper or hold a single-use
    // key list; only one with a 0xc1 byte can hold 0xc1 as a value. The others need no scan.
    if (length > MAX_NESTING || body.indexOf(0xc1) !== -1) {
      records.countKeys(decodeSlots);
      const problem = scanValue(body, 0, length, decodeSlots);
      if (problem !== null) throw new DataSocketError(ErrorCode.PROTOCOL, `the peer sent a value that breaks the protocol: ${problem}`);
      scanned = decodeSlots;
    }
    let value: unknown;
    records.startFrame();
    lend(records.structures);
    try {
      value = UNPACKR.unpack(body);
    } catch (error) {
      if (error instanceof DataSocketError) throw error;
      throw new DataSocketError(ErrorCode.PROTOCOL, `the peer sent a value that cannot be decoded: ${(error as Error)?.message ?? String(error)}`, {
        cause: error,
      });
    } finally {
      lend(IDLE_TABLE);
      scheduleRelease();
    }
    records.endFrame(scanned);
    return value;
  }
}
