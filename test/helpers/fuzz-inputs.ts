/**
 * Seeded hostile inputs for test/main/socket/fuzz.test.ts, and the checks of what the
 * code must do with them. Everything here is pure and synchronous: the same
 * (seed, index) always gives the same bytes, in the test process (to print a
 * failing case) and in the child process that runs the loop (see fuzz-runner.ts).
 */
import { DataSocketError, ErrorCode } from '../../src/shared/errors.js';
import { ValueDecoder, ValueEncoder } from '../../src/shared/codec.js';
import { FrameReader, FrameWriter } from '../../src/shared/frames.js';
import { DEFAULTS } from '../../src/shared/options.js';
import { encodeHello, encodeVerdict, FrameKind, HelloFlag, isPrefixKind, LAST_BINARY_KIND, MAGIC, writeFrameHeader } from '../../src/shared/protocol.js';
import { DataSocketCore } from '../../src/shared/socket-core.js';
import { authProof, Handshake } from '../../src/main/socket/handshake.js';
import { concat, hex } from './bytes.js';

export { hex };

// ---------------------------------------------------------------------------
// A small seeded generator (sfc32, seeded through splitmix32).

/** Deterministic random numbers for one fuzz case. */
class Rng {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  constructor(seed: number, stream: number) {
    let s = (seed ^ Math.imul(stream | 0, 0x9e3779b1)) >>> 0;
    const mix = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.#a = mix();
    this.#b = mix();
    this.#c = mix();
    this.#d = mix();
    for (let i = 0; i < 12; i++) this.u32();
  }

  u32(): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0;
    this.#d = (this.#d + 1) | 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) | 0;
    this.#c = (this.#c << 21) | (this.#c >>> 11);
    this.#c = (this.#c + t) | 0;
    return t >>> 0;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return n <= 1 ? 0 : Math.floor((this.u32() / 0x1_0000_0000) * n);
  }

  chance(p: number): boolean {
    return this.u32() / 0x1_0000_0000 < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  /** Picks a key with probability proportional to its weight. */
  weighted<K extends string>(weights: Readonly<Record<K, number>>): K {
    const entries = Object.entries(weights) as [K, number][];
    let r = this.int(entries.reduce((n, [, w]) => n + w, 0));
    for (const [key, weight] of entries) {
      if (r < weight) return key;
      r -= weight;
    }
    return entries[0]![0];
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.u32() & 0xff;
    return out;
  }
}

const SALTS = { handshake: 0x48534b, frames: 0x46524d, socket: 0x534f43, server: 0x535256, session: 0x534553 } as const;

/** The generator of case `index` of kind `kind` for `seed`. */
function caseRng(seed: number, kind: keyof typeof SALTS, index: number): Rng {
  return new Rng(seed ^ SALTS[kind], index);
}

// ---------------------------------------------------------------------------
// Byte helpers.



function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Cut points that split `length` bytes into random chunks, empty ones included. */
function randomCuts(rng: Rng, length: number): number[] {
  const style = rng.weighted({ whole: 15, bytes: 10, few: 50, many: 25 });
  if (style === 'whole') return [];
  if (style === 'bytes') return Array.from({ length: Math.min(length, 4096) }, (_, i) => i + 1);
  const count = style === 'few' ? 1 + rng.int(4) : 5 + rng.int(40);
  const cuts = Array.from({ length: count }, () => rng.int(length + 1));
  return cuts.sort((a, b) => a - b);
}

/** Splits `stream` at `cuts` (offsets, ascending). */
export function split(stream: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  let from = 0;
  for (const cut of cuts) {
    chunks.push(stream.subarray(from, Math.max(from, cut)));
    from = Math.max(from, cut);
  }
  chunks.push(stream.subarray(from));
  return chunks;
}

const INTERESTING_BYTES = [0x00, 0x01, 0x02, 0x03, 0x3f, 0x40, 0x56, 0x5f, 0x60, 0x72, 0x7f, 0x80, 0x89, 0x90, 0xc0, 0xc1, 0xc7, 0xc9, 0xd4, 0xd6, 0xdb, 0xdd, 0xdf, 0xff];
const INTERESTING_U32 = [0, 1, 2, 5, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 0x7fff_ffff, 0x8000_0000, 0xffff_fffe, 0xffff_ffff];

/** Applies 1–4 random byte-level mutations. */
function mutate(rng: Rng, input: Uint8Array): Uint8Array {
  let bytes: Uint8Array = input.slice();
  const count = 1 + rng.int(4);
  for (let m = 0; m < count; m++) {
    const at = rng.int(bytes.length + 1);
    switch (rng.int(8)) {
      case 0:
        if (at < bytes.length) bytes[at]! ^= 1 << rng.int(8);
        break;
      case 1:
        if (at < bytes.length) bytes[at] = rng.pick(INTERESTING_BYTES);
        break;
      case 2:
        bytes = concat([bytes.subarray(0, at), rng.bytes(1 + rng.int(8)), bytes.subarray(at)]);
        break;
      case 3:
        bytes = concat([bytes.subarray(0, at), bytes.subarray(Math.min(bytes.length, at + 1 + rng.int(8)))]);
        break;
      case 4: {
        const end = Math.min(bytes.length, at + 1 + rng.int(16));
        bytes = concat([bytes.subarray(0, end), bytes.subarray(at, end), bytes.subarray(end)]);
        break;
      }
      case 5:
        if (at + 4 <= bytes.length) new DataView(bytes.buffer).setUint32(at, rng.pick(INTERESTING_U32));
        break;
      case 6:
        bytes = bytes.subarray(0, at);
        break;
      default:
        if (at < bytes.length) bytes[at] = rng.u32() & 0xff;
    }
  }
  return bytes;
}

// ---------------------------------------------------------------------------
// The contract: what any input must end in.

/** A broken promise: the code did something a hostile input must never make it do. */
export class FuzzViolation extends Error {
  override name = 'FuzzViolation';
}

function describeThrown(error: unknown): string {
  if (error instanceof Error) return `${error.constructor.name}: ${error.message}`;
  return `${typeof error}: ${String(error)}`;
}

const PLAIN_PROTOTYPES: readonly unknown[] = [Object.prototype, Array.prototype, Map.prototype, Set.prototype, Date.prototype, RegExp.prototype];
const ERROR_PROTOTYPES: readonly unknown[] = [Error, EvalError, RangeError, ReferenceError, SyntaxError, TypeError, URIError, AggregateError].map((c) => c.prototype);
const BINARY_PROTOTYPES: readonly unknown[] = [
  ArrayBuffer, DataView, Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array, Float32Array, Float64Array, BigInt64Array, BigUint64Array,
].map((c) => c.prototype);

/** How this engine defines an Error's own `stack`: a data property (Node 20), or the engine's accessor pair (Node 22). */
const ENGINE_STACK = Object.getOwnPropertyDescriptor(new Error('probe'), 'stack');

/**
 * Where `value` is not plain data of SPEC §3: a function, or an object whose prototype
 * is not a standard one, anywhere in it, own non-enumerable properties (an Error's
 * `cause` and `errors`), Map keys and Set members included; and a nested
 * Uint8Array that is not exactly its own buffer. Empty when all is plain.
 */
export function plainDataProblems(value: unknown, at = 'value', seen = new Set<unknown>()): string[] {
  if (typeof value === 'function') return [`${at} is a function`];
  if (typeof value !== 'object' || value === null || seen.has(value)) return [];
  seen.add(value);
  const proto: unknown = Object.getPrototypeOf(value);
  if (BINARY_PROTOTYPES.includes(proto)) {
    const view = value as ArrayBufferView;
    if (proto === Uint8Array.prototype && at !== 'value' && (view.byteOffset !== 0 || view.buffer.byteLength !== view.byteLength)) {
      return [`${at} is a view of a larger buffer (${view.byteOffset}+${view.byteLength} of ${view.buffer.byteLength})`];
    }
    return [];
  }
  if (!PLAIN_PROTOTYPES.includes(proto) && !ERROR_PROTOTYPES.includes(proto)) {
    return [`${at} has a foreign prototype (${String((proto as { constructor?: { name?: unknown } } | null)?.constructor?.name)})`];
  }
  const children: [string, unknown][] = [];
  if (value instanceof Map) for (const [k, v] of value) children.push([`${at}.<key>`, k], [`${at}.get(…)`, v]);
  if (value instanceof Set) for (const member of value) children.push([`${at}.<member>`, member]);
  for (const key of Reflect.ownKeys(value)) {
    const descriptor = Object.getOwnPropertyDescriptor(value, key)!;
    // Since V8 12 (Node 22) every Error has `stack` as an own accessor of the engine's: that one is plain.
    if (key === 'stack' && ERROR_PROTOTYPES.includes(proto) && descriptor.get !== undefined && descriptor.get === ENGINE_STACK?.get && descriptor.set === ENGINE_STACK?.set) continue;
    if (descriptor.get !== undefined || descriptor.set !== undefined) return [`${at}.${String(key)} is an accessor`];
    children.push([`${at}.${String(key)}`, descriptor.value]);
  }
  return children.flatMap(([p, v]) => plainDataProblems(v, p, seen));
}

/** Checks that `error` is a DataSocketError with one of `codes`; returns its code. */
function expectDataSocketError(error: unknown, codes: readonly string[], where: string): string {
  if (!(error instanceof DataSocketError)) throw new FuzzViolation(`${where} threw a non-DataSocketError: ${describeThrown(error)}`);
  if (typeof error.code !== 'string' || !codes.includes(error.code)) {
    throw new FuzzViolation(`${where} threw a DataSocketError with code ${String(error.code)} (allowed: ${codes.join(', ')}): ${error.message}`);
  }
  return error.code;
}

// ---------------------------------------------------------------------------
// (a) Handshakes.

const TOKEN = 'fuzz tokén';

/** One hostile handshake: a side (role, token, nonce) and everything its peer sends, cut into chunks. */
export interface HandshakeInput {
  readonly role: 'client' | 'listener';
  readonly token: string | undefined;
  readonly nonce: Uint8Array;
  readonly stream: Uint8Array;
  readonly cuts: readonly number[];
  readonly strategy: string;
  /**
   * Known for unmutated streams and for HELLOs with one bad field: 'done', 'pending' or an error code;
   * `rest` for a client that opens; `features` for a side that opens: the PINGS and REQUESTS bits the peer's HELLO set.
   */
  readonly expected?: { readonly outcome: string; readonly rest?: Uint8Array; readonly features?: number };
}

function helloFlags(listener: boolean, token: string | undefined): number {
  return (token !== undefined ? HelloFlag.TOKEN : 0) | (listener ? HelloFlag.LISTENER : 0);
}

/** The flags a HELLO may carry beside TOKEN and LISTENER (PROTOCOL.md §3.1): a peer may set any of them. */
const FEATURE_FLAGS = HelloFlag.PINGS | HelloFlag.REQUESTS;
/** The lowest HELLO flag bit no version-1 peer may set (check 4 of §3.2): bits 4–7. */
const FIRST_RESERVED_FLAG = 0x10;

/** Generates handshake case `index` of `seed`. */
export function handshakeInput(seed: number, index: number): HandshakeInput {
  const rng = caseRng(seed, 'handshake', index);
  const role = rng.chance(0.5) ? 'client' : 'listener';
  const token = rng.chance(0.5) ? TOKEN : undefined;
  const nonce = rng.bytes(16);
  const peerNonce = rng.bytes(16);
  const peerIsListener = role === 'client' ? !rng.chance(0.05) : rng.chance(0.05);
  const peerToken = rng.chance(0.85) ? token : rng.pick([undefined, TOKEN, 'another token']);
  const status = rng.chance(0.8) ? rng.pick([0, 0, 0, 1, 2, 3]) : rng.int(256);
  const trailing = rng.chance(0.3) ? rng.bytes(1 + rng.int(40)) : new Uint8Array(0);
  // Peers of every vintage: with and without PINGS, with and without REQUESTS.
  const features = (rng.chance(0.7) ? HelloFlag.PINGS : 0) | (rng.chance(0.7) ? HelloFlag.REQUESTS : 0);

  const parts = [encodeHello(helloFlags(peerIsListener, peerToken) | features, peerNonce)];
  if (peerToken !== undefined && token !== undefined) parts.push(authProof(peerToken, peerIsListener, peerNonce, nonce));
  if (peerIsListener) parts.push(Uint8Array.of(0x56, status));
  parts.push(trailing);
  const valid = concat(parts);

  const base = { role, token, nonce } as const;
  const strategy = rng.weighted({ valid: 20, mutated: 30, truncated: 10, field: 15, random: 15, magicThenRandom: 5, doubled: 5 });
  let stream: Uint8Array;
  let expected: HandshakeInput['expected'];
  switch (strategy) {
    case 'valid': {
      stream = valid;
      expected = validOutcome(role, token, peerIsListener, peerToken, status, trailing);
      if (expected.outcome === 'done') expected = { ...expected, features };
      break;
    }
    case 'mutated':
      stream = mutate(rng, valid);
      break;
    case 'truncated':
      stream = valid.subarray(0, rng.int(valid.length));
      break;
    case 'field': {
      // One bad HELLO field: the magic is right, so both sides must fail with a protocol error.
      stream = valid.slice();
      const field = rng.pick([4, 5, 6, 7]);
      const good = stream[field]!;
      const bad = field === 6 ? good | (FIRST_RESERVED_FLAG << rng.int(4)) : rng.pick([0, 2, 3, 0x7f, 0xff, rng.u32() & 0xff].filter((b) => b !== good));
      stream[field] = bad;
      expected = { outcome: ErrorCode.PROTOCOL };
      break;
    }
    case 'random':
      stream = rng.bytes(rng.int(80));
      break;
    case 'magicThenRandom':
      stream = concat([MAGIC.subarray(0, 1 + rng.int(4)), rng.bytes(rng.int(60))]);
      break;
    default:
      stream = concat([valid, valid]);
  }
  if (expected === undefined && (stream.length === 0 || stream[0] !== MAGIC[0])) {
    expected = { outcome: stream.length === 0 ? 'pending' : ErrorCode.PROTOCOL };
  }
  return { ...base, stream, cuts: randomCuts(rng, stream.length), strategy, ...(expected ? { expected } : {}) };
}

function validOutcome(
  role: 'client' | 'listener',
  token: string | undefined,
  peerIsListener: boolean,
  peerToken: string | undefined,
  status: number,
  trailing: Uint8Array,
): { outcome: string; rest?: Uint8Array } {
  if (peerIsListener === (role === 'listener')) return { outcome: ErrorCode.PROTOCOL };
  if ((peerToken !== undefined) !== (token !== undefined) || peerToken !== token) return { outcome: ErrorCode.AUTH_FAILED };
  if (role === 'listener') return { outcome: trailing.length > 0 ? ErrorCode.PROTOCOL : 'done' };
  switch (status) {
    case 0:
      return { outcome: 'done', rest: trailing };
    case 1:
      return { outcome: ErrorCode.REJECTED };
    case 2:
      return { outcome: ErrorCode.AUTH_FAILED };
    default:
      return { outcome: ErrorCode.PROTOCOL };
  }
}

/**
 * Feeds a hostile handshake to a real Handshake, chunk by chunk, as dial.ts and
 * listener.ts do (a client stops at its verdict, a listener keeps reading until
 * its acceptor answers), and checks every promise. Returns how it ended.
 */
export function runHandshakeCase(input: HandshakeInput): string {
  const writes: Uint8Array[] = [];
  const listener = input.role === 'listener';
  const handshake = new Handshake(input.role, input.token, (b) => writes.push(b.slice()), input.nonce);
  handshake.start();
  const allowed = listener ? [ErrorCode.PROTOCOL, ErrorCode.AUTH_FAILED] : [ErrorCode.PROTOCOL, ErrorCode.AUTH_FAILED, ErrorCode.REJECTED];
  const chunks = split(input.stream, input.cuts);
  let outcome = 'pending';
  let rest: Uint8Array | undefined;
  for (let i = 0; i < chunks.length; i++) {
    let step;
    try {
      step = handshake.push(chunks[i]!);
    } catch (error) {
      outcome = expectDataSocketError(error, allowed, `the ${input.role} handshake`);
      break;
    }
    if (!step.done) continue;
    if (listener && outcome === 'done') throw new FuzzViolation('the listener handshake reported done twice');
    outcome = 'done';
    if (!listener) {
      rest = concat([step.rest, ...chunks.slice(i + 1)]);
      break;
    }
    if (step.rest.length > 0) throw new FuzzViolation('the listener handshake handed out bytes as frames before its verdict');
  }

  // What it wrote: its HELLO, then at most its proof, then (a listener only) at most one failure verdict.
  // Every DataSocket answers pings and takes requests.
  const hello = encodeHello(helloFlags(listener, input.token) | FEATURE_FLAGS, input.nonce);
  if (writes.length === 0 || !equalBytes(writes[0]!, hello)) throw new FuzzViolation(`start() did not write this side's HELLO: ${hex(writes[0] ?? new Uint8Array(0))}`);
  let w = 1;
  if (input.token !== undefined && writes[w]?.length === 32) {
    const proof = authProof(input.token, listener, input.nonce, input.stream.subarray(8, 24));
    if (!equalBytes(writes[w]!, proof)) throw new FuzzViolation(`wrote a wrong AUTH proof: ${hex(writes[w]!)}`);
    w++;
  }
  let verdict: number | undefined;
  if (listener && writes[w]?.length === 2 && writes[w]![0] === 0x56) verdict = writes[w++]![1];
  if (w !== writes.length) throw new FuzzViolation(`wrote unexpected bytes: ${writes.slice(w).map((b) => hex(b)).join(' | ')}`);
  if (listener) {
    if (outcome === ErrorCode.AUTH_FAILED && verdict !== 2) throw new FuzzViolation(`AUTH_FAILED without verdict 56 02 (verdict ${String(verdict)})`);
    if (outcome === ErrorCode.PROTOCOL && verdict !== 3) {
      const magicBroken = input.stream.subarray(0, 4).some((b, i) => b !== MAGIC[i]);
      if (verdict !== undefined || !magicBroken) throw new FuzzViolation(`PROTOCOL without verdict 56 03 (verdict ${String(verdict)})`);
    }
    if ((outcome === 'done' || outcome === 'pending') && verdict !== undefined) throw new FuzzViolation(`wrote verdict ${verdict} without failing`);
  }

  // A handshake left waiting ends by the caller's timeout, which reads helloReceived to choose
  // between ERR_DATASOCKET_PROTOCOL (no HELLO: not a DataSocket) and ERR_DATASOCKET_TIMEOUT.
  if ((outcome === 'pending' || outcome === 'done') && handshake.helloReceived !== (outcome === 'done' || input.stream.length >= 24)) {
    throw new FuzzViolation(`ended ${outcome} with helloReceived ${handshake.helloReceived} after ${input.stream.length} bytes`);
  }

  if (input.expected) {
    if (outcome !== input.expected.outcome) throw new FuzzViolation(`ended in ${outcome}, expected ${input.expected.outcome}`);
    if (input.expected.rest && (!rest || !equalBytes(rest, input.expected.rest))) {
      throw new FuzzViolation(`handed ${hex(rest ?? new Uint8Array(0))} on as frames, expected ${hex(input.expected.rest)}`);
    }
    const features = input.expected.features;
    if (features !== undefined && (handshake.peerPings !== ((features & HelloFlag.PINGS) !== 0) || handshake.peerRequests !== ((features & HelloFlag.REQUESTS) !== 0))) {
      throw new FuzzViolation(`the peer's HELLO set ${hex(Uint8Array.of(features))} of PINGS and REQUESTS; the handshake read peerPings ${handshake.peerPings}, peerRequests ${handshake.peerRequests}`);
    }
  }
  return outcome;
}

// ---------------------------------------------------------------------------
// (b) Frames: valid values, to mutate and to check round trips.

const DICTIONARY = [
  '__proto__',
  'constructor',
  'prototype',
  'valueOf',
  'toString',
  'hasOwnProperty',
  '__lookupGetter__',
  '__defineGetter__',
  'isPrototypeOf',
  'then',
  'Error',
  'TypeError',
  'AggregateError',
  'length',
  'a',
  '',
  'é',
  '🔑',
  'x'.repeat(40),
  'y'.repeat(300),
];
const SAFE_KEYS = ['a', 'b', 'id', 'name', 'value', 'list', 'é', '🔑', '0', '17', 'constructor', 'toString', 'then', 'k'.repeat(33)];
const TYPED_ARRAYS = [Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array, Float32Array, Float64Array, BigInt64Array, BigUint64Array];
const ERRORS = [Error, TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError];

function randomString(rng: Rng, maxLength: number): string {
  const length = rng.int(maxLength + 1);
  const style = rng.int(4);
  let s = '';
  for (let i = 0; i < length; i++) {
    let cp: number;
    if (style === 0) cp = 0x20 + rng.int(0x5f);
    else if (style === 1) cp = rng.int(0x100);
    else if (style === 2) cp = rng.int(0xd800);
    else cp = rng.chance(0.5) ? 0x1f300 + rng.int(0x300) : 0xe000 + rng.int(0x2000);
    s += String.fromCodePoint(cp);
  }
  return s;
}

function randomNumber(rng: Rng): number {
  switch (rng.int(8)) {
    case 0:
      return rng.int(64);
    case 1:
      return 64 + rng.int(64);
    case 2:
      return rng.pick([255, 256, 65535, 65536, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, -1, -32, -33, -128, -129, -32768, -32769, -(2 ** 31), -(2 ** 31) - 1]);
    case 3:
      return rng.u32() - 0x8000_0000;
    case 4:
      return rng.pick([NaN, Infinity, -Infinity, 0.5, -1.25, Number.MAX_SAFE_INTEGER, Number.MIN_VALUE, Number.MAX_VALUE, 2 ** 53 + 2]);
    case 5:
      return new DataView(rng.bytes(8).buffer).getFloat64(0);
    default:
      return (rng.u32() / 0x1_0000_0000) * 10 ** rng.int(12) * (rng.chance(0.5) ? -1 : 1);
  }
}

function randomBigInt(rng: Rng): bigint {
  switch (rng.int(4)) {
    case 0:
      return BigInt(rng.u32()) - 0x8000_0000n;
    case 1:
      return rng.pick([2n ** 63n - 1n, -(2n ** 63n), 2n ** 63n, 2n ** 64n - 1n, 2n ** 64n, -(2n ** 63n) - 1n]);
    default: {
      let v = 0n;
      const words = 1 + rng.int(rng.chance(0.1) ? 40 : 4);
      for (let i = 0; i < words; i++) v = (v << 32n) | BigInt(rng.u32());
      return rng.chance(0.5) ? -v : v;
    }
  }
}

/** Binary values, sometimes views into the middle of a larger buffer (only the viewed bytes may travel). */
function randomBinary(rng: Rng): ArrayBuffer | ArrayBufferView {
  const which = rng.int(TYPED_ARRAYS.length + 2);
  const byteLength = rng.chance(0.05) ? rng.int(70_000) : rng.int(64);
  if (which === TYPED_ARRAYS.length) return rng.bytes(byteLength).buffer as ArrayBuffer;
  const slack = rng.chance(0.3) ? 8 * (1 + rng.int(4)) : 0;
  const buffer = rng.bytes(byteLength + 2 * slack).buffer as ArrayBuffer;
  if (which === TYPED_ARRAYS.length + 1) return new DataView(buffer, slack, byteLength);
  const Kind = TYPED_ARRAYS[which]!;
  return new Kind(buffer, slack, Math.floor(byteLength / Kind.BYTES_PER_ELEMENT));
}

/** A random value send() accepts and that arrives equal (see sameValue), with shared and circular references now and then. */
function randomValue(rng: Rng, depth = 0, pool: object[] = []): unknown {
  const leaf = depth >= 4 || rng.chance(0.35);
  const kind = leaf ? rng.int(12) : 12 + rng.int(7);
  switch (kind) {
    case 0:
      return null;
    case 1:
      return undefined;
    case 2:
      return rng.chance(0.5);
    case 3:
    case 4:
      return randomNumber(rng);
    case 5:
      return randomBigInt(rng);
    case 6:
    case 7:
      return rng.chance(0.1) ? rng.pick(DICTIONARY) : randomString(rng, rng.chance(0.1) ? 400 : 20);
    case 8:
      return rng.chance(0.1) ? new Date(NaN) : new Date(rng.int(2 ** 31) * (rng.chance(0.3) ? -1000 : 1000) + rng.int(1000));
    case 9:
      return rng.pick([/a+b/gi, /^x$/m, /[\u{1f600}]/u, /(?<y>\d+)/s, new RegExp('')]);
    case 10: {
      const Kind = rng.pick(ERRORS);
      return new Kind(randomString(rng, 12));
    }
    case 11:
      return randomBinary(rng);
    case 12:
    case 13: {
      const object: Record<string, unknown> = {};
      for (let i = rng.int(6); i > 0; i--) object[rng.pick(SAFE_KEYS)] = randomValue(rng, depth + 1, pool);
      if (pool.length > 0 && rng.chance(0.1)) object.shared = rng.pick(pool);
      if (rng.chance(0.03)) object.self = object;
      pool.push(object);
      return object;
    }
    case 14:
    case 15: {
      const array: unknown[] = Array.from({ length: rng.int(rng.chance(0.05) ? 40 : 6) }, () => randomValue(rng, depth + 1, pool));
      if (pool.length > 0 && rng.chance(0.1)) array.push(rng.pick(pool));
      pool.push(array);
      return array;
    }
    case 16: {
      const map = new Map<unknown, unknown>();
      for (let i = rng.int(5); i > 0; i--) map.set(randomValue(rng, depth + 2, pool), randomValue(rng, depth + 1, pool));
      pool.push(map);
      return map;
    }
    default: {
      const set = new Set<unknown>();
      for (let i = rng.int(5); i > 0; i--) set.add(randomValue(rng, depth + 1, pool));
      pool.push(set);
      return set;
    }
  }
}

const tagOf = (v: object): string => Object.prototype.toString.call(v);

function bytesOf(v: ArrayBuffer | ArrayBufferView): Uint8Array {
  return v instanceof ArrayBuffer ? new Uint8Array(v) : new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}

/** Whether `received` is what sending `sent` must deliver (SPEC §3: -0 may arrive as 0). */
function sameValue(sent: unknown, received: unknown, seen = new Map<object, object>()): boolean {
  if (typeof sent !== typeof received) return false;
  if (typeof sent === 'number') return Object.is(sent, received) || (sent === 0 && received === 0);
  if (typeof sent !== 'object' || sent === null || received === null) return sent === received;
  const r = received as object;
  if (seen.get(sent) === r) return true;
  seen.set(sent, r);
  if (tagOf(sent) !== tagOf(r)) return false;
  if (sent instanceof ArrayBuffer || ArrayBuffer.isView(sent)) {
    return Object.getPrototypeOf(sent) === Object.getPrototypeOf(r) && equalBytes(bytesOf(sent), bytesOf(r as ArrayBuffer | ArrayBufferView));
  }
  if (sent instanceof Date) return Object.is((sent as Date).getTime(), (r as Date).getTime());
  if (sent instanceof RegExp) return sent.source === (r as RegExp).source && sent.flags === (r as RegExp).flags;
  if (sent instanceof Error) {
    return Object.getPrototypeOf(sent) === Object.getPrototypeOf(r) && sent.name === (r as Error).name && sent.message === (r as Error).message;
  }
  if (sent instanceof Map) {
    const a = [...sent];
    const b = [...(r as Map<unknown, unknown>)];
    return a.length === b.length && a.every(([k, v], i) => sameValue(k, b[i]![0], seen) && sameValue(v, b[i]![1], seen));
  }
  if (sent instanceof Set) {
    const a = [...sent];
    const b = [...(r as Set<unknown>)];
    return a.length === b.length && a.every((v, i) => sameValue(v, b[i], seen));
  }
  if (Array.isArray(sent)) {
    const b = r as unknown[];
    return sent.length === b.length && sent.every((v: unknown, i) => sameValue(v, b[i], seen));
  }
  if (Object.getPrototypeOf(r) !== Object.prototype) return false;
  const keys = Object.keys(sent);
  const rKeys = Object.keys(r);
  return keys.length === rKeys.length && keys.every((k, i) => k === rKeys[i] && sameValue((sent as Record<string, unknown>)[k], (r as Record<string, unknown>)[k], seen));
}

// ---------------------------------------------------------------------------
// (b) Frames: hostile msgpack.

/** Grows a byte array. */
class ByteSink {
  readonly #parts: Uint8Array[] = [];
  #small: number[] = [];
  length = 0;

  byte(...bytes: number[]): this {
    for (const b of bytes) this.#small.push(b & 0xff);
    this.length += bytes.length;
    return this;
  }

  u16(n: number): this {
    return this.byte(n >>> 8, n);
  }

  u32(n: number): this {
    return this.byte(n >>> 24, n >>> 16, n >>> 8, n);
  }

  raw(bytes: Uint8Array): this {
    this.#flush();
    this.#parts.push(bytes);
    this.length += bytes.length;
    return this;
  }

  done(): Uint8Array {
    this.#flush();
    return concat(this.#parts);
  }

  #flush(): void {
    if (this.#small.length > 0) this.#parts.push(Uint8Array.from(this.#small));
    this.#small = [];
  }
}

const EXT_TYPES = [0x00, 0x42, 0x62, 0x65, 0x69, 0x70, 0x72, 0x73, 0x74, 0x78, 0xff];

/** A length for a header: usually the real one, sometimes a lie, sometimes huge. */
function announced(rng: Rng, real: number): number {
  return rng.chance(0.8) ? real : rng.pick([real + 1, Math.max(0, real - 1), 0xffff, 0xffff_ffff, 0x7fff_ffff, rng.u32()]);
}

function msgpackString(rng: Rng, out: ByteSink): void {
  const content = rng.chance(0.3) ? new TextEncoder().encode(rng.pick(DICTIONARY)) : rng.chance(0.5) ? rng.bytes(rng.int(300)) : new TextEncoder().encode(randomString(rng, 80));
  const n = announced(rng, content.length);
  if (n < 32 && rng.chance(0.7)) out.byte(0xa0 | n);
  else if (n < 0x100 && rng.chance(0.7)) out.byte(0xd9, n);
  else if (n < 0x10000 && rng.chance(0.7)) out.byte(0xda).u16(n);
  else out.byte(0xdb).u32(n);
  out.raw(content);
}

/** Writes one hostile msgpack value: mostly well-formed structure with lies, odd extensions and deep nesting. */
function hostileValue(rng: Rng, out: ByteSink, depth: number): void {
  if (out.length > 200_000) {
    out.byte(0xc0);
    return;
  }
  const leaf = depth > 5;
  const choice = leaf
    ? rng.weighted({ scalar: 6, string: 3, recordRef: 1 })
    : rng.weighted({
        scalar: 10,
        string: 8,
        bin: 3,
        array: 8,
        map: 5,
        hugeContainer: 3,
        ext: 10,
        recordDef: 8,
        recordRef: 4,
        recordDef2: 1,
        errorExt: 4,
        prefixExt: 4,
        ids: 4,
        typedExt: 4,
        timestamp: 2,
        bigintExt: 2,
        deep: 2,
        nearLimit: 2,
        bigKeyList: 2,
        keyListPointer: 1,
        bundle: 1,
        reserved: 1,
      });
  switch (choice) {
    case 'scalar': {
      const b = rng.int(256);
      out.byte(b);
      // Give fixed-size formats their bytes (or not, now and then).
      const sizes: Record<number, number> = { 0xca: 4, 0xcb: 8, 0xcc: 1, 0xcd: 2, 0xce: 4, 0xcf: 8, 0xd0: 1, 0xd1: 2, 0xd2: 4, 0xd3: 8 };
      const size = sizes[b];
      if (size !== undefined && rng.chance(0.95)) out.raw(rng.bytes(size));
      return;
    }
    case 'string':
      msgpackString(rng, out);
      return;
    case 'bin': {
      const content = rng.bytes(rng.int(300));
      const n = announced(rng, content.length);
      if (n < 0x100) out.byte(0xc4, n);
      else if (n < 0x10000) out.byte(0xc5).u16(n);
      else out.byte(0xc6).u32(n);
      out.raw(content);
      return;
    }
    case 'array':
    case 'map': {
      const n = rng.int(6);
      const count = announced(rng, n);
      const array = choice === 'array';
      if (count < 16 && rng.chance(0.7)) out.byte((array ? 0x90 : 0x80) | count);
      else if (count < 0x10000) out.byte(array ? 0xdc : 0xde).u16(count);
      else out.byte(array ? 0xdd : 0xdf).u32(count);
      for (let i = 0; i < (array ? n : 2 * n); i++) hostileValue(rng, out, depth + 1);
      return;
    }
    case 'hugeContainer':
      out.byte(rng.pick([0xdd, 0xdf, 0xdb, 0xc6, 0xc9])).u32(rng.pick([0xffff_ffff, 0x7fff_ffff, 0x1000_0000, rng.u32()]));
      if (rng.chance(0.5)) out.raw(rng.bytes(rng.int(32)));
      return;
    case 'ext': {
      const type = rng.chance(0.8) ? rng.pick(EXT_TYPES) : rng.int(256);
      const data = rng.bytes(rng.pick([1, 2, 4, 8, 16, rng.int(40)]));
      const fixed: Record<number, number> = { 1: 0xd4, 2: 0xd5, 4: 0xd6, 8: 0xd7, 16: 0xd8 };
      const fix = fixed[data.length];
      if (fix !== undefined && rng.chance(0.6)) out.byte(fix, type);
      else out.byte(0xc7, announced(rng, data.length), type);
      out.raw(data);
      if (rng.chance(0.5)) hostileValue(rng, out, depth + 1);
      return;
    }
    case 'recordDef': {
      out.byte(0xd4, 0x72, rng.chance(0.8) ? 0x40 + rng.int(64) : rng.int(256));
      const keys = rng.int(5);
      out.byte(0x90 | keys);
      for (let i = 0; i < keys; i++) {
        if (rng.chance(0.9)) {
          const key = new TextEncoder().encode(rng.pick(DICTIONARY));
          out.byte(0xd9, key.length).raw(key);
        } else hostileValue(rng, out, depth + 1);
      }
      const values = rng.chance(0.9) ? keys : rng.int(6);
      for (let i = 0; i < values; i++) hostileValue(rng, out, depth + 1);
      return;
    }
    case 'recordRef': {
      out.byte(0x40 + rng.int(64));
      for (let i = rng.int(4); i > 0; i--) hostileValue(rng, out, depth + 1);
      return;
    }
    case 'recordDef2': {
      out.byte(0xd5, 0x72, 0x40 + rng.int(64), rng.int(4));
      out.byte(0x91, 0xa1, 0x61);
      hostileValue(rng, out, depth + 1);
      if (rng.chance(0.5)) out.byte(0x40 + rng.int(64), rng.int(4));
      return;
    }
    case 'errorExt': {
      out.byte(0xd4, 0x65, 0x00, rng.chance(0.8) ? 0x93 : 0x90 | rng.int(6));
      const name = new TextEncoder().encode(rng.pick([...DICTIONARY, 'RangeError', 'AggregateError', 'Custom']));
      out.byte(0xd9, name.length).raw(name);
      hostileValue(rng, out, depth + 1);
      hostileValue(rng, out, depth + 1);
      return;
    }
    case 'prefixExt':
      out.byte(0xd4, rng.pick([0x73, 0x78, 0x65, 0x00]), 0x00);
      if (rng.chance(0.5)) {
        out.byte(0x92);
        msgpackString(rng, out);
        msgpackString(rng, out);
      } else hostileValue(rng, out, depth + 1);
      return;
    case 'ids': {
      const id = rng.chance(0.7) ? 1 + rng.int(3) : rng.u32();
      if (rng.chance(0.5)) {
        out.byte(0xd6, 0x69).u32(id);
        if (rng.chance(0.3)) out.byte(0xd4, 0x73, 0x00);
        out.byte(rng.pick([0x91, 0x92, 0x81, 0xd4]));
        out.byte(0xd6, 0x70).u32(rng.chance(0.7) ? id : rng.u32());
        if (rng.chance(0.5)) hostileValue(rng, out, depth + 1);
      } else out.byte(0xd6, 0x70).u32(id);
      return;
    }
    case 'typedExt': {
      const code = rng.chance(0.8) ? rng.pick([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 16, 17]) : rng.int(256);
      const data = rng.bytes(rng.int(70));
      const n = announced(rng, data.length + 1);
      if (n < 0x100) out.byte(0xc7, n);
      else if (n < 0x10000) out.byte(0xc8).u16(n);
      else out.byte(0xc9).u32(n);
      out.byte(0x74, code).raw(data);
      return;
    }
    case 'timestamp': {
      const data = rng.bytes(rng.pick([0, 1, 4, 8, 12, rng.int(20)]));
      out.byte(0xc7, data.length, 0xff).raw(data);
      return;
    }
    case 'bigintExt': {
      const data = rng.bytes(rng.chance(0.1) ? rng.int(5000) : rng.int(40));
      out.byte(0xc8).u16(data.length).byte(0x42).raw(data);
      return;
    }
    case 'deep': {
      const unit = rng.pick([[0x91], [0x81, 0xa0], [0xd4, 0x73, 0x00, 0x91], [0xd6, 0x69, 0, 0, 0, 1], [0xd4, 0x65, 0x00, 0x93, 0xa0, 0xa0], [0xd4, 0x72, 0x40, 0x91, 0xa1, 0x61]]);
      const times = rng.pick([100, 1000, 10_000, 30_000]);
      for (let i = 0; i < times; i++) out.byte(...unit);
      out.byte(0xc0);
      return;
    }
    case 'nearLimit': {
      // Nesting right around MAX_NESTING (500): arrays, maps, one record referenced again and again, Sets.
      const levels = 495 + rng.int(11);
      const unit = rng.pick([[0x91], [0x81, 0x01], [0x40], [0xd4, 0x73, 0x00, 0x91]]);
      if (unit[0] === 0x40) out.byte(0xd4, 0x72, 0x40, 0x91, 0xa1, 0x61);
      for (let i = unit[0] === 0x40 ? 1 : 0; i < levels; i++) out.byte(...unit);
      out.byte(0xc0);
      return;
    }
    case 'bigKeyList': {
      // A key list around RECORD_KEEP_BYTES (1024), used once or referenced again.
      const slot = 0x40 + rng.int(64);
      const keyBytes = 1014 + rng.int(20);
      out.byte(0xd4, 0x72, slot, 0x91, 0xda).u16(keyBytes);
      out.raw(new Uint8Array(keyBytes).fill(0x61 + rng.int(26)));
      out.byte(0xc0);
      if (rng.chance(0.5)) out.byte(slot, 0xc0);
      return;
    }
    case 'keyListPointer': {
      // A key list given as a pointer (d6 70 <id>), to a tagged key list or to anything else.
      if (rng.chance(0.5)) out.byte(0xd4, 0x72, 0x40, 0xd6, 0x69).u32(1).byte(0x91, 0xa1, 0x61, 0x01);
      out.byte(0xd4, 0x72, 0x41, 0xd6, 0x70).u32(rng.chance(0.7) ? 1 : rng.u32());
      out.byte(0x02);
      return;
    }
    case 'bundle':
      out.byte(0xd6, 0x62).u32(rng.pick([0, 6, 10, 0xffff_ffff, rng.u32()]));
      msgpackString(rng, out);
      out.byte(0xc1, rng.int(256));
      return;
    default:
      out.byte(0xc1);
  }
}

/** A hostile VALUE body. */
function hostileMsgpack(rng: Rng): Uint8Array {
  const out = new ByteSink();
  hostileValue(rng, out, 0);
  let body = out.done();
  if (rng.chance(0.15)) body = concat([body, rng.bytes(1 + rng.int(8))]);
  if (rng.chance(0.15)) body = body.subarray(0, rng.int(body.length));
  return body;
}

// ---------------------------------------------------------------------------
// (b) Frames: streams.

const UNLIMITED = { maxFrameBytes: 0xffff_ffff, budget: Number.MAX_SAFE_INTEGER };

function frame(kind: number, body: Uint8Array, length = body.length): Uint8Array {
  const out = new Uint8Array(5 + body.length);
  writeFrameHeader(out, 0, length, kind);
  out.set(body, 5);
  return out;
}

/** One hostile frame stream, cut into chunks, for a reader with `maxFrameBytes`. */
export interface FrameInput {
  readonly maxFrameBytes: number;
  /** Whether the sender's HELLO set REQUESTS: if not, any REQUEST, REPLY or FAILURE frame from it is a protocol error. */
  readonly peerRequests: boolean;
  readonly stream: Uint8Array;
  readonly cuts: readonly number[];
  readonly strategies: readonly string[];
  /** For streams of valid frames only: what must arrive (values and requests, in order), then how the stream must end. */
  readonly expected?: { readonly delivered: readonly Delivered[]; readonly end: FrameEnd };
}

/** What the core hands its user from a frame stream: a `data` value, or a `request` (answered by the harness). */
export interface Delivered {
  readonly event: 'data' | 'request';
  readonly value: unknown;
}

/** How feeding a frame stream ended: an error (code), or, without one, where the stream stopped. */
export type FrameEnd = 'open' | 'ended' | 'midframe' | string;

/** The key, among a frame loop's outcomes, that counts the streams that delivered at least one request before their end. */
export const REQUESTS_DELIVERED = 'delivered requests';

const PREFIX_KINDS = [FrameKind.REQUEST, FrameKind.REPLY, FrameKind.FAILURE] as const;
const INTERESTING_IDS = [0, 1, 2, 0x7fff_ffff, 0x8000_0000, 0xffff_fffe, 0xffff_ffff];

function randomId(rng: Rng): number {
  return rng.chance(0.3) ? rng.pick(INTERESTING_IDS) : 1 + rng.int(1000);
}

/** A FAILURE frame's value (PROTOCOL.md §4.8), of either code or another one, sometimes with more keys. */
function randomFailure(rng: Rng): Record<string, unknown> {
  const failure: Record<string, unknown> = {
    code: rng.pick([ErrorCode.NO_HANDLER, ErrorCode.REMOTE, 'ERR_SOMETHING_NEWER', '']),
    name: rng.pick(['Error', 'TypeError', 'AbortError', randomString(rng, 12)]),
    message: randomString(rng, 40),
  };
  if (rng.chance(0.1)) failure.stack = randomString(rng, 20);
  return failure;
}

/** A value that is not a failure value: what a FAILURE frame must never carry. */
function notAFailure(rng: Rng): unknown {
  switch (rng.int(4)) {
    case 0:
      return randomValue(rng);
    case 1: {
      const failure = randomFailure(rng);
      delete failure[rng.pick(['code', 'name', 'message'])];
      return failure;
    }
    case 2:
      return { ...randomFailure(rng), [rng.pick(['code', 'name', 'message'])]: rng.pick([1, null, undefined, ['x'], { s: 'x' }]) };
    default:
      return new Error(randomString(rng, 10));
  }
}

/** The frames `encoder` writes for `value`, as a prefix of `kind` for request `id` (or none: -1). */
function encodeFrames(encoder: ValueEncoder, value: unknown, kind = -1, id = 0): Uint8Array {
  const writer = new FrameWriter();
  encoder.encode(value, writer, UNLIMITED, kind, id);
  return concat(writer.take().chunks);
}

/** Generates frame case `index` of `seed`. */
export function frameInput(seed: number, index: number): FrameInput {
  const rng = caseRng(seed, 'frames', index);
  const cap = rng.weighted({ tiny: 4, small: 8, medium: 15, large: 55, random: 13, default: 5 });
  const maxFrameBytes = { tiny: 16, small: 256, medium: 65536, large: 1 << 20, random: 1 + rng.int(1 << 20), default: DEFAULTS.maxFrameBytes }[cap];
  // Mostly a peer that takes requests, as every DataSocket does; sometimes one that set no REQUESTS.
  const peerRequests = rng.chance(0.85);
  const encoder = new ValueEncoder();
  const segments: Uint8Array[] = [];
  const strategies: string[] = [];
  const delivered: Delivered[] = [];
  let allValid = true;
  let end: FrameEnd | null = null;
  for (let s = 1 + rng.int(5); s > 0; s--) {
    const strategy = rng.weighted({ valid: 22, mutated: 22, header: 10, msgpack: 22, end: 5, binary: 9, request: 12, prefix: 10 });
    strategies.push(strategy);
    switch (strategy) {
      case 'valid':
      case 'mutated': {
        const value = randomValue(rng);
        if (strategy === 'mutated') {
          // A value frame, or a request frame and its value, with bytes changed.
          segments.push(mutate(rng, encodeFrames(encoder, value, rng.chance(0.3) ? rng.pick(PREFIX_KINDS) : -1, randomId(rng))));
          allValid = false;
          break;
        }
        const bytes = encodeFrames(encoder, value);
        segments.push(bytes);
        if (end === 'ended' || (end === null && bytes.length - 5 > maxFrameBytes)) end = ErrorCode.PROTOCOL;
        else if (end === null) delivered.push({ event: 'data', value });
        break;
      }
      case 'request': {
        // A well-formed REQUEST, REPLY or FAILURE frame and its value: a request is delivered, a reply or failure nobody waits on is dropped.
        const kind = rng.pick(PREFIX_KINDS);
        const value = kind === FrameKind.FAILURE ? randomFailure(rng) : rng.chance(0.2) ? randomBinary(rng) : randomValue(rng);
        const bytes = encodeFrames(encoder, value, kind, randomId(rng));
        segments.push(bytes);
        if (end === null && !peerRequests) end = ErrorCode.PROTOCOL;
        else if (end === 'ended' || (end === null && bytes.length - 14 > maxFrameBytes)) end = ErrorCode.PROTOCOL;
        else if (end === null && kind === FrameKind.REQUEST) delivered.push({ event: 'request', value });
        break;
      }
      case 'prefix': {
        // A request frame out of place: a body that is not 4 bytes, two in a row, END, PING or PONG
        // where its value belongs, a FAILURE whose value is no failure value, or a prefix left hanging.
        const kind = rng.chance(0.9) ? rng.pick(PREFIX_KINDS) : 0x6f + rng.int(5);
        const id = u32Bytes(randomId(rng));
        switch (rng.int(6)) {
          case 0:
            segments.push(frame(kind, rng.bytes(rng.pick([0, 1, 3, 5, 8, rng.int(20)]))));
            break;
          case 1:
            segments.push(frame(kind, id), frame(rng.pick(PREFIX_KINDS), u32Bytes(randomId(rng))), encodeFrames(encoder, randomValue(rng)));
            break;
          case 2:
            segments.push(frame(kind, id), frame(rng.pick([FrameKind.END, FrameKind.PING, FrameKind.PONG]), new Uint8Array(0)));
            break;
          case 3:
            segments.push(frame(FrameKind.FAILURE, id), encodeFrames(encoder, notAFailure(rng)));
            break;
          case 4:
            segments.push(frame(FrameKind.FAILURE, id), frame(1 + rng.int(0x0d), new Uint8Array(8 * rng.int(3))));
            break;
          default:
            segments.push(frame(kind, id));
        }
        allValid = false;
        break;
      }
      case 'end': {
        const bad = rng.chance(0.1);
        segments.push(frame(FrameKind.END, bad ? rng.bytes(1 + rng.int(4)) : new Uint8Array(0)));
        if (bad) allValid = false;
        else if (end === null) end = 'ended';
        else if (end === 'ended') end = ErrorCode.PROTOCOL;
        break;
      }
      case 'header': {
        const length = rng.pick([0, 1, 4, maxFrameBytes - 1, maxFrameBytes, maxFrameBytes + 1, 2 * maxFrameBytes, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff, rng.u32(), rng.int(300)]);
        const kind = rng.chance(0.7) ? rng.pick([0x00, 0x01, 0x02, 0x05, 0x07, 0x0a, 0x0b, 0x0d, 0x0e, 0x6f, 0x70, 0x71, 0x72, 0x73, 0x7e, 0x7f, 0x80, 0xff]) : rng.int(256);
        segments.push(frame(kind, rng.bytes(Math.min(Math.max(0, length), rng.int(300))), Math.max(0, length) >>> 0));
        allValid = false;
        break;
      }
      case 'msgpack': {
        const body = hostileMsgpack(rng);
        segments.push(frame(FrameKind.VALUE, body, rng.chance(0.9) ? body.length : announced(rng, body.length)));
        allValid = false;
        break;
      }
      default: {
        const kind = 1 + rng.int(0x0d);
        const body = rng.bytes(rng.chance(0.7) ? 8 * rng.int(20) : rng.int(100));
        segments.push(frame(kind, body));
        allValid = false;
      }
    }
  }
  const stream = concat(segments);
  const expected = allValid ? { delivered, end: end === 'ended' ? 'ended' : (end ?? 'open') } : undefined;
  return { maxFrameBytes, peerRequests, stream, cuts: randomCuts(rng, stream.length), strategies, ...(expected ? { expected } : {}) };
}

function u32Bytes(n: number): Uint8Array {
  return Uint8Array.of(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
}

/** Whether a FAILURE frame's value is one (PROTOCOL.md §4.8): an object whose code, name and message are strings. */
function isFailureValue(value: unknown): boolean {
  const v = value as { code?: unknown; name?: unknown; message?: unknown } | null;
  return typeof v === 'object' && v !== null && typeof v.code === 'string' && typeof v.name === 'string' && typeof v.message === 'string';
}

/** What a frame stream must give, as PROTOCOL.md §4 and §4.8 say, read independently of DataSocketCore. */
interface ReadStream {
  delivered: Delivered[];
  /** The ids of the requests delivered, in order: the ids the core must answer. */
  requestIds: number[];
  end: FrameEnd;
}

/** Feeds a stream to a FrameReader and a ValueDecoder, and follows the request frames as PROTOCOL.md §4.8 says. */
function readStream(input: FrameInput): ReadStream {
  const decoder = new ValueDecoder();
  const delivered: Delivered[] = [];
  const requestIds: number[] = [];
  let peerEnded = false;
  /** The prefix whose value comes next, and its id; -1 for none. */
  let prefix = -1;
  let id = 0;
  const protocol = (message: string): DataSocketError => new DataSocketError(ErrorCode.PROTOCOL, message);
  const reader = new FrameReader(input.maxFrameBytes, (kind, source, start, end, owned) => {
    if (peerEnded) throw protocol('the peer sent a frame after END');
    if (kind === FrameKind.END || kind === FrameKind.PING || kind === FrameKind.PONG || isPrefixKind(kind)) {
      if (prefix !== -1) throw protocol('a request frame is not followed by its value');
      // PING and PONG carry no value: the core answers a PING and counts both as life.
      if (kind === FrameKind.END) peerEnded = true;
      if (!isPrefixKind(kind)) return;
      if (!input.peerRequests) throw protocol('a request frame from a peer without REQUESTS');
      prefix = kind;
      id = new DataView(source.buffer, source.byteOffset + start, 4).getUint32(0);
      return;
    }
    const value = decoder.decode(kind, source, start, end, owned);
    const of = prefix;
    prefix = -1;
    if (of === -1) delivered.push({ event: 'data', value });
    else if (of === FrameKind.REQUEST) {
      delivered.push({ event: 'request', value });
      requestIds.push(id);
    } else if (of === FrameKind.FAILURE && !isFailureValue(value)) throw protocol('a FAILURE whose value is not { code, name, message }');
    // A REPLY or FAILURE nobody waits on is dropped (the harness never requests).
  });
  for (const chunk of split(input.stream, input.cuts)) {
    try {
      reader.push(chunk);
    } catch (error) {
      return { delivered, requestIds, end: expectDataSocketError(error, [ErrorCode.PROTOCOL], 'FrameReader + ValueDecoder') };
    }
  }
  return { delivered, requestIds, end: reader.midFrame || prefix !== -1 ? 'midframe' : peerEnded ? 'ended' : 'open' };
}

/**
 * The real DataSocketCore on a carrier that takes every byte at once: bytes go in
 * through receive(), as from a socket. It answers each request: a number with a
 * thrown error (a FAILURE), anything else with null (a REPLY).
 */
class CoreHarness extends DataSocketCore {
  readonly log: string[] = [];
  /** Everything the core wrote. */
  readonly written: Uint8Array[] = [];

  constructor(maxFrameBytes: number, peerRequests: boolean) {
    super('client', { ...DEFAULTS, maxFrameBytes }, { name: 'fuzz' });
    this.on('data', () => this.log.push('data'));
    this.on('request', (value, respond) => {
      this.log.push('request');
      if (typeof value === 'number') throw new RangeError('no numbers');
      respond(null);
    });
    this.on('error', (error) => this.log.push(error instanceof DataSocketError ? `error:${error.code}` : `error:NOT-A-DATASOCKETERROR:${describeThrown(error)}`));
    this.on('close', () => this.log.push('close'));
    this.attach({
      blocked: false,
      peerPings: true,
      peerRequests,
      transmit: (chunks, bytes, count) => {
        for (const chunk of chunks) this.written.push(chunk.slice());
        this.sent(bytes, count);
      },
      end: () => {},
      destroy: () => {},
    });
    this.opened();
  }

  feed(chunk: Uint8Array): void {
    this.receive(chunk);
  }

  finish(): void {
    this.ended();
  }
}

/** What the core must report for a stream the reader ends in `end` after delivering `delivered`. */
function coreLog(delivered: readonly Delivered[], end: FrameEnd): string[] {
  const events = delivered.map((d) => d.event);
  if (end === 'ended') return [...events, 'close'];
  if (end === 'open' || end === 'midframe') return [...events, 'error:ECONNRESET', 'close'];
  return [...events, `error:${end}`, 'close'];
}

/**
 * The ids of the REPLY and FAILURE frames the core wrote, in order; throws a violation
 * if it wrote anything else than those (each followed by its value) and PONGs.
 */
function answerIds(written: readonly Uint8Array[]): number[] {
  const ids: number[] = [];
  let prefix = -1;
  const reader = new FrameReader(0xffff_ffff, (kind, source, start) => {
    if (prefix !== -1) {
      if (kind > LAST_BINARY_KIND) throw new FuzzViolation(`the core wrote a frame of kind ${kind} where the value of its answer belongs`);
      prefix = -1;
    } else if (kind === FrameKind.REPLY || kind === FrameKind.FAILURE) {
      prefix = kind;
      ids.push(new DataView(source.buffer, source.byteOffset + start, 4).getUint32(0));
    } else if (kind !== FrameKind.PONG) {
      throw new FuzzViolation(`the core wrote a frame of kind ${kind} to a peer that sent it only frames`);
    }
  });
  for (const chunk of written) reader.push(chunk);
  if (reader.midFrame || prefix !== -1) throw new FuzzViolation('the core wrote half an answer');
  return ids;
}

/** Whether `part` is `whole` with some items left out, in order. */
function isSubsequence(part: readonly number[], whole: readonly number[]): boolean {
  let at = 0;
  for (const item of part) {
    while (at < whole.length && whole[at] !== item) at++;
    if (at++ >= whole.length) return false;
  }
  return true;
}

const CANARY = { canary: [1, 'two', 3n, new Map([[1, { x: 2 }]])] };
const CANARY_FRAME = encodeFrames(new ValueEncoder(), CANARY);

/**
 * Feeds a hostile frame stream through FrameReader + ValueDecoder and, when
 * `throughCore`, through a real DataSocketCore too, and checks every promise.
 * Returns how it ended, and how many requests it delivered before.
 */
export function runFrameCase(input: FrameInput, throughCore: boolean): { end: FrameEnd; requests: number } {
  const { delivered, requestIds, end } = readStream(input);
  delivered.forEach(({ event, value }, i) => {
    const problems = plainDataProblems(value);
    if (problems.length > 0) throw new FuzzViolation(`${event} value ${i} is not plain data: ${problems.slice(0, 3).join('; ')}`);
  });
  if (input.expected) {
    if (end !== input.expected.end) throw new FuzzViolation(`a stream of valid frames ended in ${end}, expected ${input.expected.end}`);
    const events = (list: readonly Delivered[]): string => list.map((d) => d.event).join(' ');
    if (events(delivered) !== events(input.expected.delivered)) throw new FuzzViolation(`delivered [${events(delivered)}], expected [${events(input.expected.delivered)}]`);
    input.expected.delivered.forEach((sent, i) => {
      if (!sameValue(sent.value, delivered[i]!.value)) throw new FuzzViolation(`${sent.event} value ${i} did not arrive equal to what was sent`);
    });
  }
  if (throughCore) {
    const core = new CoreHarness(input.maxFrameBytes, input.peerRequests);
    for (const chunk of split(input.stream, input.cuts)) core.feed(chunk);
    core.finish();
    const expected = coreLog(delivered, end);
    if (core.log.join(' ') !== expected.join(' ')) throw new FuzzViolation(`DataSocketCore reported [${core.log.join(' ')}], expected [${expected.join(' ')}]`);
    // Each request is answered at once, once, with its own id — unless the cap is below the size of the answer.
    const answered = answerIds(core.written);
    const ok = input.maxFrameBytes >= 256 ? answered.join() === requestIds.join() : isSubsequence(answered, requestIds);
    if (!ok) throw new FuzzViolation(`the core answered requests [${answered.join(', ')}], asked [${requestIds.join(', ')}]`);
  }
  // A hostile stream must not leave msgpackr's module-wide state broken for other connections.
  const canary: unknown[] = [];
  const decoder = new ValueDecoder();
  new FrameReader(1 << 20, (k, s, a, b, o) => canary.push(decoder.decode(k, s, a, b, o))).push(CANARY_FRAME);
  if (canary.length !== 1 || !sameValue(CANARY, canary[0])) throw new FuzzViolation('a fresh decoder no longer decodes a known frame after this input');
  return { end, requests: requestIds.length };
}

// ---------------------------------------------------------------------------
// (c) Hostile connections to a real listener.

/** What a hostile client does over a real socket, and what it must see. */
export type ConnectionPlan =
  /** Writes bytes that are not a valid HELLO (or are cut short), then hangs up. */
  | { readonly kind: 'garbage'; readonly target: 'plain' | 'token'; readonly bytes: Uint8Array; readonly cuts: readonly number[] }
  /** Writes a HELLO with one bad field: must read the listener's HELLO, then `56 03`, then the end. */
  | { readonly kind: 'bad-hello'; readonly target: 'plain' | 'token'; readonly hello: Uint8Array }
  /** Handshakes, then sends `extra` before the verdict: must read `56 03`, then the end. */
  | { readonly kind: 'early-bytes'; readonly target: 'plain' | 'token'; readonly nonce: Uint8Array; readonly extra: Uint8Array }
  /** Sends a wrong proof (or a token the listener lacks): must read `56 02`, then the end. */
  | { readonly kind: 'wrong-token'; readonly target: 'plain' | 'token'; readonly nonce: Uint8Array }
  /** Handshakes properly (REQUESTS set in its HELLO if `requests`), is accepted (`56 00`), then sends a hostile frame stream. */
  | {
      readonly kind: 'frames';
      readonly target: 'plain' | 'token';
      readonly nonce: Uint8Array;
      readonly requests: boolean;
      readonly stream: Uint8Array;
      readonly cuts: readonly number[];
    };

/** The token the fuzz listener's token endpoint holds. */
export const LISTENER_TOKEN = 'fuzz listener token';

/** Generates hostile connection `index` of `seed`. */
export function connectionPlan(seed: number, index: number): ConnectionPlan {
  const rng = caseRng(seed, 'socket', index);
  const target = rng.chance(0.5) ? 'plain' : 'token';
  const nonce = rng.bytes(16);
  const kind = rng.weighted({ garbage: 20, 'bad-hello': 10, 'early-bytes': 10, 'wrong-token': 10, frames: 50 });
  switch (kind) {
    case 'garbage': {
      const h = handshakeInput(seed, 1_000_000 + index);
      const bytes = h.strategy === 'valid' || h.strategy === 'doubled' ? h.stream.subarray(0, rng.int(24)) : h.stream;
      return { kind, target, bytes, cuts: h.cuts };
    }
    case 'bad-hello': {
      const hello = encodeHello(target === 'token' ? 0x01 : 0x00, nonce);
      const field = rng.pick([4, 5, 6, 7]);
      // The LISTENER bit (a wrong role), or a reserved bit.
      hello[field] = field === 6 ? hello[6]! | rng.pick([HelloFlag.LISTENER, FIRST_RESERVED_FLAG, 0x80]) : rng.pick([0, 2, 0xff].filter((b) => b !== hello[field]));
      return { kind, target, hello };
    }
    case 'early-bytes':
      return { kind, target, nonce, extra: rng.chance(0.5) ? encodeVerdict(0) : frameInput(seed, 1_000_000 + index).stream.subarray(0, 1 + rng.int(64)) };
    case 'wrong-token':
      return { kind, target, nonce };
    default: {
      const f = frameInput(seed, 2_000_000 + index);
      return { kind: 'frames', target, nonce, requests: f.peerRequests, stream: f.stream, cuts: f.cuts.length > 64 ? [] : f.cuts };
    }
  }
}

// ---------------------------------------------------------------------------
// (d) Hostile listeners, for a DataSocket client.

/** What a hostile listener writes to a DataSocket client that connects to it. */
export interface ServerPlan {
  readonly kind: 'garbage' | 'bad-hello' | 'verdict' | 'frames';
  /** Everything it writes, cut at `cuts`. */
  readonly bytes: Uint8Array;
  readonly cuts: readonly number[];
  /** Whether it ends the connection after writing (else it waits for the client to). */
  readonly hangUp: boolean;
}

/** Generates hostile listener `index` of `seed`. */
export function serverPlan(seed: number, index: number): ServerPlan {
  const rng = caseRng(seed, 'server', index);
  const hello = encodeHello(HelloFlag.LISTENER | (rng.chance(0.7) ? HelloFlag.PINGS : 0), rng.bytes(16));
  const kind = rng.weighted({ garbage: 15, 'bad-hello': 15, verdict: 15, frames: 55 });
  let bytes: Uint8Array;
  switch (kind) {
    case 'garbage':
      bytes = rng.chance(0.5) ? rng.bytes(rng.int(64)) : handshakeInput(seed, 3_000_000 + index).stream;
      break;
    case 'bad-hello': {
      const field = rng.pick([4, 5, 6, 7]);
      // No LISTENER bit, a token the client lacks, or a reserved bit beside LISTENER.
      hello[field] = field === 6 ? rng.pick([0x00, 0x01, 0x03, HelloFlag.LISTENER | FIRST_RESERVED_FLAG, 0x80]) : rng.pick([0, 2, 0xff].filter((b) => b !== hello[field]));
      bytes = concat([hello, Uint8Array.of(0x56, 0x00)]);
      break;
    }
    case 'verdict':
      bytes = concat([hello, rng.chance(0.5) ? Uint8Array.of(0x56, rng.int(8)) : rng.bytes(1 + rng.int(4))]);
      break;
    default: {
      // Its HELLO says whether it takes requests: the frames it sends may break that too.
      const f = frameInput(seed, 4_000_000 + index);
      if (f.peerRequests) hello[6]! |= HelloFlag.REQUESTS;
      bytes = concat([hello, Uint8Array.of(0x56, 0x00), f.stream]);
    }
  }
  return { kind, bytes, cuts: bytes.length > 4096 ? [] : randomCuts(rng, bytes.length), hangUp: rng.chance(0.5) };
}

// ---------------------------------------------------------------------------
// (e) Real sessions, captured and mutated.

/** The values a real client sends in captured session `index` of `seed` (see fuzz-campaign.ts). */
export function sessionValues(seed: number, index: number): unknown[] {
  const rng = caseRng(seed, 'session', index);
  return Array.from({ length: 1 + rng.int(40) }, () => randomValue(rng));
}

/** Hostile session `index`: one of the captured `sessions` (every byte a client wrote, HELLO to END), mutated, possibly spliced with another. */
export function mutatedSession(seed: number, index: number, sessions: readonly Uint8Array[]): { bytes: Uint8Array; cuts: readonly number[] } {
  const rng = caseRng(seed, 'session', 1_000_000 + index);
  let bytes = rng.pick(sessions);
  if (rng.chance(0.2)) {
    const other = rng.pick(sessions);
    bytes = concat([bytes.subarray(0, rng.int(bytes.length + 1)), other.subarray(rng.int(other.length + 1))]);
  }
  bytes = mutate(rng, bytes);
  return { bytes, cuts: bytes.length > 4096 ? [] : randomCuts(rng, bytes.length) };
}
