/**
 * PROTOCOL.md's test vectors, checked byte for byte against the code: every
 * `vector <id>` block is extracted, and each HELLO, AUTH proof, VERDICT, whole
 * handshake and frame must be exactly what the implementation writes, and every
 * frame must decode back to the value it documents; requests and their answers are
 * played between two real socket cores and read back by a frame reader; every value
 * is also given as JSON in the CLI's form (§8.1), checked against the CLI's printer
 * and reader. Editing either side alone fails here.
 */
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseValue, stringifyValue } from '../../src/main/cli/cli-json.js';
import { authProof, Handshake } from '../../src/main/socket/handshake.js';
import { ValueDecoder, ValueEncoder } from '../../src/shared/codec.js';
import { DataSocketError, ErrorCode } from '../../src/shared/errors.js';
import { FrameReader, FrameScanner, FrameWriter } from '../../src/shared/frames.js';
import { DEFAULTS } from '../../src/shared/options.js';
import {
  authMessage,
  CODEC_MSGPACKR_V1,
  decodeHello,
  encodeHello,
  encodeVerdict,
  FrameKind,
  HelloFlag,
  isPrefixKind,
  PROTOCOL_VERSION,
  Verdict,
  type VerdictStatus,
} from '../../src/shared/protocol.js';
import { DataSocketCore } from '../../src/shared/socket-core.js';
import { concat, hex } from '../helpers/bytes.js';

const PROTOCOL_MD = fileURLToPath(new URL('../../PROTOCOL.md', import.meta.url));

/** One `vector <id>` block: its `key: value` lines, in order (a key may repeat), each with the number of lines it took. */
interface Vector {
  readonly id: string;
  readonly fields: readonly { readonly key: string; readonly value: string; readonly lines: number }[];
}

/** Extracts every vector block; throws on any line the format does not allow, so nothing is silently skipped. */
function parseVectors(markdown: string): Vector[] {
  const vectors: Vector[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^```vector(.*)$/.exec(lines[i]!);
    if (!open) continue;
    const id = /^ ([a-z0-9-]+)$/.exec(open[1]!)?.[1];
    if (id === undefined) throw new Error(`PROTOCOL.md line ${i + 1}: a vector block needs an id: ${lines[i]}`);
    const fields: { key: string; value: string; lines: number }[] = [];
    for (i++; ; i++) {
      const line = lines[i];
      if (line === undefined) throw new Error(`PROTOCOL.md: vector ${id} is not closed`);
      if (line === '```') break;
      if (line.startsWith('#')) continue;
      const continued = /^ +(\S.*)$/.exec(line);
      if (continued) {
        const last = fields[fields.length - 1];
        if (last === undefined) throw new Error(`PROTOCOL.md line ${i + 1}: a continuation line with nothing to continue`);
        last.value = `${last.value} ${continued[1]!}`;
        last.lines++;
        continue;
      }
      const field = /^([a-z][a-z0-9-]*): (.*)$/.exec(line);
      if (!field) throw new Error(`PROTOCOL.md line ${i + 1}: not a 'key: value' line in vector ${id}: ${line}`);
      fields.push({ key: field[1]!, value: field[2]!, lines: 1 });
    }
    vectors.push({ id, fields });
  }
  return vectors;
}

function all(vector: Vector, key: string): string[] {
  return vector.fields.filter((f) => f.key === key).map((f) => f.value);
}

function optional(vector: Vector, key: string): string | undefined {
  const values = all(vector, key);
  if (values.length > 1) throw new Error(`vector ${vector.id}: '${key}' appears ${values.length} times`);
  return values[0];
}

function one(vector: Vector, key: string): string {
  const value = optional(vector, key);
  if (value === undefined) throw new Error(`vector ${vector.id}: no '${key}'`);
  return value;
}

/** Hex bytes separated by spaces; `xx*n` is the byte `xx` n times. */
function bytes(text: string): Uint8Array {
  if (!/^([0-9a-f]{2}(\*[1-9][0-9]*)?( [0-9a-f]{2}(\*[1-9][0-9]*)?)*)?$/.test(text)) {
    throw new Error(`not lowercase hex bytes (xx or xx*n) separated by spaces: ${text}`);
  }
  if (text === '') return new Uint8Array(0);
  return Uint8Array.from(
    text.split(' ').flatMap((token) => {
      const [byte, times] = token.split('*');
      return Array<number>(times === undefined ? 1 : Number(times)).fill(parseInt(byte!, 16));
    }),
  );
}


/** A token field: a JSON string, or `none`. */
function token(text: string): string | undefined {
  if (text === 'none') return undefined;
  const value: unknown = JSON.parse(text);
  if (typeof value !== 'string') throw new Error(`a token is a JSON string or none: ${text}`);
  return value;
}

const CLIENT_NONCE = Uint8Array.from({ length: 16 }, (_, i) => i);
const LISTENER_NONCE = Uint8Array.from({ length: 16 }, (_, i) => 0xa0 + i);

const vectors = parseVectors(readFileSync(PROTOCOL_MD, 'utf8'));
const byPrefix = (prefix: string): Vector[] => vectors.filter((v) => v.id.startsWith(prefix));

// ---------------------------------------------------------------------------
// What each frame vector sends, and what must arrive.

interface Sent {
  /** The `value:` (or `refused:`, or `received:`) line of the vector, verbatim. */
  readonly source: string;
  readonly make: () => unknown;
  /** Checks the decoded value; by default it must equal `make()`, with the same prototype. */
  readonly check?: (received: unknown) => void;
  /** A `refused:` line: send() refuses the value and writes nothing. */
  readonly refused?: true;
  /**
   * The value its `json:` line reads back as, when not `make()`: the JSON form, like
   * the wire, has no Buffer; a Buffer is written as, and arrives as, a Uint8Array.
   */
  readonly asJson?: () => unknown;
}

/** A Uint8Array with an ArrayBuffer of its own, exactly its size, holding `values`. */
function exactBytes(values: number[]): (received: unknown) => void {
  return (received) => {
    expect(Object.getPrototypeOf(received)).toBe(Uint8Array.prototype);
    const bytes = received as Uint8Array;
    expect([...bytes]).toEqual(values);
    expect(bytes.byteOffset).toBe(0);
    expect(bytes.buffer.byteLength).toBe(values.length);
  };
}

function nested(depth: number): unknown {
  let value: unknown = 0;
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

function arrivesAs(expected: unknown): (received: unknown) => void {
  return (received) => {
    expect(received).toStrictEqual(expected);
    if (typeof expected === 'object' && expected !== null) expect(Object.getPrototypeOf(received)).toBe(Object.getPrototypeOf(expected));
  };
}

const simple = (source: string, make: () => unknown): Sent => ({ source, make });

const FRAME_VECTORS: Readonly<Record<string, readonly Sent[]>> = {
  'frame-null': [simple('null', () => null)],
  'frame-integer': [simple('42', () => 42)],
  'frame-string': [simple("'hé'", () => 'hé')],
  'frame-object': [simple('{ a: 1 }', () => ({ a: 1 }))],
  'frame-array': [simple('[1, 2, 3]', () => [1, 2, 3])],
  'frame-uint8array': [simple('new Uint8Array([1, 2, 3])', () => new Uint8Array([1, 2, 3]))],
  'frame-float64array': [simple('new Float64Array([1.5])', () => new Float64Array([1.5]))],
  'frame-arraybuffer': [simple('new Uint8Array([1, 2, 3, 4]).buffer', () => new Uint8Array([1, 2, 3, 4]).buffer)],
  'frames-records': [
    simple('{ a: 1 }', () => ({ a: 1 })),
    simple('{ a: 2 }', () => ({ a: 2 })),
    simple("{ b: 'x', a: null }", () => ({ b: 'x', a: null })),
    simple('{ a: { a: 3 } }', () => ({ a: { a: 3 } })),
  ],
  'frames-scalars': [
    simple('undefined', () => undefined),
    simple('true', () => true),
    simple('100', () => 100),
    simple('-100', () => -100),
    simple('70000', () => 70000),
    simple('1.5', () => 1.5),
    simple('NaN', () => NaN),
    simple('2 ** 40', () => 2 ** 40),
  ],
  'frames-bigint': [
    simple('1n', () => 1n),
    simple('-(2n ** 63n)', () => -(2n ** 63n)),
    simple('2n ** 64n - 1n', () => 2n ** 64n - 1n),
    simple('2n ** 64n', () => 2n ** 64n),
    simple('-(2n ** 70n)', () => -(2n ** 70n)),
  ],
  'frames-date': [
    simple('new Date(0)', () => new Date(0)),
    simple('new Date(1500)', () => new Date(1500)),
    simple('new Date(-1)', () => new Date(-1)),
    {
      source: 'new Date(NaN)',
      make: () => new Date(NaN),
      check: (received) => {
        expect(received).toBeInstanceOf(Date);
        expect((received as Date).getTime()).toBeNaN();
      },
    },
  ],
  'frames-collections': [
    simple("new Set([1, 'x'])", () => new Set([1, 'x'])),
    simple("new Map([[1, 'a'], ['k', null]])", () => new Map<unknown, unknown>([[1, 'a'], ['k', null]])),
  ],
  'frames-regexp-error': [
    simple('/a+b/gi', () => /a+b/gi),
    {
      source: "new TypeError('bad')",
      make: () => new TypeError('bad'),
      check: (received) => {
        expect(Object.getPrototypeOf(received)).toBe(TypeError.prototype);
        expect((received as Error).message).toBe('bad');
      },
    },
    {
      source: "Object.assign(new Error('boom'), { name: 'AbortError' })",
      make: () => Object.assign(new Error('boom'), { name: 'AbortError' }),
      check: (received) => {
        expect(Object.getPrototypeOf(received)).toBe(Error.prototype);
        expect((received as Error).name).toBe('AbortError');
        expect((received as Error).message).toBe('boom');
      },
    },
  ],
  'frames-references': [
    {
      source: '[s, s] with s = { x: 1 }',
      make: () => {
        const s = { x: 1 };
        return [s, s];
      },
      check: (received) => {
        const [first, second] = received as [unknown, unknown];
        expect(first).toEqual({ x: 1 });
        expect(second).toBe(first);
      },
    },
    {
      source: 'o with o = { self: o }',
      make: () => {
        const o: { self: unknown } = { self: null };
        o.self = o;
        return o;
      },
      check: (received) => {
        expect(Object.keys(received as object)).toEqual(['self']);
        expect((received as { self: unknown }).self).toBe(received);
      },
    },
  ],
  'frames-nested-binary': [
    {
      source: '[new Uint8Array([9]), new Int16Array([1, -1]), new Uint8Array([7]).buffer, Buffer.from([1, 2])]',
      make: () => [new Uint8Array([9]), new Int16Array([1, -1]), new Uint8Array([7]).buffer, Buffer.from([1, 2])],
      asJson: () => [new Uint8Array([9]), new Int16Array([1, -1]), new Uint8Array([7]).buffer, new Uint8Array([1, 2])],
      check: (received) => {
        const [u8, i16, buffer, fromBuffer] = received as unknown[];
        exactBytes([9])(u8);
        arrivesAs(new Int16Array([1, -1]))(i16);
        expect((i16 as Int16Array).buffer.byteLength).toBe(4);
        arrivesAs(new Uint8Array([7]).buffer)(buffer);
        exactBytes([1, 2])(fromBuffer);
      },
    },
  ],
  'frames-binary-kinds': [
    simple('new Int16Array([1, -2])', () => new Int16Array([1, -2])),
    simple('new DataView(new Uint8Array([5, 6]).buffer)', () => new DataView(new Uint8Array([5, 6]).buffer)),
    {
      source: 'Buffer.from([1, 2])',
      make: () => Buffer.from([1, 2]),
      check: arrivesAs(new Uint8Array([1, 2])),
      asJson: () => new Uint8Array([1, 2]),
    },
    simple('new BigInt64Array([-1n])', () => new BigInt64Array([-1n])),
  ],
  'frame-proto-key': [
    {
      source: `JSON.parse('{"__proto__": 5}')`,
      make: () => JSON.parse('{"__proto__": 5}') as unknown,
      check: (received) => {
        expect(Object.getPrototypeOf(received)).toBe(Object.prototype);
        expect(Object.keys(received as object)).toEqual(['__proto_']);
        expect((received as Record<string, unknown>)['__proto_']).toBe(5);
      },
    },
  ],
  'frames-date-forms': [
    simple('new Date(1)', () => new Date(1)),
    simple('new Date(2 ** 32 * 1000)', () => new Date(2 ** 32 * 1000)),
    simple('new Date(1.5e15)', () => new Date(1.5e15)),
  ],
  'frames-reference-ids': [
    {
      source: '[d, d] with d = new Date(0)',
      make: () => {
        const d = new Date(0);
        return [d, d];
      },
      check: (received) => {
        const [first, second] = received as [Date, Date];
        expect(first).toStrictEqual(new Date(0));
        expect(second).toBe(first);
      },
    },
    {
      source: '[s, [s]] with s = new Set([1])',
      make: () => {
        const set = new Set([1]);
        return [set, [set]];
      },
      check: (received) => {
        const [first, [second]] = received as [Set<number>, [Set<number>]];
        expect(first).toStrictEqual(new Set([1]));
        expect(second).toBe(first);
      },
    },
  ],
  'frames-error-fields': [
    {
      source: "Object.assign(new RangeError('out', { cause: 42 }), { code: 'E1' })",
      make: () => Object.assign(new RangeError('out', { cause: 42 }), { code: 'E1' }),
      check: (received) => {
        expect(Object.getPrototypeOf(received)).toBe(RangeError.prototype);
        expect((received as Error).message).toBe('out');
        expect((received as Error).cause).toBe(42);
        expect(Object.hasOwn(received as object, 'code')).toBe(false);
      },
    },
  ],
  'frames-single-use-records': [
    simple("[{ [k]: 1 }, { [k]: 2 }] with k = 'a'.repeat(1021)", () => [{ ['a'.repeat(1021)]: 1 }, { ['a'.repeat(1021)]: 2 }]),
    simple("{ [k]: 3 } with k = 'a'.repeat(1021)", () => ({ ['a'.repeat(1021)]: 3 })),
  ],
  'frames-refused-send-resets-records': [
    simple('{ a: 1 }', () => ({ a: 1 })),
    { source: '{ a: 1, f() {} }', make: () => ({ a: 1, f() {} }), refused: true },
    simple('{ a: 2 }', () => ({ a: 2 })),
    { source: '501 nested arrays around 0', make: () => nested(501), refused: true },
    simple('{ a: 3 }', () => ({ a: 3 })),
  ],
};

/** What the `received:` lines of each decode vector (§8.7) stand for. */
const DECODE_VECTORS: Readonly<Record<string, readonly Sent[]>> = {
  'decode-reserved-in-cause': [],
  'decode-reserved-in-errors': [],
  'decode-bundled-strings': [],
  'decode-prefix-forms': [simple('new Set([1])', () => new Set([1])), simple('/a/g', () => /a/g)],
  'decode-undefined-forms': [simple('undefined', () => undefined)],
  'decode-empty-slot': [],
  'decode-two-byte-record': [],
  'decode-key-list-kept': [
    simple("{ [k]: 1 } with k = 'a'.repeat(1020)", () => ({ ['a'.repeat(1020)]: 1 })),
    simple("{ [k]: 2 } with k = 'a'.repeat(1020)", () => ({ ['a'.repeat(1020)]: 2 })),
  ],
  'decode-key-list-single-use': [simple("{ [k]: 1 } with k = 'a'.repeat(1021)", () => ({ ['a'.repeat(1021)]: 1 }))],
  'decode-nesting-500': [simple('500 nested arrays around 0', () => nested(500))],
  'decode-nesting-501': [],
  'decode-invalid-utf8': [simple("'a\\ufffdb'", () => 'a\ufffdb')],
};

/** A request vector (§8.8): the listener's request handler, and the values of its request:, reply: and failure: lines, in order. */
interface RequestVector {
  /** The `handler:` line verbatim (`none`: no handler), and what it does. */
  readonly handler: { readonly source: string; readonly run: ((value: never, respond: (reply: unknown) => void) => void) | null };
  readonly messages: readonly Sent[];
}

const REQUEST_VECTORS: Readonly<Record<string, RequestVector>> = {
  'request-reply': {
    handler: {
      source: '(value, respond) => respond({ sum: value.args[0] + value.args[1] })',
      run: (value: { args: [number, number] }, respond) => respond({ sum: value.args[0] + value.args[1] }),
    },
    messages: [
      simple("{ op: 'add', args: [1, 2] }", () => ({ op: 'add', args: [1, 2] })),
      simple('{ sum: 3 }', () => ({ sum: 3 })),
      simple("{ op: 'add', args: [2, 3] }", () => ({ op: 'add', args: [2, 3] })),
      simple('{ sum: 5 }', () => ({ sum: 5 })),
    ],
  },
  'request-failure-no-handler': {
    handler: { source: 'none', run: null },
    messages: [
      simple("'anyone?'", () => 'anyone?'),
      simple("{ code: 'ERR_DATASOCKET_NO_HANDLER', name: 'Error', message: 'the peer has no request handler' }", () => ({
        code: 'ERR_DATASOCKET_NO_HANDLER',
        name: 'Error',
        message: 'the peer has no request handler',
      })),
    ],
  },
  'request-failure-remote': {
    handler: {
      source: "() => { throw new RangeError('division by zero') }",
      run: () => {
        throw new RangeError('division by zero');
      },
    },
    messages: [
      simple("{ op: 'div', args: [1, 0] }", () => ({ op: 'div', args: [1, 0] })),
      simple("{ code: 'ERR_DATASOCKET_REMOTE', name: 'RangeError', message: 'division by zero' }", () => ({
        code: 'ERR_DATASOCKET_REMOTE',
        name: 'RangeError',
        message: 'division by zero',
      })),
    ],
  },
  'request-binary': {
    handler: {
      source: '(value, respond) => respond(new Float64Array([value.length]))',
      run: (value: Uint8Array, respond) => respond(new Float64Array([value.length])),
    },
    messages: [simple('new Uint8Array([1, 2, 3])', () => new Uint8Array([1, 2, 3])), simple('new Float64Array([3])', () => new Float64Array([3]))],
  },
};

/** Every vector PROTOCOL.md must carry, in the order it carries them. */
const EXPECTED_IDS = [
  'hello-client',
  'hello-client-token',
  'hello-listener',
  'hello-listener-token',
  'auth-ascii-token',
  'auth-utf8-token',
  'verdict-accepted',
  'verdict-rejected',
  'verdict-auth-failed',
  'verdict-protocol',
  'handshake-plain-accepted',
  'handshake-plain-rejected',
  'handshake-token-accepted',
  'handshake-token-mismatch',
  'handshake-token-on-client-only',
  'handshake-foreign-version-2',
  'handshake-foreign-client-without-pings',
  'handshake-foreign-listener-without-pings',
  'handshake-foreign-client-without-requests',
  'handshake-foreign-listener-without-requests',
  'frame-null',
  'frame-integer',
  'frame-string',
  'frame-object',
  'frame-array',
  'frame-uint8array',
  'frame-float64array',
  'frame-arraybuffer',
  'frame-end',
  'ping-pong',
  'frames-records',
  'frames-scalars',
  'frames-bigint',
  'frames-date',
  'frames-collections',
  'frames-regexp-error',
  'frames-references',
  'frames-nested-binary',
  'frames-binary-kinds',
  'frame-proto-key',
  'frames-date-forms',
  'frames-reference-ids',
  'frames-error-fields',
  'frames-single-use-records',
  'frames-refused-send-resets-records',
  'decode-reserved-in-cause',
  'decode-reserved-in-errors',
  'decode-bundled-strings',
  'decode-prefix-forms',
  'decode-undefined-forms',
  'decode-empty-slot',
  'decode-two-byte-record',
  'decode-key-list-kept',
  'decode-key-list-single-use',
  'decode-nesting-500',
  'decode-nesting-501',
  'decode-invalid-utf8',
  'request-reply',
  'request-failure-no-handler',
  'request-failure-remote',
  'request-binary',
];

const UNLIMITED = { maxFrameBytes: 2 ** 32 - 1, budget: Number.MAX_SAFE_INTEGER };

/** The values of a frame vector, each with its frame (null for a `refused:` one), checked against the table above. */
function framePairs(vector: Vector): { sent: Sent; frame: Uint8Array | null }[] {
  const lines = vector.fields.filter((f) => f.key === 'value' || f.key === 'refused' || f.key === 'frame');
  const table = FRAME_VECTORS[vector.id];
  if (table === undefined) throw new Error(`this test has no values for vector ${vector.id}`);
  // Each value line comes before its frame line (its json line between them); a refused line has none.
  expect(
    lines.map((f) => f.key),
    `the lines of ${vector.id}`,
  ).toEqual(table.flatMap((sent) => (sent.refused ? ['refused'] : ['value', 'frame'])));
  const sources = lines.filter((f) => f.key !== 'frame').map((f) => f.value);
  expect(sources, `the value: and refused: lines of ${vector.id}`).toEqual(table.map((s) => s.source));
  const frames = all(vector, 'frame').map(bytes);
  let next = 0;
  return table.map((sent) => ({ sent, frame: sent.refused ? null : frames[next++]! }));
}

/** Reads a byte stream `chunk` bytes at a time, as a connection does; returns each frame's kind and body. */
function readFrames(stream: Uint8Array, chunk: number): { kind: number; body: Uint8Array }[] {
  const frames: { kind: number; body: Uint8Array }[] = [];
  const reader = new FrameReader(64 * 1024 * 1024, (kind, source, start, end) => frames.push({ kind, body: source.slice(start, end) }));
  for (let i = 0; i < stream.length; i += chunk) reader.push(stream.subarray(i, Math.min(stream.length, i + chunk)));
  expect(reader.midFrame).toBe(false);
  return frames;
}

/** Decodes a whole stream with one connection's reader and decoder. */
function decodeStream(stream: Uint8Array, chunk: number): unknown[] {
  const decoder = new ValueDecoder();
  const values: unknown[] = [];
  const reader = new FrameReader(64 * 1024 * 1024, (kind, source, start, end, owned) => values.push(decoder.decode(kind, source, start, end, owned)));
  for (let i = 0; i < stream.length; i += chunk) reader.push(stream.subarray(i, Math.min(stream.length, i + chunk)));
  expect(reader.midFrame).toBe(false);
  return values;
}

// ---------------------------------------------------------------------------
// Whole handshakes between two state machines, as PROTOCOL.md §3 describes them.

type Outcome = string;

function codeOf(error: unknown): string {
  expect(error).toBeInstanceOf(DataSocketError);
  return (error as DataSocketError).code;
}

/** How one side of a handshake ended, and whether it may then ping its peer and send it requests. */
interface Side {
  outcome: Outcome;
  pings: boolean;
  requests: boolean;
}

/**
 * Runs a listener against a client (each a Handshake, or the raw bytes of a foreign
 * one: `rawClient`, `rawListener`) until neither has anything left to say; returns what
 * each wrote and how each ended.
 */
function converse(options: {
  clientToken?: string;
  rawClient?: Uint8Array;
  listenerToken?: string;
  rawListener?: Uint8Array;
  accept: boolean;
}): { clientSends: Uint8Array; listenerSends: Uint8Array; client: Side; listener: Side } {
  const byClient: Uint8Array[] = [];
  const byListener: Uint8Array[] = [];
  const toListener: Uint8Array[] = [];
  const toClient: Uint8Array[] = [];
  let client: Outcome = 'pending';
  let listener: Outcome = 'pending';
  const listenerSide =
    options.rawListener === undefined
      ? new Handshake(
          'listener',
          options.listenerToken,
          (b) => {
            byListener.push(b.slice());
            toClient.push(b.slice());
          },
          LISTENER_NONCE,
        )
      : null;
  const clientSide =
    options.rawClient === undefined
      ? new Handshake(
          'client',
          options.clientToken,
          (b) => {
            byClient.push(b.slice());
            toListener.push(b.slice());
          },
          CLIENT_NONCE,
        )
      : null;
  if (listenerSide) listenerSide.start();
  else {
    byListener.push(options.rawListener!);
    toClient.push(options.rawListener!);
  }
  if (clientSide) clientSide.start();
  else {
    byClient.push(options.rawClient!);
    toListener.push(options.rawClient!);
  }
  for (let round = 0; round < 16 && (toListener.length > 0 || toClient.length > 0); round++) {
    for (const chunk of toListener.splice(0)) {
      if (listener !== 'pending' || listenerSide === null) continue;
      try {
        if (listenerSide.push(chunk).done) {
          listenerSide.sendVerdict(options.accept);
          listener = options.accept ? 'open' : 'refused';
        }
      } catch (error) {
        listener = codeOf(error);
      }
    }
    for (const chunk of toClient.splice(0)) {
      if (client !== 'pending' || clientSide === null) continue;
      try {
        const step = clientSide.push(chunk);
        if (step.done) {
          expect(step.rest).toHaveLength(0);
          client = 'open';
        }
      } catch (error) {
        client = codeOf(error);
      }
    }
  }
  return {
    clientSends: concat(byClient),
    listenerSends: concat(byListener),
    client: { outcome: client, pings: clientSide?.peerPings ?? false, requests: clientSide?.peerRequests ?? false },
    listener: { outcome: listener, pings: listenerSide?.peerPings ?? false, requests: listenerSide?.peerRequests ?? false },
  };
}

/** A `yes` / `no` field. */
function yesNo(text: string): boolean {
  expect(['yes', 'no']).toContain(text);
  return text === 'yes';
}

// ---------------------------------------------------------------------------

describe('§3 values: every frame PROTOCOL.md documents decodes back to its value', () => {
  for (const vector of byPrefix('frame').filter((v) => v.id !== 'frame-end')) {
    it(`decodes the frames of ${vector.id}, whole or one byte at a time`, () => {
      const pairs = framePairs(vector).filter((p) => p.frame !== null);
      const stream = concat(pairs.map((p) => p.frame!));
      for (const chunk of [stream.length, 1]) {
        const received = decodeStream(stream, chunk);
        expect(received).toHaveLength(pairs.length);
        pairs.forEach(({ sent }, i) => (sent.check ?? arrivesAs(sent.make()))(received[i]));
      }
    });
  }
});

describe('§5.3–§5.5 decoding rules: every decode vector of PROTOCOL.md ends as documented', () => {
  for (const vector of byPrefix('decode-')) {
    it(`decodes ${vector.id} and ends in ${optional(vector, 'result')}`, () => {
      const frames = all(vector, 'frame').map(bytes);
      const received = all(vector, 'received');
      const result = one(vector, 'result');
      const table = DECODE_VECTORS[vector.id];
      if (table === undefined) throw new Error(`this test has no values for vector ${vector.id}`);
      expect(received, `the received: lines of ${vector.id}`).toEqual(table.map((s) => s.source));
      expect(received).toHaveLength(result === 'values' ? frames.length : frames.length - 1);
      // Each frame whole, then the whole stream one byte at a time.
      const stream = concat(frames);
      for (const chunks of [frames, Array.from(stream, (b) => Uint8Array.of(b))]) {
        const decoder = new ValueDecoder();
        let outcome = 'values';
        const values: unknown[] = [];
        const reader = new FrameReader(64 * 1024 * 1024, (kind, source, start, end, owned) => values.push(decoder.decode(kind, source, start, end, owned)));
        for (const chunk of chunks) {
          try {
            reader.push(chunk);
          } catch (error) {
            outcome = codeOf(error);
            break;
          }
        }
        expect(outcome).toBe(result);
        expect(reader.midFrame).toBe(false);
        expect(values).toHaveLength(received.length);
        table.forEach((sent, i) => (sent.check ?? arrivesAs(sent.make()))(values[i]));
      }
    });
  }
});

// ---------------------------------------------------------------------------
// §8.1: every value of a vector is also written as JSON, in the CLI's text form.

/** The keys of the lines that hold a value; the line after each is its JSON form. */
const VALUE_KEYS = new Set(['value', 'received', 'refused', 'request', 'reply', 'failure']);
const JSON_KEYS = new Set(['json', 'no-json']);

/** The JSON form of one value line: a `json:` line, or a `no-json:` line with its reason. */
interface JsonForm {
  /** The value line it follows, verbatim. */
  readonly source: string;
  readonly json: string | undefined;
  readonly reason: string | undefined;
}

/** The JSON form right after each value line of a vector, in order; throws where one is missing, continued or out of place. */
function jsonForms(vector: Vector): JsonForm[] {
  const forms: JsonForm[] = [];
  vector.fields.forEach((field, i) => {
    if (VALUE_KEYS.has(field.key)) {
      const next = vector.fields[i + 1];
      if (next === undefined || !JSON_KEYS.has(next.key)) {
        throw new Error(`vector ${vector.id}: '${field.key}: ${field.value}' is not followed by a json: or no-json: line`);
      }
      if (next.key === 'json' && next.lines !== 1) throw new Error(`vector ${vector.id}: the json: line of '${field.value}' is continued; JSON is one line`);
      forms.push({ source: field.value, json: next.key === 'json' ? next.value : undefined, reason: next.key === 'no-json' ? next.value : undefined });
    } else if (JSON_KEYS.has(field.key) && !VALUE_KEYS.has(vector.fields[i - 1]?.key ?? '')) {
      throw new Error(`vector ${vector.id}: a ${field.key}: line that follows no value line`);
    }
  });
  return forms;
}

/** Whether `action` throws: whether the expectation it makes fails. */
function differs(action: () => void): boolean {
  try {
    action();
  } catch {
    return true;
  }
  return false;
}

describe('§8.1 every value of a vector is also written as JSON, in the CLI form', () => {
  it('has a json: or no-json: line right after every value:, received: and refused: line, and nowhere else', () => {
    const forms = vectors.flatMap(jsonForms);
    const valueLines = vectors.flatMap((v) => v.fields.filter((f) => VALUE_KEYS.has(f.key)));
    expect(forms).toHaveLength(valueLines.length);
    expect(vectors.flatMap((v) => v.fields.filter((f) => JSON_KEYS.has(f.key)))).toHaveLength(valueLines.length);
    // Pinned, so that a json: line turned into a no-json: one shows here.
    expect({ json: forms.filter((f) => f.json !== undefined).length, noJson: forms.filter((f) => f.json === undefined).length }).toEqual({ json: 71, noJson: 2 });
  });

  it('compares values strictly enough for the JSON form: -0, NaN, binary types and bytes, classes, causes', () => {
    expect(differs(() => expect(-0).toStrictEqual(0))).toBe(true);
    expect(differs(() => expect(NaN).toStrictEqual(NaN))).toBe(false);
    expect(differs(() => expect(new Date(NaN)).toStrictEqual(new Date(NaN)))).toBe(false);
    expect(differs(() => expect(new Date(0)).toStrictEqual(new Date(1)))).toBe(true);
    expect(differs(() => expect(1n).toStrictEqual(1))).toBe(true);
    expect(differs(() => expect({ a: undefined }).toStrictEqual({}))).toBe(true);
    expect(differs(() => expect(new Int8Array([1])).toStrictEqual(new Uint8Array([1])))).toBe(true);
    expect(differs(() => expect(new Uint8Array([1])).toStrictEqual(new Uint8Array([2])))).toBe(true);
    expect(differs(() => expect(new Uint8Array([1, 2]).buffer).toStrictEqual(new Uint8Array([1, 3]).buffer))).toBe(true);
    expect(differs(() => expect(new Uint8Array([1]).buffer).toStrictEqual(new Uint8Array([1])))).toBe(true);
    expect(differs(() => expect(new DataView(new Uint8Array([1]).buffer)).toStrictEqual(new DataView(new Uint8Array([2]).buffer)))).toBe(true);
    expect(differs(() => expect(Buffer.from([1])).toStrictEqual(new Uint8Array([1])))).toBe(true);
    expect(differs(() => expect(new Set([1])).toStrictEqual(new Set(['1'])))).toBe(true);
    expect(differs(() => expect(/a/g).toStrictEqual(/a/i))).toBe(true);
    expect(differs(() => expect(new TypeError('a')).toStrictEqual(new Error('a')))).toBe(true);
    // (vitest compares a cause when the expected error, the vector's value, has one)
    expect(differs(() => expect(new Error('a')).toStrictEqual(new Error('a', { cause: 1 })))).toBe(true);
    expect(differs(() => expect(Object.assign(new Error('a'), { name: 'X' })).toStrictEqual(new Error('a')))).toBe(true);
  });

  for (const vector of vectors.filter((v) => v.fields.some((f) => VALUE_KEYS.has(f.key)))) {
    it(`writes the values of ${vector.id} as the JSON the CLI prints, which reads back as them`, () => {
      const table = FRAME_VECTORS[vector.id] ?? DECODE_VECTORS[vector.id] ?? REQUEST_VECTORS[vector.id]?.messages;
      if (table === undefined) throw new Error(`this test has no values for vector ${vector.id}`);
      const forms = jsonForms(vector);
      expect(
        forms.map((f) => f.source),
        `the value lines of ${vector.id}`,
      ).toEqual(table.map((s) => s.source));
      table.forEach((sent, i) => {
        const { json, reason } = forms[i]!;
        const expected = (sent.asJson ?? sent.make)();
        if (json !== undefined) {
          expect(json, sent.source).toBe(stringifyValue(sent.make()));
          expect(parseValue(json), sent.source).toStrictEqual(expected);
        } else {
          expect(reason, sent.source).toMatch(/\S/);
          // A no-json: line only where the form cannot hold the value.
          expect(differs(() => expect(parseValue(stringifyValue(sent.make()))).toStrictEqual(expected)), `${sent.source} has a JSON form: give it a json: line`).toBe(true);
        }
      });
    });
  }
});

describe('§4 wire protocol: PROTOCOL.md documents the bytes the code writes and reads', () => {
  it('has exactly the vectors this test checks, each once, in order', () => {
    expect(vectors.map((v) => v.id)).toEqual(EXPECTED_IDS);
  });

  it('has no vector block this test cannot read', () => {
    const markdown = readFileSync(PROTOCOL_MD, 'utf8');
    expect(markdown.match(/^```vector/gm) ?? []).toHaveLength(EXPECTED_IDS.length);
    expect(vectors).toHaveLength(61);
  });

  it('has a value table entry for every frame vector and none for vectors it lacks', () => {
    const frameIds = vectors.filter((v) => v.id.startsWith('frame') && v.id !== 'frame-end').map((v) => v.id);
    expect(Object.keys(FRAME_VECTORS).sort()).toEqual(frameIds.sort());
    expect(Object.keys(DECODE_VECTORS).sort()).toEqual(byPrefix('decode-').map((v) => v.id).sort());
    expect(Object.keys(REQUEST_VECTORS).sort()).toEqual(byPrefix('request-').map((v) => v.id).sort());
  });

  for (const vector of byPrefix('hello-')) {
    it(`writes the HELLO of ${vector.id}`, () => {
      const flags = parseInt(one(vector, 'flags'), 16);
      const nonce = bytes(one(vector, 'nonce'));
      const hello = bytes(one(vector, 'hello'));
      expect(hex(encodeHello(flags, nonce))).toBe(hex(hello));
      expect(decodeHello(hello)).toEqual({ version: PROTOCOL_VERSION, codec: CODEC_MSGPACKR_V1, flags, reserved: 0, nonce });
      // The state machine of the role and token the flags describe sends exactly these bytes; it always answers pings and takes requests.
      expect(flags & HelloFlag.PINGS).toBe(HelloFlag.PINGS);
      expect(flags & HelloFlag.REQUESTS).toBe(HelloFlag.REQUESTS);
      const written: Uint8Array[] = [];
      const role = flags & HelloFlag.LISTENER ? 'listener' : 'client';
      new Handshake(role, flags & HelloFlag.TOKEN ? 'any token' : undefined, (b) => written.push(b), nonce).start();
      expect(hex(concat(written))).toBe(hex(hello));
    });
  }

  const CLIENT_ENDS: Readonly<Record<number, string>> = {
    [Verdict.ACCEPTED]: 'open',
    [Verdict.REJECTED]: ErrorCode.REJECTED,
    [Verdict.AUTH_FAILED]: ErrorCode.AUTH_FAILED,
    [Verdict.PROTOCOL]: ErrorCode.PROTOCOL,
  };
  for (const vector of byPrefix('verdict-')) {
    it(`writes ${vector.id} and a client reads it as documented`, () => {
      const status = Number(one(vector, 'status')) as VerdictStatus;
      const verdict = bytes(one(vector, 'verdict'));
      expect(hex(encodeVerdict(status))).toBe(hex(verdict));
      const listenerHello = bytes(one(vectors.find((v) => v.id === 'hello-listener')!, 'hello'));
      const client = new Handshake('client', undefined, () => {}, CLIENT_NONCE);
      client.start();
      let outcome: string;
      try {
        outcome = client.push(concat([listenerHello, verdict])).done ? 'open' : 'pending';
      } catch (error) {
        outcome = codeOf(error);
      }
      expect(outcome).toBe(CLIENT_ENDS[status]);
    });
  }

  for (const vector of byPrefix('handshake-')) {
    it(`exchanges exactly the bytes of ${vector.id} and ends as documented`, () => {
      const clientToken = optional(vector, 'client-token');
      const listenerToken = optional(vector, 'listener-token');
      expect(clientToken !== undefined || listenerToken !== undefined, 'at least one side is this implementation').toBe(true);
      // A foreign listener's bytes hold its verdict: no acceptor then.
      const acceptor = listenerToken === undefined ? undefined : one(vector, 'acceptor');
      if (acceptor === undefined) expect(optional(vector, 'acceptor')).toBeUndefined();
      else expect(['accepts', 'refuses']).toContain(acceptor);
      const result = converse({
        ...(clientToken === undefined ? { rawClient: bytes(one(vector, 'client-sends')) } : { clientToken: token(clientToken) }),
        ...(listenerToken === undefined ? { rawListener: bytes(one(vector, 'listener-sends')) } : { listenerToken: token(listenerToken) }),
        accept: acceptor === 'accepts',
      });
      expect(hex(result.clientSends)).toBe(one(vector, 'client-sends'));
      expect(hex(result.listenerSends)).toBe(one(vector, 'listener-sends'));
      for (const [side, present, ended] of [
        ['client', clientToken !== undefined, result.client],
        ['listener', listenerToken !== undefined, result.listener],
      ] as const) {
        if (!present) {
          expect(optional(vector, `${side}-result`)).toBeUndefined();
          expect(optional(vector, `${side}-pings`)).toBeUndefined();
          expect(optional(vector, `${side}-requests`)).toBeUndefined();
          continue;
        }
        expect(ended.outcome).toBe(one(vector, `${side}-result`));
        // Whether this side may ping, and send requests, is stated for every side that opens, and only for those.
        if (ended.outcome === 'open') {
          expect(ended.pings, `${side}-pings`).toBe(yesNo(one(vector, `${side}-pings`)));
          expect(ended.requests, `${side}-requests`).toBe(yesNo(one(vector, `${side}-requests`)));
        } else {
          expect(optional(vector, `${side}-pings`)).toBeUndefined();
          expect(optional(vector, `${side}-requests`)).toBeUndefined();
        }
      }
    });
  }

  for (const vector of byPrefix('frame').filter((v) => v.id !== 'frame-end')) {
    it(`encodes ${vector.id} on a fresh connection to exactly its frames`, () => {
      const encoder = new ValueEncoder();
      for (const { sent, frame } of framePairs(vector)) {
        const writer = new FrameWriter();
        if (frame === null) {
          expect(() => encoder.encode(sent.make(), writer, UNLIMITED), sent.source).toThrow(expect.objectContaining({ code: ErrorCode.UNSERIALIZABLE }));
          expect(writer.pendingBytes).toBe(0);
          continue;
        }
        const size = encoder.encode(sent.make(), writer, UNLIMITED);
        expect(hex(concat(writer.take().chunks)), sent.source).toBe(hex(frame));
        expect(size).toBe(frame.length);
      }
    });
  }

  it('writes END as an empty frame of kind 7f and reads it back as one', () => {
    const end = bytes(one(vectors.find((v) => v.id === 'frame-end')!, 'frame'));
    const writer = new FrameWriter();
    writer.appendEnd();
    expect(hex(concat(writer.take().chunks))).toBe(hex(end));
    expect(readFrames(end, 1)).toEqual([{ kind: FrameKind.END, body: new Uint8Array(0) }]);
  });

  it('writes PING and PONG as the empty frames of ping-pong, reads them back, and refuses them with a body', () => {
    const vector = vectors.find((v) => v.id === 'ping-pong')!;
    for (const [key, kind] of [
      ['ping', FrameKind.PING],
      ['pong', FrameKind.PONG],
    ] as const) {
      const frame = bytes(one(vector, key));
      const writer = new FrameWriter();
      writer.appendControl(kind);
      expect(writer.pendingCount, 'not a value').toBe(0);
      expect(hex(concat(writer.take().chunks))).toBe(hex(frame));
      expect(readFrames(frame, 1)).toEqual([{ kind, body: new Uint8Array(0) }]);
      const withBody = Uint8Array.of(0, 0, 0, 1, kind, 0);
      expect(() => readFrames(withBody, withBody.length)).toThrow(expect.objectContaining({ code: ErrorCode.PROTOCOL }));
    }
  });

  it('relays a PING only to a peer that set PINGS, a PONG (the answer to its own PING) to any (the bridge host scans what a page sends)', () => {
    const vector = vectors.find((v) => v.id === 'ping-pong')!;
    const ping = bytes(one(vector, 'ping'));
    const pong = bytes(one(vector, 'pong'));
    expect(() => new FrameScanner(1024, true, true).scan(concat([ping, pong, ping]))).not.toThrow();
    expect(() => new FrameScanner(1024, false, true).scan(pong)).not.toThrow();
    expect(() => new FrameScanner(1024, false, true).scan(ping)).toThrow(expect.objectContaining({ code: ErrorCode.PROTOCOL }));
    expect(() => new FrameScanner(1024, true, true).scan(Uint8Array.of(0, 0, 0, 1, FrameKind.PING, 0))).toThrow(expect.objectContaining({ code: ErrorCode.PROTOCOL }));
  });

  it('announces in every frame header the length of the body that follows it', () => {
    for (const vector of [...byPrefix('frame'), ...byPrefix('decode-'), ...byPrefix('request-')]) {
      for (const frame of [...all(vector, 'frame'), ...all(vector, 'prefix')].map(bytes)) {
        const [read] = readFrames(frame, frame.length);
        expect(read!.body.length + 5).toBe(frame.length);
      }
    }
  });
});

// ---------------------------------------------------------------------------
// §8.8: requests, played between two real socket cores.

/** One request:, reply: or failure: line of a request vector, with its two frames (and, for an answer, its result). */
interface RequestMessage {
  readonly key: 'request' | 'reply' | 'failure';
  readonly sent: Sent;
  readonly prefix: Uint8Array;
  readonly frame: Uint8Array;
  readonly result: string | undefined;
}

/** The messages of a request vector, in order, checked against its table; throws where a line is missing or out of place. */
function requestMessages(vector: Vector): RequestMessage[] {
  const table = REQUEST_VECTORS[vector.id];
  if (table === undefined) throw new Error(`this test has no values for vector ${vector.id}`);
  expect(one(vector, 'handler'), `the handler: line of ${vector.id}`).toBe(table.handler.source);
  // handler, then for each request: request json prefix frame, answer json prefix frame result.
  const shape = ['handler', ...table.messages.flatMap((_, i) => (i % 2 === 0 ? ['request', 'json', 'prefix', 'frame'] : ['(answer)', 'json', 'prefix', 'frame', 'result']))];
  const keys = vector.fields.map((f) => f.key);
  expect(
    keys.map((k, i) => (shape[i] === '(answer)' && (k === 'reply' || k === 'failure') ? '(answer)' : k)),
    `the lines of ${vector.id}`,
  ).toEqual(shape);
  const messages: RequestMessage[] = [];
  vector.fields.forEach((field, i) => {
    if (field.key !== 'request' && field.key !== 'reply' && field.key !== 'failure') return;
    const sent = table.messages[messages.length]!;
    expect(field.value, `a value line of ${vector.id}`).toBe(sent.source);
    messages.push({
      key: field.key,
      sent,
      prefix: bytes(vector.fields[i + 2]!.value),
      frame: bytes(vector.fields[i + 3]!.value),
      result: field.key === 'request' ? undefined : vector.fields[i + 4]!.value,
    });
  });
  return messages;
}

/** The shared core Node's and the page's sockets run, open to a peer that set PINGS and REQUESTS, on a carrier that keeps what it writes. */
class VectorSide extends DataSocketCore {
  readonly #written: Uint8Array[] = [];
  /** The `count` of each transmit: how many of its frames were send() messages. */
  readonly counts: number[] = [];
  readonly events: string[] = [];

  constructor(role: 'client' | 'accepted') {
    super(role, { ...DEFAULTS }, { name: 'vector', path: '/vector.sock' });
    this.attach({
      blocked: false,
      peerPings: true,
      peerRequests: true,
      transmit: (chunks, bytes, count) => {
        for (const chunk of chunks) this.#written.push(chunk.slice());
        this.counts.push(count);
        this.sent(bytes, count);
      },
      end: () => {},
      destroy: () => {},
    });
    for (const event of ['data', 'sent', 'error', 'close'] as const) this.on(event, () => this.events.push(event));
    this.opened();
  }

  /** Everything written since the last take. */
  take(): Uint8Array {
    return concat(this.#written.splice(0));
  }

  /** Receives `stream`, `chunk` bytes at a time, as from a socket. */
  feed(stream: Uint8Array, chunk: number): void {
    for (let i = 0; i < stream.length; i += chunk) this.receive(stream.subarray(i, Math.min(stream.length, i + chunk)));
  }
}

/** One direction's frames read back with a frame reader and a decoder: each request frame's kind and id, with the value after it. */
function readMessages(stream: Uint8Array): { kind: number; id: number; value: unknown }[] {
  const decoder = new ValueDecoder();
  const read: { kind: number; id: number; value: unknown }[] = [];
  let prefix: { kind: number; id: number } | null = null;
  const reader = new FrameReader(64 * 1024 * 1024, (kind, source, start, end, owned) => {
    if (isPrefixKind(kind)) {
      expect(prefix, 'a request frame right after another').toBeNull();
      prefix = { kind, id: new DataView(source.buffer, source.byteOffset + start, end - start).getUint32(0) };
      return;
    }
    expect(prefix, 'a value frame without its request frame').not.toBeNull();
    read.push({ ...prefix!, value: decoder.decode(kind, source, start, end, owned) });
    prefix = null;
  });
  reader.push(stream);
  expect(reader.midFrame).toBe(false);
  expect(prefix, 'a request frame without its value').toBeNull();
  return read;
}

const PREFIX_OF = { request: FrameKind.REQUEST, reply: FrameKind.REPLY, failure: FrameKind.FAILURE } as const;

describe('§10 requests: every request vector of PROTOCOL.md is what a client and a listener write to each other, and ends as documented', () => {
  for (const vector of byPrefix('request-')) {
    it(`plays ${vector.id} between a client and a listener, whole and one byte at a time`, async () => {
      const messages = requestMessages(vector);
      const { run } = REQUEST_VECTORS[vector.id]!.handler;
      for (const chunk of [Number.MAX_SAFE_INTEGER, 1]) {
        const client = new VectorSide('client');
        const listener = new VectorSide('accepted');
        const asked: unknown[] = [];
        if (run !== null) {
          listener.on('request', (value: unknown, respond) => {
            asked.push(value);
            (run as (value: unknown, respond: (reply: unknown) => void) => void)(value, respond);
          });
        }
        const toListener: Uint8Array[] = [];
        const toClient: Uint8Array[] = [];
        for (let m = 0; m < messages.length; m += 2) {
          const request = messages[m]!;
          const answer = messages[m + 1]!;
          expect(request.key).toBe('request');
          const settled = client.request(request.sent.make()).then(
            (value) => ({ value }),
            (error: unknown) => ({ error }),
          );
          // The client writes the request frame and its value at once, in one transmit.
          const asks = client.take();
          expect(hex(asks), request.sent.source).toBe(hex(concat([request.prefix, request.frame])));
          toListener.push(asks);
          listener.feed(asks, chunk);
          // The listener's answer, written as the request arrives (its handler answers at once).
          const answers = listener.take();
          expect(hex(answers), answer.sent.source).toBe(hex(concat([answer.prefix, answer.frame])));
          toClient.push(answers);
          client.feed(answers, chunk);
          const outcome = await settled;
          if (answer.result === 'resolves') {
            expect(answer.key).toBe('reply');
            expect('value' in outcome, `${request.sent.source} resolves`).toBe(true);
            (answer.sent.check ?? arrivesAs(answer.sent.make()))((outcome as { value: unknown }).value);
            continue;
          }
          expect(answer.key).toBe('failure');
          expect('error' in outcome, `${request.sent.source} rejects`).toBe(true);
          const error = (outcome as { error: unknown }).error;
          expect(codeOf(error)).toBe(answer.result);
          const failure = answer.sent.make() as { code: string; name: string; message: string };
          expect(failure.code).toBe(answer.result);
          if (answer.result === ErrorCode.REMOTE) {
            const cause = (error as DataSocketError).cause as Error;
            expect(cause).toBeInstanceOf(Error);
            expect({ name: cause.name, message: cause.message }).toEqual({ name: failure.name, message: failure.message });
          }
        }
        // The handler got each request's value, decoded.
        if (run !== null) {
          const requests = messages.filter((m) => m.key === 'request');
          expect(asked).toHaveLength(requests.length);
          requests.forEach((m, i) => (m.sent.check ?? arrivesAs(m.sent.make()))(asked[i]));
        }
        // Neither a request nor an answer is a send() message: no transmit counted one, no 'sent', no 'data'; both stay open.
        expect([...client.counts, ...listener.counts].every((n) => n === 0)).toBe(true);
        expect([...client.events, ...listener.events]).toEqual([]);
        expect([client.state, listener.state]).toEqual(['open', 'open']);

        // Each direction read back by a frame reader and a decoder of its own: the kinds, the
        // ids (the client's requests count from 1), and the values of the lines.
        const asks = readMessages(concat(toListener));
        const answers = readMessages(concat(toClient));
        messages.forEach((message, i) => {
          const read = (i % 2 === 0 ? asks : answers)[i >> 1]!;
          expect(read.kind, message.sent.source).toBe(PREFIX_OF[message.key]);
          expect(read.id).toBe((i >> 1) + 1);
          expect(hex(message.prefix.subarray(5))).toBe(hex(Uint8Array.of(0, 0, 0, (i >> 1) + 1)));
          (message.sent.check ?? arrivesAs(message.sent.make()))(read.value);
        });
      }
    });
  }

  it('writes each prefix with FrameWriter.appendPrefix exactly as the vectors show it, and counts it as no message', () => {
    for (const message of byPrefix('request-').flatMap(requestMessages)) {
      const id = new DataView(message.prefix.buffer, message.prefix.byteOffset + 5, 4).getUint32(0);
      const writer = new FrameWriter();
      writer.appendPrefix(PREFIX_OF[message.key], id);
      expect(writer.pendingCount, 'a prefix is no message').toBe(0);
      expect(hex(concat(writer.take().chunks))).toBe(hex(message.prefix));
    }
  });

  it('passes the frames of every request vector through the scanner main runs on what a page sends, and only to a peer that set REQUESTS', () => {
    for (const message of byPrefix('request-').flatMap(requestMessages)) {
      const pair = concat([message.prefix, message.frame]);
      const scanner = new FrameScanner(64 * 1024 * 1024, true, true);
      scanner.scan(pair);
      expect(scanner.midFrame).toBe(false);
      expect(() => new FrameScanner(64 * 1024 * 1024, true, false).scan(pair)).toThrow(expect.objectContaining({ code: ErrorCode.PROTOCOL }));
    }
  });
});

describe('§5 token: AUTH proofs are the documented HMAC-SHA256 values', () => {
  for (const vector of byPrefix('auth-')) {
    it(`proves ${vector.id} for both roles`, () => {
      const secret = token(one(vector, 'token'))!;
      const key = bytes(one(vector, 'key'));
      const clientNonce = bytes(one(vector, 'client-nonce'));
      const listenerNonce = bytes(one(vector, 'listener-nonce'));
      expect(hex(new TextEncoder().encode(secret))).toBe(hex(key));
      for (const [role, isListener, prover, other] of [
        ['client', false, clientNonce, listenerNonce],
        ['listener', true, listenerNonce, clientNonce],
      ] as const) {
        const message = bytes(one(vector, `${role}-message`));
        const proof = bytes(one(vector, `${role}-proof`));
        expect(hex(authMessage(isListener, prover, other))).toBe(hex(message));
        expect(hex(authProof(secret, isListener, prover, other))).toBe(hex(proof));
        // The documented recipe, from the key bytes alone, gives the same proof.
        expect(hex(createHmac('sha256', key).update(message).digest())).toBe(hex(proof));
      }
    });
  }
});
