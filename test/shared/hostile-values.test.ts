/**
 * PROTOCOL.md §5.3–§5.5 against hand-made VALUE bodies: a peer can make the
 * decoder build plain data of SPEC §3 or fail with ERR_DATASOCKET_PROTOCOL,
 * nothing else. Each rule is checked on a short body and on one longer than
 * MAX_NESTING bytes, since the decoder checks the two differently.
 */
import { describe, expect, it } from 'vitest';
import { ValueDecoder, ValueEncoder } from '../../src/shared/codec.js';
import { DataSocketError, ErrorCode } from '../../src/shared/errors.js';
import { FrameReader, FrameWriter } from '../../src/shared/frames.js';
import { FrameKind, MAX_NESTING, RECORD_KEEP_BYTES, RECORD_SLOTS } from '../../src/shared/protocol.js';
import { concat } from '../helpers/bytes.js';
import { plainDataProblems } from '../helpers/fuzz-inputs.js';
import { fromHex } from '../helpers/raw-client.js';

const UNLIMITED = { maxFrameBytes: 2 ** 32 - 1, budget: Number.MAX_SAFE_INTEGER };

/** A string value of 600 bytes (`da 02 58` and 600 × 'p'): put beside a value, it makes the body long. */
const PADDING = concat([fromHex('da 02 58'), new Uint8Array(600).fill(0x70)]);

/** The body of `hex`, and the same value as the second item of `[padding, value]`: a short and a long body. */
function bodies(hex: string): { short: Uint8Array; long: Uint8Array } {
  const value = fromHex(hex);
  return { short: value, long: concat([Uint8Array.of(0x92), PADDING, value]) };
}

type Outcome = { value: unknown } | { code: string; message: string };

/** Decodes bodies in order with one decoder; stops at the first error. */
function decodeAll(...bodies: Uint8Array[]): Outcome[] {
  const decoder = new ValueDecoder();
  const outcomes: Outcome[] = [];
  for (const body of bodies) {
    try {
      outcomes.push({ value: decoder.decode(FrameKind.VALUE, body, 0, body.length, false) });
    } catch (error) {
      expect(error).toBeInstanceOf(DataSocketError);
      outcomes.push({ code: (error as DataSocketError).code, message: (error as Error).message });
      break;
    }
  }
  return outcomes;
}

/** Decodes `hex` short and long; returns the value (short form) or the error code, and checks both forms agree. */
function decodeBoth(hex: string): unknown {
  const { short, long } = bodies(hex);
  const a = decodeAll(short)[0]!;
  const b = decodeAll(long)[0]!;
  if ('code' in a) {
    expect(b, `the long form of ${hex}`).toMatchObject({ code: a.code });
    return a.code;
  }
  expect(b, `the long form of ${hex}`).toHaveProperty('value');
  const longValue = (b as { value: unknown[] }).value[1];
  expect(longValue).toStrictEqual(a.value);
  expect(plainDataProblems(a.value)).toEqual([]);
  return a.value;
}

function roundTrip(...values: unknown[]): unknown[] {
  const encoder = new ValueEncoder();
  const decoder = new ValueDecoder();
  const writer = new FrameWriter();
  const out: unknown[] = [];
  const reader = new FrameReader(2 ** 32 - 1, (kind, source, start, end, owned) => out.push(decoder.decode(kind, source, start, end, owned)));
  for (const value of values) encoder.encode(value, writer, UNLIMITED);
  for (const chunk of writer.take().chunks) reader.push(chunk);
  return out;
}

function expectUnserializable(value: unknown): void {
  const writer = new FrameWriter();
  expect(() => new ValueEncoder().encode(value, writer, UNLIMITED)).toThrow(expect.objectContaining({ code: ErrorCode.UNSERIALIZABLE }));
  expect(writer.pendingBytes).toBe(0);
}

const ascii = (text: string): string => Array.from(new TextEncoder().encode(text), (b) => b.toString(16).padStart(2, '0')).join(' ');
const str = (text: string): string => `${(0xa0 | text.length).toString(16)} ${ascii(text)}`;

describe('§3 plain data only: the byte 0xc1 is a protocol error wherever it stands as a value', () => {
  const places: [string, string][] = [
    ['alone', 'c1'],
    ['in an array', '91 c1'],
    ["as an Error's cause (a property Object.keys does not list)", `d4 65 00 93 ${str('Error')} a0 c1`],
    ["inside an Error's cause", `d4 65 00 93 ${str('Error')} a0 91 c1`],
    ['inside AggregateError.errors', `d4 65 00 94 ${str('AggregateError')} a0 d4 00 00 91 c1`],
    ["inside an AggregateError's cause", `d4 65 00 94 ${str('AggregateError')} a0 91 c1 90`],
    ['as a Map key', '81 c1 01'],
    ['as a Map value', '81 01 c1'],
    ['as a Set member', 'd4 73 00 91 c1'],
    ['as a record value', `d4 72 40 91 ${str('a')} c1`],
    ['as a RegExp source', 'd4 78 00 92 c1 a0'],
    ['in an object that carries a reference id', 'd6 69 00 00 00 01 92 c1 d6 70 00 00 00 01'],
  ];
  for (const [where, hex] of places) {
    it(`refuses 0xc1 ${where}`, () => {
      expect(decodeBoth(hex)).toBe(ErrorCode.PROTOCOL);
    });
  }

  it('accepts the byte 0xc1 inside strings, bins and numbers', () => {
    expect(decodeBoth('c4 02 c1 c1')).toStrictEqual(Uint8Array.of(0xc1, 0xc1));
    expect(decodeBoth('cc c1')).toBe(0xc1);
  });
});

describe('§5.4 extension types: the listed ones decode in their documented forms, every other is a protocol error', () => {
  const accepted: [string, string, unknown][] = [
    ['undefined', 'd4 00 00', undefined],
    ['BigInt', 'c7 01 42 05', 5n],
    ['BigInt as fixext 1', 'd4 42 05', 5n],
    ['Error', `d4 65 00 92 ${str('TypeError')} ${str('m')}`, new TypeError('m')],
    ['Set', 'd4 73 00 92 01 02', new Set([1, 2])],
    ['RegExp', `d4 78 00 92 ${str('a+')} ${str('g')}`, /a+/g],
    ['typed array', 'c7 03 74 03 01 00', Int16Array.of(1)],
    ['Date', 'd6 ff 00 00 00 00', new Date(0)],
    ['a reference id on an array', 'd6 69 00 00 00 01 91 01', [1]],
    ['a record', `d4 72 40 91 ${str('a')} 01`, { a: 1 }],
    // The data byte of a prefix extension is ignored (senders write 00).
    ['a Set whose data byte is not 00', 'd4 73 07 91 01', new Set([1])],
  ];
  for (const [what, hex, expected] of accepted) {
    it(`decodes ${what}: ${hex}`, () => {
      expect(decodeBoth(hex)).toStrictEqual(expected);
    });
  }

  const refused: [string, string][] = [
    // What msgpackr writes for ['hello world, bundled'] with bundleStrings: true.
    ["msgpackr's bundled strings (0x62)", `91 d6 62 00 00 00 06 c1 14 a0 b4 ${ascii('hello world, bundled')}`],
    ['bundled strings in another form', 'c7 01 62 00'],
    ['undefined in another form than d4 00', 'd5 00 00 00'],
    ['Error in another form than d4 65', `c7 01 65 00 92 ${str('Error')} a0`],
    ['Set in another form than d4 73', 'c7 01 73 00 91 01'],
    ['RegExp in another form than d4 78', `d5 78 00 00 92 ${str('a')} a0`],
    ['a Set made of a string', `d4 73 00 ${str('abc')}`],
    ['an Error made of a number', 'd4 65 00 01'],
    ['a RegExp made of one string', `d4 78 00 ${str('a')}`],
    ['a record definition in another form than d4 72', `c7 01 72 40 91 ${str('a')} 01`],
    ['a pointer to an id the frame did not give', 'd6 70 00 00 00 07'],
  ];
  for (const [what, hex] of refused) {
    it(`refuses ${what}`, () => {
      expect(decodeBoth(hex)).toBe(ErrorCode.PROTOCOL);
    });
  }

  it('refuses every other extension type, in every form', () => {
    const listed = new Set([0x00, 0x42, 0x65, 0x69, 0x70, 0x72, 0x73, 0x74, 0x78, 0xff]);
    for (let type = 0; type < 256; type++) {
      if (listed.has(type)) continue;
      const t = type.toString(16).padStart(2, '0');
      for (const hex of [`d4 ${t} 00`, `d5 ${t} 00 00`, `d6 ${t} 00 00 00 00`, `c7 01 ${t} 00`, `c8 00 01 ${t} 00`]) {
        expect(decodeBoth(hex), hex).toBe(ErrorCode.PROTOCOL);
      }
    }
  });
});

describe('§5.3 records: references need a key list the table keeps', () => {
  it('refuses a reference to a slot that was never defined (instead of reading it as the number 64–127)', () => {
    for (let slot = 0; slot < RECORD_SLOTS; slot++) expect(decodeBoth((0x40 | slot).toString(16))).toBe(ErrorCode.PROTOCOL);
  });

  it('refuses two-byte record definitions (d5 72), whatever slot they name', () => {
    for (const hex of [`d5 72 60 00 91 ${str('a')} 01`, `d5 72 40 00 91 ${str('a')} 01`, `d5 72 41 01 91 ${str('a')} 01`, `d5 72 05 00 91 ${str('a')} 01`]) {
      expect(decodeBoth(hex), hex).toBe(ErrorCode.PROTOCOL);
    }
  });

  it('refuses a key list that is not an array of strings, numbers, booleans or nil', () => {
    for (const hex of [`d4 72 40 ${str('a')}`, 'd4 72 40 91 90 01', 'd4 72 40 91 c4 01 61 01', 'd4 72 40 91 c1 01']) {
      expect(decodeBoth(hex), hex).toBe(ErrorCode.PROTOCOL);
    }
  });

  /** A definition of `slot` with `keys` distinct keys of `size` bytes each (a fixstr), and a nil per key. */
  function definition(slot: number, keys: number, size: number): string {
    const names = Array.from({ length: keys }, (_, i) => `${i}`.padStart(size - 1, 'k'));
    return `d4 72 ${(0x40 | slot).toString(16)} dc ${(keys >> 8).toString(16).padStart(2, '0')} ${(keys & 0xff).toString(16).padStart(2, '0')} ${names.map(str).join(' ')} ${'c0 '.repeat(keys).trim()}`;
  }
  const reference = (slot: number, keys: number): string => `${(0x40 | slot).toString(16)} ${'c0 '.repeat(keys).trim()}`;

  it(`keeps a key list of up to ${RECORD_KEEP_BYTES} bytes for later frames`, () => {
    // array 16 header (3 bytes) + 102 keys of 10 bytes = 1023 bytes
    const [first, second] = decodeAll(fromHex(definition(0, 102, 10)), fromHex(reference(0, 102)));
    expect(first).toHaveProperty('value');
    expect(Object.keys((second as { value: object }).value)).toHaveLength(102);
  });

  it(`uses a longer key list for its one object only: a later reference, in the frame or after it, is a protocol error`, () => {
    // 3 + 103 × 10 = 1033 bytes
    const long = definition(0, 103, 10);
    const [alone] = decodeAll(fromHex(long));
    expect(Object.keys((alone as { value: object }).value)).toHaveLength(103);
    expect(decodeAll(fromHex(`92 ${long} ${reference(0, 103)}`))[0]).toMatchObject({ code: ErrorCode.PROTOCOL });
    expect(decodeAll(fromHex(long), fromHex(reference(0, 103)))[1]).toMatchObject({ code: ErrorCode.PROTOCOL });
    // The slot is empty again, not what it held before.
    const [, , after] = decodeAll(fromHex(definition(0, 1, 2)), fromHex(long), fromHex(reference(0, 1)));
    expect(after).toMatchObject({ code: ErrorCode.PROTOCOL });
  });

  it('sends objects with long key lists as one definition each, so they arrive whatever else the frames hold', () => {
    const wide = (n: number): Record<string, number> => Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`property-${i}`, n]));
    const small = (n: number) => ({ id: n, name: `n${n}` });
    const values = [[wide(1), wide(2), small(1), wide(3)], wide(4), small(2), { inner: [wide(5), wide(6)] }, [small(3), small(4)]];
    expect(roundTrip(...values)).toStrictEqual(values);
  });

  it('reads a key list written as a pointer to an earlier one (msgpackr redefines a shape so when its slot was reused in the frame)', () => {
    // More shapes than slots, with long keys so that the body is long, then the first shape again.
    const shapes = Array.from({ length: 40 }, (_, i) => ({ [`a-rather-long-key-name-number-${i}`]: i }));
    const value = [...shapes, { 'a-rather-long-key-name-number-0': 'again' }];
    const encoder = new ValueEncoder();
    const writer = new FrameWriter();
    encoder.encode(value, writer, UNLIMITED);
    const frame = concat(writer.take().chunks);
    expect(frame.length).toBeGreaterThan(MAX_NESTING);
    expect(Buffer.from(frame).includes(Buffer.from([0xd6, 0x70]))).toBe(true);
    expect(roundTrip(value)).toStrictEqual([value]);
  });
});

describe(`§5.5 nesting: at most ${MAX_NESTING} levels, refused the same way on both sides`, () => {
  const nest = (depth: number, wrap: (inner: unknown) => unknown): unknown => {
    let value: unknown = 0;
    for (let i = 0; i < depth; i++) value = wrap(value);
    return value;
  };
  const shapes: [string, (inner: unknown) => unknown][] = [
    ['arrays', (v) => [v]],
    ['objects', (v) => ({ v })],
    ['Maps', (v) => new Map([[1, v]])],
    ['Sets', (v) => new Set([v])],
    ['Error causes', (v) => new Error('e', { cause: v })],
  ];
  for (const [name, wrap] of shapes) {
    it(`sends ${MAX_NESTING} levels of ${name} and refuses ${MAX_NESTING + 1} with ERR_DATASOCKET_UNSERIALIZABLE, sending nothing`, () => {
      const deepest = nest(MAX_NESTING, wrap);
      expect(roundTrip(deepest)).toStrictEqual([deepest]);
      expectUnserializable(nest(MAX_NESTING + 1, wrap));
    });
  }

  it(`decodes ${MAX_NESTING} levels a peer wrote and refuses ${MAX_NESTING + 1}`, () => {
    const levels: [string, (depth: number) => string][] = [
      ['arrays', (depth) => `${'91 '.repeat(depth)}00`],
      ['maps', (depth) => `${'81 01 '.repeat(depth)}00`],
      // the first object defines the record, the others reference it
      ['records', (depth) => `d4 72 40 91 ${str('a')} ${'40 '.repeat(depth - 1)}00`],
      ['Sets', (depth) => `${'d4 73 00 91 '.repeat(depth)}00`],
    ];
    for (const [name, hex] of levels) {
      expect(decodeAll(fromHex(hex(MAX_NESTING)))[0], `${MAX_NESTING} levels of ${name}`).toHaveProperty('value');
      expect(decodeAll(fromHex(hex(MAX_NESTING + 1)))[0], `${MAX_NESTING + 1} levels of ${name}`).toMatchObject({ code: ErrorCode.PROTOCOL });
    }
  });
});

describe('§5.2 what some bytes decode to', () => {
  it('a nested bin arrives as a Uint8Array of its own, not a view of the bytes it was read from', () => {
    const chunk = concat([new Uint8Array(100).fill(0x55), fromHex('92 c4 03 01 02 03 c5 00 02 04 05'), new Uint8Array(100).fill(0x66)]);
    for (const source of [chunk, Buffer.from(chunk)]) {
      const value = new ValueDecoder().decode(FrameKind.VALUE, source, 100, 111, false) as Uint8Array[];
      for (const [bin, bytes] of [
        [value[0]!, [1, 2, 3]],
        [value[1]!, [4, 5]],
      ] as const) {
        expect(Object.getPrototypeOf(bin)).toBe(Uint8Array.prototype);
        expect(bin.byteOffset).toBe(0);
        expect(bin.buffer.byteLength).toBe(bytes.length);
        expect([...bin]).toEqual(bytes);
      }
    }
  });

  it('invalid UTF-8 in a string arrives as U+FFFD, short or long', () => {
    expect(decodeBoth('a3 61 ff 62')).toBe('a\ufffdb');
    expect(decodeBoth('a2 c3 28')).toBe('\ufffd(');
    expect(decodeBoth('a3 ed a0 80')).toBe('\ufffd\ufffd\ufffd');
    const long = `d9 50 ${'61 '.repeat(79)}ff`;
    expect(decodeBoth(long)).toBe(`${'a'.repeat(79)}\ufffd`);
  });

  it('of an Error, only the name, message, cause and errors travel', () => {
    const sent = Object.assign(new RangeError('out', { cause: { why: 1 } }), { code: 'E_OUT', extra: [1] });
    const [received] = roundTrip(sent) as [RangeError & { code?: unknown }];
    expect(received).toBeInstanceOf(RangeError);
    expect(received.message).toBe('out');
    expect(received.cause).toStrictEqual({ why: 1 });
    expect(received.code).toBeUndefined();
    expect(Object.keys(received)).toEqual([]);
  });
});
