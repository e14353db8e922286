/**
 * Reads the structure of one VALUE body without building anything, and checks
 * the rules of PROTOCOL.md §5.5 that msgpackr does not: nesting depth, the byte
 * 0xc1 as a value, the extension types and forms allowed, what a record key list
 * holds, and which record slots may be referenced. The decoder runs it on the
 * bodies that could break one of those rules (longer than MAX_NESTING, or holding
 * a 0xc1 byte); the encoder on its own output when that is longer than MAX_NESTING.
 *
 * Runs in Node and in the page: no Node or DOM imports.
 */
import { ExtType, hexByte as hex, MAX_NESTING, RECORD_KEEP_BYTES } from './protocol.js';

/** A record slot with no key list: a reference to it is a protocol error. */
export const SLOT_EMPTY = -1;
/** A slot defined in this frame by a single-use key list: a reference to it is a protocol error. */
export const SLOT_SINGLE_USE = -2;

/** For each open container, the values its parent still has to read after it. */
const outer = new Float64Array(MAX_NESTING + 1);

const TRUNCATED = 'the value runs past the end of the frame';

function u16(bytes: Uint8Array, p: number): number {
  return (bytes[p]! << 8) | bytes[p + 1]!;
}

function u32(bytes: Uint8Array, p: number): number {
  return ((bytes[p]! << 24) | (bytes[p + 1]! << 16) | (bytes[p + 2]! << 8) | bytes[p + 3]!) >>> 0;
}

/** By token byte: the size of what follows a fixed-size scalar (floats, ints), 0 for any other token. */
const SCALAR_BYTES = new Uint8Array(256);
for (const [token, size] of [[0xca, 4], [0xcb, 8], [0xcc, 1], [0xcd, 2], [0xce, 4], [0xcf, 8], [0xd0, 1], [0xd1, 2], [0xd2, 4], [0xd3, 8]] as const) {
  SCALAR_BYTES[token] = size;
}
const FIXEXT_BYTES: Readonly<Record<number, number>> = { 0xd4: 1, 0xd5: 2, 0xd6: 4, 0xd7: 8, 0xd8: 16 };

/** Where one extension's data starts and ends, and its type; `fixext1` for the `d4` form. */
interface Ext {
  type: number;
  dataEnd: number;
  fixext1: boolean;
}
const ext: Ext = { type: 0, dataEnd: 0, fixext1: false };

/** Reads the header of the extension whose form byte `b` was just read at `p - 1`; false if it runs past `end`. */
function readExtHeader(b: number, bytes: Uint8Array, p: number, end: number): boolean {
  let length = FIXEXT_BYTES[b];
  let at = p;
  if (length === undefined) {
    const size = b === 0xc7 ? 1 : b === 0xc8 ? 2 : 4;
    if (at + size > end) return false;
    length = size === 1 ? bytes[at]! : size === 2 ? u16(bytes, at) : u32(bytes, at);
    at += size;
  }
  if (at + 1 + length > end) return false;
  ext.type = bytes[at]!;
  ext.dataEnd = at + 1 + length;
  ext.fixext1 = b === 0xd4;
  return true;
}

function isExtForm(b: number): boolean {
  return (b >= 0xc7 && b <= 0xc9) || (b >= 0xd4 && b <= 0xd8);
}

/**
 * Skips one record key at `p`: msgpackr turns strings, numbers, booleans, nil,
 * undefined and BigInts into property names and refuses anything else.
 * Returns where the key ends, -1 if cut short, -2 if it is not such a scalar.
 */
function skipKey(bytes: Uint8Array, p: number, end: number): number {
  const b = bytes[p++]!;
  let next: number;
  if (b < 0x40 || b >= 0xe0 || b === 0xc0 || b === 0xc2 || b === 0xc3) next = p;
  else if (b >= 0xa0 && b < 0xc0) next = p + (b & 0x1f);
  else if (SCALAR_BYTES[b] !== 0) next = p + SCALAR_BYTES[b]!;
  else if (b === 0xd9) next = p + 1 + (p < end ? bytes[p]! : 0);
  else if (b === 0xda) next = p + 2 + (p + 2 <= end ? u16(bytes, p) : 0);
  else if (b === 0xdb) next = p + 4 + (p + 4 <= end ? u32(bytes, p) : 0);
  else if (isExtForm(b)) {
    if (!readExtHeader(b, bytes, p, end)) return -1;
    const undefinedKey = ext.type === ExtType.UNDEFINED && ext.fixext1;
    if (ext.type !== ExtType.BIGINT && !undefinedKey) return -2;
    next = ext.dataEnd;
  } else return -2;
  return next > end ? -1 : next;
}

/** A key list read by {@link readKeyList}: its number of keys, its size in bytes (array header and keys), where it ends. */
interface KeyList {
  count: number;
  bytes: number;
  end: number;
}

/**
 * Key lists of this frame that carry a reference id: msgpackr writes a key list it
 * already wrote in the frame (a shape defined again once its slot was reused) as a
 * pointer to the first one.
 */
const listsById = new Map<number, KeyList>();

/**
 * Reads the key list of a record definition at `p`: a msgpack array of keys,
 * possibly with reference ids (`d6 69 <id>`) before it, or a pointer
 * (`d6 70 <id>`) to such a list earlier in the frame. Returns what breaks the rules otherwise.
 */
function readKeyList(bytes: Uint8Array, p: number, end: number): KeyList | string {
  let ids: number[] | null = null;
  while (p + 6 <= end && bytes[p] === 0xd6 && (bytes[p + 1] === ExtType.ID || bytes[p + 1] === ExtType.POINTER)) {
    const id = u32(bytes, p + 2);
    if (bytes[p + 1] === ExtType.POINTER) {
      const earlier = listsById.get(id);
      if (ids !== null || earlier === undefined) return 'its key list points to something that is not an earlier key list of the frame';
      return { count: earlier.count, bytes: earlier.bytes, end: p + 6 };
    }
    (ids ??= []).push(id);
    p += 6;
  }
  if (p >= end) return TRUNCATED;
  const h = bytes[p]!;
  let count: number;
  let q: number;
  if (h >= 0x90 && h < 0xa0) {
    count = h & 0x0f;
    q = p + 1;
  } else if (h === 0xdc || h === 0xdd) {
    const size = h === 0xdc ? 2 : 4;
    if (p + 1 + size > end) return TRUNCATED;
    count = size === 2 ? u16(bytes, p + 1) : u32(bytes, p + 1);
    q = p + 1 + size;
  } else {
    return 'its key list is not an array';
  }
  if (count > end - q) return TRUNCATED;
  for (let i = 0; i < count; i++) {
    if (q >= end) return TRUNCATED;
    q = skipKey(bytes, q, end);
    if (q === -1) return TRUNCATED;
    if (q === -2) return 'a key is not a string';
  }
  const list = { count, bytes: q - p, end: q };
  if (ids !== null) for (const id of ids) listsById.set(id, list);
  return list;
}

/**
 * Checks the body `bytes[start..end)`. `slots` holds, for each of the 64 record
 * slots, the number of keys of its key list before this frame, or SLOT_EMPTY; it
 * is updated in place to what the frame leaves (SLOT_SINGLE_USE where the slot's
 * last definition in the frame is single-use). Returns null if the body keeps the
 * rules, else which one it breaks.
 */
export function scanValue(bytes: Uint8Array, start: number, end: number, slots: Int32Array): string | null {
  if (listsById.size !== 0) listsById.clear();
  let p = start;
  /** Open containers around the next value. */
  let level = 0;
  /** Values still to read at this level. */
  let remaining = 1;
  for (;;) {
    if (remaining === 0) {
      if (level === 0) return p === end ? null : `${end - p} bytes follow the value`;
      remaining = outer[--level]!;
      continue;
    }
    remaining--;
    if (p >= end) return TRUNCATED;
    const b = bytes[p++]!;
    /** The number of values of a container that starts here; -1 for anything else. */
    let open = -1;
    if (b < 0x40 || b >= 0xe0) continue;
    if (b < 0x80) {
      const keys = slots[b & 0x3f]!;
      if (keys === SLOT_EMPTY) return `record ${hex(b)} is referenced but holds no key list`;
      if (keys === SLOT_SINGLE_USE) return `record ${hex(b)} is referenced, but its key list is longer than ${RECORD_KEEP_BYTES} bytes and was for one object only`;
      open = keys;
    } else if (b < 0x90) {
      open = (b & 0x0f) * 2;
    } else if (b < 0xa0) {
      open = b & 0x0f;
    } else if (b < 0xc0) {
      p += b & 0x1f;
    } else if (b === 0xc0 || b === 0xc2 || b === 0xc3) {
      continue;
    } else if (b === 0xc1) {
      return 'the reserved byte 0xc1 stands where a value should be';
    } else if (SCALAR_BYTES[b] !== 0) {
      p += SCALAR_BYTES[b]!;
    } else if (b >= 0xc4 && b <= 0xc6) {
      // bin 8/16/32
      const size = b === 0xc4 ? 1 : b === 0xc5 ? 2 : 4;
      if (p + size > end) return TRUNCATED;
      p += size + (size === 1 ? bytes[p]! : size === 2 ? u16(bytes, p) : u32(bytes, p));
    } else if (b >= 0xd9 && b <= 0xdb) {
      // str 8/16/32
      const size = b === 0xd9 ? 1 : b === 0xda ? 2 : 4;
      if (p + size > end) return TRUNCATED;
      p += size + (size === 1 ? bytes[p]! : size === 2 ? u16(bytes, p) : u32(bytes, p));
    } else if (b === 0xdc || b === 0xde) {
      if (p + 2 > end) return TRUNCATED;
      open = u16(bytes, p) * (b === 0xde ? 2 : 1);
      p += 2;
    } else if (b === 0xdd || b === 0xdf) {
      if (p + 4 > end) return TRUNCATED;
      open = u32(bytes, p) * (b === 0xdf ? 2 : 1);
      p += 4;
    } else {
      // An extension: fixext 1/2/4/8/16 or ext 8/16/32.
      if (b === 0xd4 && p + 1 < end && bytes[p] === ExtType.RECORD) {
        // A record definition: d4 72 <id>, the key list, then the values.
        const slot = bytes[p + 1]! & 0x3f;
        const list = readKeyList(bytes, p + 2, end);
        if (typeof list === 'string') return `record ${hex(0x40 | slot)}: ${list}`;
        slots[slot] = list.bytes > RECORD_KEEP_BYTES ? SLOT_SINGLE_USE : list.count;
        p = list.end;
        open = list.count;
      } else {
        if (b === 0xd5 && p < end && bytes[p] === ExtType.RECORD) return 'a two-byte record definition (d5 72) is not part of version 1';
        if (!readExtHeader(b, bytes, p, end)) return TRUNCATED;
        p = ext.dataEnd;
        switch (ext.type) {
          case ExtType.BIGINT:
          case ExtType.TYPED_ARRAY:
          case ExtType.DATE:
          case ExtType.POINTER:
            break;
          case ExtType.ID:
            // A prefix: the next value is the one that gets the id.
            remaining++;
            break;
          case ExtType.UNDEFINED:
            if (!ext.fixext1) return 'undefined (extension 0x00) is written d4 00 00';
            break;
          case ExtType.ERROR:
          case ExtType.SET:
          case ExtType.REGEXP:
            if (!ext.fixext1) return `extension ${hex(ext.type)} is a prefix, written d4 ${ext.type.toString(16)} 00`;
            remaining++;
            break;
          default:
            return `extension type ${hex(ext.type)}${isFixedFormRecord(b, ext.type) ? ' in this form' : ''} is not part of the protocol`;
        }
      }
    }
    if (open >= 0) {
      if (level === MAX_NESTING) return `the value nests deeper than ${MAX_NESTING} levels`;
      if (open > end - p) return TRUNCATED;
      if (open > 0) {
        outer[level++] = remaining;
        remaining = open;
      }
    } else if (p > end) {
      return TRUNCATED;
    }
  }
}

function isFixedFormRecord(form: number, type: number): boolean {
  return type === ExtType.RECORD && form !== 0xd4;
}
