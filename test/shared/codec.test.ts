import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { ValueDecoder, ValueEncoder } from '../../src/shared/codec.js';
import { DataSocketError, ErrorCode } from '../../src/shared/errors.js';
import { FrameReader, FrameWriter } from '../../src/shared/frames.js';
import { FRAME_HEADER_BYTES, FrameKind, writeFrameHeader } from '../../src/shared/protocol.js';
import { UNSERIALIZABLE_CASES, VALUE_CASES } from '../helpers/value-table.js';

const OBJECT_PROTOTYPE_KEYS = Object.getOwnPropertyNames(Object.prototype).sort();
const UNLIMITED = { maxFrameBytes: 2 ** 32 - 1, budget: Number.MAX_SAFE_INTEGER };

/** One direction of a connection, in memory: encoder → frames → bytes → frames → decoder. */
function pipe() {
  const encoder = new ValueEncoder();
  const writer = new FrameWriter();
  const decoder = new ValueDecoder();
  const received: unknown[] = [];
  const reader = new FrameReader(2 ** 32 - 1, (kind, source, start, end, owned) => received.push(decoder.decode(kind, source, start, end, owned)));
  return {
    writer,
    received,
    send(value: unknown, limits = UNLIMITED): void {
      encoder.encode(value, writer, limits);
    },
    /** Delivers everything sent so far, cut into chunks of `chunk` bytes. */
    deliver(chunk = Infinity): unknown[] {
      for (const bytes of writer.take().chunks) {
        for (let i = 0; i < bytes.length; i += chunk) reader.push(bytes.subarray(i, Math.min(bytes.length, i + chunk)));
      }
      return received.splice(0);
    },
  };
}

function expectCode(fn: () => unknown, code: string): void {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(DataSocketError);
  expect((thrown as DataSocketError).code).toBe(code);
}

/** Every object reachable from `value` has a standard prototype: nothing foreign came out of the bytes. */
function expectNoForeignPrototype(value: unknown, seen = new Set<unknown>()): void {
  if (typeof value !== 'object' || value === null || seen.has(value)) return;
  seen.add(value);
  const proto = Object.getPrototypeOf(value);
  const allowed = [Object.prototype, Array.prototype, Map.prototype, Set.prototype, Date.prototype, RegExp.prototype, String.prototype, null];
  if (!allowed.includes(proto) && !(value instanceof Error) && !ArrayBuffer.isView(value) && !(value instanceof ArrayBuffer)) {
    throw new Error(`received an object with a foreign prototype: ${String(proto?.constructor?.name)}`);
  }
  const children = value instanceof Map ? [...value.keys(), ...value.values()] : value instanceof Set ? [...value] : Object.values(value);
  for (const child of children) expectNoForeignPrototype(child, seen);
}

describe('§3 values: what send() delivers', () => {
  for (const c of VALUE_CASES) {
    it(`delivers ${c.name}`, () => {
      const p = pipe();
      const sent = c.make();
      p.send(sent);
      const [received] = p.deliver();
      c.check(received, c.make());
    });
  }

  it('delivers every case in order on one stream, whatever the chunking', () => {
    for (const chunk of [1, 3, 7, 64, 4096, Infinity]) {
      const p = pipe();
      for (const c of VALUE_CASES) p.send(c.make());
      const received = p.deliver(chunk);
      expect(received).toHaveLength(VALUE_CASES.length);
      VALUE_CASES.forEach((c, i) => c.check(received[i], c.make()));
    }
  });

  it('keeps record structures in step over thousands of shapes', () => {
    const p = pipe();
    const sent: object[] = [];
    for (let i = 0; i < 5000; i++) {
      const value = { [`k${i % 300}`]: i, [`j${i % 7}`]: [i], shared: 'x' };
      sent.push(value);
      p.send(value);
    }
    expect(p.deliver(1000)).toStrictEqual(sent);
  });
});

describe('§3 unserializable values throw ERR_DATASOCKET_UNSERIALIZABLE and send nothing', () => {
  for (const c of UNSERIALIZABLE_CASES) {
    it(`refuses ${c.name}`, () => {
      const p = pipe();
      p.send({ before: 1 });
      const pending = p.writer.pendingBytes;
      expectCode(() => p.send(c.make()), ErrorCode.UNSERIALIZABLE);
      expect(p.writer.pendingBytes).toBe(pending);
      expect(p.deliver()).toStrictEqual([{ before: 1 }]);
    });
  }

  it('refuses a send() made while the same socket encodes a value (from a getter), and stays usable', () => {
    const p = pipe();
    p.send({ before: 1 });
    const reentrant = {
      get value(): number {
        p.send({ inner: true });
        return 1;
      },
    };
    expectCode(() => p.send(reentrant), ErrorCode.UNSERIALIZABLE);
    p.send({ after: 2 });
    expect(p.deliver()).toStrictEqual([{ before: 1 }, { after: 2 }]);
  });

  it('keeps the stream decodable after a failure that defined new record shapes', () => {
    const p = pipe();
    p.send({ a: 1, b: 2 });
    expectCode(() => p.send({ x: 1, y: { z: 1, f: () => 1 } }), ErrorCode.UNSERIALIZABLE);
    p.send({ x: 2, y: { z: 2, f: 3 } });
    p.send({ a: 3, b: 4 });
    expect(p.deliver()).toStrictEqual([{ a: 1, b: 2 }, { x: 2, y: { z: 2, f: 3 } }, { a: 3, b: 4 }]);
  });
});

describe('§4 size limits on send', () => {
  it('throws ERR_DATASOCKET_FRAME_TOO_LARGE for a value above maxFrameBytes and sends nothing', () => {
    const p = pipe();
    expectCode(() => p.send({ big: 'x'.repeat(2000) }, { maxFrameBytes: 1000, budget: Infinity }), ErrorCode.FRAME_TOO_LARGE);
    expectCode(() => p.send(new Uint8Array(1001), { maxFrameBytes: 1000, budget: Infinity }), ErrorCode.FRAME_TOO_LARGE);
    expect(p.writer.pendingBytes).toBe(0);
    p.send({ big: 'small' }, { maxFrameBytes: 1000, budget: Infinity });
    expect(p.deliver()).toStrictEqual([{ big: 'small' }]);
  });

  it('accepts a value of exactly maxFrameBytes', () => {
    const p = pipe();
    p.send(new Uint8Array(1000), { maxFrameBytes: 1000, budget: Infinity });
    expect((p.deliver()[0] as Uint8Array).length).toBe(1000);
  });

  it('throws ERR_DATASOCKET_BUFFER_FULL when the frame would not fit the budget, and sends nothing', () => {
    const p = pipe();
    expectCode(() => p.send(new Uint8Array(100), { maxFrameBytes: 1000, budget: 100 + FRAME_HEADER_BYTES - 1 }), ErrorCode.BUFFER_FULL);
    expectCode(() => p.send({ s: 'y'.repeat(200) }, { maxFrameBytes: 1000, budget: 50 }), ErrorCode.BUFFER_FULL);
    expect(p.writer.pendingBytes).toBe(0);
    p.send(new Uint8Array(100), { maxFrameBytes: 1000, budget: 100 + FRAME_HEADER_BYTES });
    p.send({ s: 'y'.repeat(200) });
    const [bytes, obj] = p.deliver();
    expect((bytes as Uint8Array).length).toBe(100);
    expect(obj).toStrictEqual({ s: 'y'.repeat(200) });
  });
});

describe('§3 decoding never pollutes prototypes', () => {
  it('keeps __proto__ and constructor keys as plain data, every time a shape repeats', () => {
    const p = pipe();
    const hostile = JSON.parse('{"__proto__": {"polluted": "yes"}, "constructor": {"prototype": {"polluted": "yes"}}, "a": 1}');
    // Repeat past msgpackr's threshold for compiled record readers.
    for (let i = 0; i < 10; i++) p.send(hostile);
    for (const received of p.deliver()) {
      expect(Object.getPrototypeOf(received)).toBe(Object.prototype);
      expect((received as { a: number }).a).toBe(1);
      expect((received as Record<string, unknown>).polluted).toBeUndefined();
      expectNoForeignPrototype(received);
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((Object.prototype as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('gives no object a foreign prototype from hand-made msgpack bytes', () => {
    // Bytes a non-structured-clone packer makes for objects with hostile keys, nested in maps and arrays.
    const raw = new Packr({ useRecords: false });
    const hostile = [
      JSON.parse('{"__proto__": {"x": 1}}'),
      JSON.parse('[{"__proto__": null}, {"constructor": "Function"}]'),
      JSON.parse('{"a": {"__proto__": {"__proto__": {"polluted": 1}}}}'),
    ];
    for (const value of hostile) {
      const body = raw.pack(value);
      const frame = new Uint8Array(FRAME_HEADER_BYTES + body.length);
      writeFrameHeader(frame, 0, body.length, FrameKind.VALUE);
      frame.set(body, FRAME_HEADER_BYTES);
      const decoder = new ValueDecoder();
      const out: unknown[] = [];
      new FrameReader(1 << 20, (k, s, a, b, o) => out.push(decoder.decode(k, s, a, b, o))).push(frame);
      expect(out).toHaveLength(1);
      expectNoForeignPrototype(out[0]);
    }
    expect((Object.prototype as Record<string, unknown>).polluted).toBeUndefined();
    expect((Object.prototype as Record<string, unknown>).x).toBeUndefined();
  });

  it('rebuilds only standard Error classes, whatever name the bytes carry', () => {
    const p = pipe();
    for (const name of ['Function', 'Object', 'eval', 'MyError']) p.send(Object.assign(new Error('m'), { name }));
    const received = p.deliver();
    expect(received).toHaveLength(4);
    for (const error of received) {
      expect(Object.getPrototypeOf(error)).toBe(Error.prototype);
      expect((error as Error).message).toBe('m');
    }
  });

  it('never builds an object from a name the bytes choose, even Object.prototype method names', () => {
    // msgpackr looked Error names up on a plain object; our reader takes only the standard classes.
    for (const name of ['__proto__', 'constructor', 'valueOf', 'hasOwnProperty', '__lookupGetter__', 'toString']) {
      const p = pipe();
      p.send(Object.assign(new Error('m'), { name }));
      const [value] = p.deliver();
      expect(Object.getPrototypeOf(value)).toBe(Error.prototype);
      expect((value as Error).name).toBe(name);
      expect((value as Error).message).toBe('m');
      expect(Object.hasOwn(value as object, 'cause')).toBe(false);
    }
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(OBJECT_PROTOTYPE_KEYS);
  });

  it('keeps the cause of an Error, and an AggregateError with its errors', () => {
    const p = pipe();
    p.send(new Error('outer', { cause: { code: 42 } }));
    p.send(new AggregateError([new TypeError('inner')], 'many'));
    const [withCause, aggregate] = p.deliver() as [Error, AggregateError];
    expect(withCause.cause).toEqual({ code: 42 });
    expect(aggregate).toBeInstanceOf(AggregateError);
    expect(aggregate.message).toBe('many');
    expect(aggregate.errors[0]).toBeInstanceOf(TypeError);
  });
});

describe('§4 frames on receive', () => {
  it('refuses a frame announced above maxFrameBytes before allocating it', () => {
    const reader = new FrameReader(1024, () => {
      throw new Error('no frame may be delivered');
    });
    const header = new Uint8Array(FRAME_HEADER_BYTES);
    writeFrameHeader(header, 0, 0xffff_fff0, FrameKind.UINT8ARRAY);
    const before = process.memoryUsage().arrayBuffers;
    expectCode(() => reader.push(header), ErrorCode.PROTOCOL);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(1 << 20);
  });

  it('refuses unknown kinds and bodies that are not whole elements', () => {
    const header = new Uint8Array(FRAME_HEADER_BYTES);
    writeFrameHeader(header, 0, 3, 0x42);
    expectCode(() => new FrameReader(1024, () => {}).push(header), ErrorCode.PROTOCOL);
    writeFrameHeader(header, 0, 3, FrameKind.FLOAT64ARRAY);
    expectCode(() => new FrameReader(1024, () => {}).push(header), ErrorCode.PROTOCOL);
    writeFrameHeader(header, 0, 1, FrameKind.END);
    expectCode(() => new FrameReader(1024, () => {}).push(header), ErrorCode.PROTOCOL);
  });

  it('turns undecodable VALUE bytes into ERR_DATASOCKET_PROTOCOL', () => {
    for (const body of [Uint8Array.of(0xc1), Uint8Array.of(0x92, 0x01), Uint8Array.of(0x01, 0x02), Uint8Array.of(0xdd, 0xff, 0xff, 0xff, 0xff)]) {
      expectCode(() => new ValueDecoder().decode(FrameKind.VALUE, body, 0, body.length, false), ErrorCode.PROTOCOL);
    }
  });
});
