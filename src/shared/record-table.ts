/**
 * The record table (PROTOCOL.md §5.3) on each side of a connection, bounded:
 * what msgpackr's Unpackr and Packr keep between frames as `structures`.
 *
 * Receiving: 64 slots that start empty. msgpackr writes a definition straight
 * into its slot, so every value the table holds carries a tripwire (an `isShared`
 * getter, which msgpackr reads on the value a definition replaces): frames that
 * define nothing cost nothing, and after a frame that did, each new key list is
 * checked and then kept, or dropped when it was single-use. An empty slot holds a
 * placeholder whose reader throws, so a reference to it is a protocol error
 * (msgpackr would otherwise read the byte as the number 64–127).
 *
 * Sending: the 32 slots msgpackr's Packr uses are setters, so each definition is
 * seen as it is written: a single-use key list is made unreferenceable at once,
 * and the table the peer will hold is known for checking the next frames.
 *
 * Runs in Node and in the page: no Node or DOM imports.
 */
import { DataSocketError, ErrorCode } from './errors.js';
import { hexByte, RECORD_KEEP_BYTES, RECORD_SLOTS } from './protocol.js';
import { SLOT_EMPTY, SLOT_SINGLE_USE } from './value-scan.js';

/** A key list as msgpackr keeps it: the keys, and the reader it attaches. */
type Structure = string[] & { highByte?: number };

/** Slots whose value a definition replaced during the frame being decoded (decoding is synchronous, one frame at a time). */
const replaced: number[] = [];

const TRIPWIRES: readonly (() => boolean)[] = Array.from({ length: RECORD_SLOTS }, (_, slot) => () => {
  replaced.push(slot);
  // Not shared: msgpackr then keeps no copy of what it replaces.
  return false;
});

function slotName(slot: number): string {
  return hexByte(0x40 | slot);
}

/** A placeholder for an empty slot: reading a record through it is a protocol error. */
function emptySlot(slot: number, why: string): Structure {
  const placeholder = [] as unknown as Structure;
  const message = `the peer referenced record ${slotName(slot)}, which ${why}`;
  Object.defineProperties(placeholder, {
    read: {
      value: () => {
        throw new DataSocketError(ErrorCode.PROTOCOL, message);
      },
    },
    isShared: { get: TRIPWIRES[slot] },
  });
  return Object.freeze(placeholder);
}

const NEVER_DEFINED = Array.from({ length: RECORD_SLOTS }, (_, slot) => emptySlot(slot, 'was never defined'));
const SINGLE_USE = Array.from({ length: RECORD_SLOTS }, (_, slot) =>
  emptySlot(slot, `was defined with a key list longer than ${RECORD_KEEP_BYTES} bytes, for one object only`),
);

function isPlaceholder(value: Structure, slot: number): boolean {
  return value === NEVER_DEFINED[slot] || value === SINGLE_USE[slot];
}

/** The receiving side's record table of one connection. */
export class ReceivedRecords {
  /** What msgpackr reads and writes as `Unpackr.structures` while this connection's frames are decoded. */
  readonly structures: Structure[];

  constructor() {
    this.structures = NEVER_DEFINED.slice();
    // msgpackr writes two-byte definitions (d5 72) to other indices: on a fixed table, that throws.
    Object.preventExtensions(this.structures);
  }

  /** Call right before a frame is decoded. */
  startFrame(): void {
    // Setting an array's length is a slow path in V8, even to what it already is.
    if (replaced.length !== 0) replaced.length = 0;
  }

  /** Writes each slot's number of keys into `counts`, SLOT_EMPTY for an empty one. */
  countKeys(counts: Int32Array): void {
    for (let slot = 0; slot < RECORD_SLOTS; slot++) {
      const value = this.structures[slot]!;
      counts[slot] = isPlaceholder(value, slot) ? SLOT_EMPTY : value.length;
    }
  }

  /**
   * Call once a frame decoded: checks the key lists it defined and keeps them, or
   * empties the slots whose last definition was single-use (`scanned`, the slot
   * states a scan of the frame left, tells which; a frame that was not scanned
   * is too short to hold one). Throws ERR_DATASOCKET_PROTOCOL.
   */
  endFrame(scanned: Int32Array | null): void {
    if (replaced.length === 0) return;
    for (const slot of replaced) {
      const value = this.structures[slot]!;
      if (isPlaceholder(value, slot)) continue;
      // A d5 72 definition that a later definition of the same frame replaced is not seen
      // here; it only read its own object (a scanned frame refuses every d5 72).
      if (value.highByte !== undefined) {
        throw new DataSocketError(ErrorCode.PROTOCOL, 'the peer sent a two-byte record definition (d5 72), which is not part of version 1');
      }
      if (scanned !== null && scanned[slot] === SLOT_SINGLE_USE) {
        this.structures[slot] = SINGLE_USE[slot]!;
      } else {
        Object.defineProperty(value, 'isShared', { get: TRIPWIRES[slot], configurable: true });
      }
    }
    replaced.length = 0;
  }
}

/** The bytes msgpackr writes for a key list: the array header, then each key as a msgpack string. */
export function keyListBytes(keys: readonly string[]): number {
  const n = keys.length;
  let total = n < 0x10 ? 1 : n < 0x10000 ? 3 : 5;
  for (let i = 0; i < n; i++) {
    const key = keys[i]!;
    let utf8 = 0;
    for (let j = 0; j < key.length; j++) {
      const c = key.charCodeAt(j);
      if (c < 0x80) utf8 += 1;
      else if (c < 0x800) utf8 += 2;
      else if ((c & 0xfc00) === 0xd800 && (key.charCodeAt(j + 1) & 0xfc00) === 0xdc00) {
        utf8 += 4;
        j++;
      } else utf8 += 3; // lone surrogates are written as U+FFFD
    }
    total += (utf8 < 0x20 ? 1 : utf8 < 0x100 ? 2 : utf8 < 0x10000 ? 3 : 5) + utf8;
    if (total > RECORD_KEEP_BYTES) return total;
  }
  return total;
}

/** The slots msgpackr's Packr uses for its own definitions (0x40–0x5f), given the options of codec.ts. */
const SENT_SLOTS = 32;

/** A transition node of msgpackr's Packr: one per key along a shape's path; the shape's own node holds its record id under a symbol. */
type TransitionNode = Record<string | symbol, unknown>;

/**
 * The sending side's record table of one connection: installed as a Packr's
 * `structures`, it sees every definition the Packr writes.
 */
export class SentRecords {
  /** What msgpackr's Packr reads and writes as `structures`. */
  readonly structures: unknown[] & { transitions?: TransitionNode };
  private readonly _written: (string[] | undefined)[] = new Array(SENT_SLOTS);
  /** Definitions written while packing the current frame: slot, then key count or SLOT_EMPTY (single-use). */
  private readonly _pending: number[] = [];
  /** Each slot as the peer holds it after the last frame sent: its number of keys, or SLOT_EMPTY. */
  private readonly _peer = new Int32Array(RECORD_SLOTS).fill(SLOT_EMPTY);

  constructor() {
    const structures: unknown[] = [];
    for (let slot = 0; slot < SENT_SLOTS; slot++) {
      // Not configurable: msgpackr's re-entrant packing resets the table's length, which must fail rather than drop these.
      Object.defineProperty(structures, slot, {
        get: () => this._written[slot],
        set: (keys: string[]) => this._define(slot, keys),
        enumerable: true,
      });
    }
    this.structures = structures;
  }

  /** Call right before packing a frame. */
  startFrame(): void {
    if (this._pending.length !== 0) this._pending.length = 0;
  }

  /** Writes the slots as the peer holds them before the frame being packed. */
  peerSlots(counts: Int32Array): void {
    counts.set(this._peer);
  }

  /** The packed frame is sent: the peer will hold its definitions. */
  commit(): void {
    const pending = this._pending;
    if (pending.length === 0) return;
    for (let i = 0; i < pending.length; i += 2) this._peer[pending[i]!] = pending[i + 1]!;
    pending.length = 0;
  }

  private _define(slot: number, keys: string[]): void {
    this._written[slot] = keys;
    const single = keyListBytes(keys) > RECORD_KEEP_BYTES;
    this._pending.push(slot, single ? SLOT_EMPTY : keys.length);
    if (single) this._forgetShape(slot, keys);
  }

  /**
   * A single-use key list: msgpackr just recorded the shape's slot on its
   * transition node; clearing it makes the next object of that shape a new
   * definition instead of a reference, and dropping the node's copy of the keys
   * makes that definition carry its keys again instead of a pointer to these.
   */
  private _forgetShape(slot: number, keys: readonly string[]): void {
    let node = this.structures.transitions;
    for (const key of keys) node = node?.[key] as TransitionNode | undefined;
    const id = 0x40 + slot;
    const symbol = node && Object.getOwnPropertySymbols(node).find((s) => node[s] === id);
    if (node === undefined || symbol === undefined) throw new Error('msgpackr did not record this record shape where expected');
    node[symbol] = 0;
    node.__keys__ = undefined;
  }
}

