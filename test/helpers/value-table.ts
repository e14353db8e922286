/**
 * Every value of SPEC §3, with what must arrive on the other side. Used by the
 * codec test (in process) and by the socket test (over a real connection).
 */
import { expect } from 'vitest';

export interface ValueCase {
  name: string;
  make: () => unknown;
  /** Asserts that `received` is what SPEC §3 promises for this value. */
  check: (received: unknown, sent: unknown) => void;
}

const same = (received: unknown, sent: unknown): void => expect(received).toStrictEqual(sent);

function typed(name: string, make: () => ArrayBufferView): ValueCase {
  return {
    name,
    make,
    check: (received, sent) => {
      const s = sent as ArrayBufferView;
      expect(Object.prototype.toString.call(received)).toBe(Object.prototype.toString.call(s));
      const r = received as ArrayBufferView;
      expect(r.byteLength).toBe(s.byteLength);
      expect([...new Uint8Array(r.buffer, r.byteOffset, r.byteLength)]).toEqual([...new Uint8Array(s.buffer, s.byteOffset, s.byteLength)]);
    },
  };
}

const TYPED_ARRAYS: [string, () => ArrayBufferView][] = [
  ['Int8Array', () => Int8Array.of(-128, 0, 127)],
  ['Uint8Array', () => Uint8Array.of(0, 1, 255)],
  ['Uint8ClampedArray', () => Uint8ClampedArray.of(0, 128, 255)],
  ['Int16Array', () => Int16Array.of(-32768, 1, 32767)],
  ['Uint16Array', () => Uint16Array.of(0, 65535)],
  ['Int32Array', () => Int32Array.of(-(2 ** 31), 2 ** 31 - 1)],
  ['Uint32Array', () => Uint32Array.of(0, 2 ** 32 - 1)],
  ['Float32Array', () => Float32Array.of(1.5, -0.25, Number.NaN)],
  ['Float64Array', () => Float64Array.of(Math.PI, -Infinity, Number.NaN)],
  ['BigInt64Array', () => BigInt64Array.of(-(2n ** 63n), 2n ** 63n - 1n)],
  ['BigUint64Array', () => BigUint64Array.of(0n, 2n ** 64n - 1n)],
  ['DataView', () => new DataView(Uint8Array.of(9, 8, 7).buffer)],
];

/** The cases; each is sent top-level, and the typed arrays also nested. */
export const VALUE_CASES: ValueCase[] = [
  { name: 'undefined', make: () => undefined, check: (r) => expect(r).toBeUndefined() },
  { name: 'null', make: () => null, check: (r) => expect(r).toBeNull() },
  { name: 'true', make: () => true, check: same },
  { name: 'false', make: () => false, check: same },
  { name: 'integer', make: () => 42, check: same },
  { name: 'negative integer', make: () => -7, check: same },
  { name: 'float', make: () => 0.1, check: same },
  { name: 'integer beyond 32 bits', make: () => 2 ** 53 - 1, check: same },
  { name: 'NaN', make: () => Number.NaN, check: (r) => expect(Number.isNaN(r)).toBe(true) },
  { name: 'Infinity', make: () => Infinity, check: same },
  { name: '-Infinity', make: () => -Infinity, check: same },
  { name: '-0 (may arrive as 0)', make: () => -0, check: (r) => expect(r === 0).toBe(true) },
  { name: 'BigInt', make: () => 123n, check: same },
  { name: 'negative BigInt', make: () => -(2n ** 63n), check: same },
  { name: 'BigInt beyond 64 bits', make: () => 2n ** 200n + 1n, check: same },
  { name: 'negative BigInt beyond 64 bits', make: () => -(2n ** 100n), check: same },
  { name: 'empty string', make: () => '', check: same },
  { name: 'string of any Unicode', make: () => 'héllo wörld — 日本語 😀 \u{10FFFF} \u0000 \n\t', check: same },
  { name: 'long string', make: () => 'x'.repeat(100_000), check: same },
  { name: 'array', make: () => [1, 'two', [3, [4]], { five: 5 }], check: same },
  { name: 'empty array', make: () => [], check: same },
  { name: 'plain object', make: () => ({ a: 1, b: { c: [true, null] }, 'key with spaces': 'v', 1: 'numeric key' }), check: same },
  {
    name: 'undefined properties',
    make: () => ({ a: undefined, b: 1 }),
    check: (r) => {
      expect(Object.keys(r as object)).toEqual(['a', 'b']);
      expect((r as { a: unknown }).a).toBeUndefined();
    },
  },
  { name: 'Date', make: () => new Date(Date.UTC(2026, 10, 24, 12, 30, 15, 123)), check: same },
  { name: 'Date before 1970', make: () => new Date(-1e12), check: same },
  { name: 'invalid Date', make: () => new Date(Number.NaN), check: (r) => expect(Number.isNaN((r as Date).getTime())).toBe(true) },
  {
    name: 'RegExp',
    make: () => /a+(b|c)\d$/giu,
    check: (r) => {
      expect(r).toBeInstanceOf(RegExp);
      expect((r as RegExp).source).toBe('a+(b|c)\\d$');
      expect((r as RegExp).flags).toBe('giu');
    },
  },
  { name: 'Map with any keys', make: () => new Map<unknown, unknown>([[1, 'one'], ['k', { v: 2 }], [{ obj: 'key' }, [3]], [null, undefined]]), check: same },
  { name: 'Set', make: () => new Set<unknown>([1, 'two', { three: 3 }, null]), check: same },
  {
    name: 'ArrayBuffer stays an ArrayBuffer',
    make: () => Uint8Array.of(1, 2, 3).buffer,
    check: (r) => {
      expect(Object.prototype.toString.call(r)).toBe('[object ArrayBuffer]');
      expect([...new Uint8Array(r as ArrayBuffer)]).toEqual([1, 2, 3]);
    },
  },
  {
    name: 'Uint8Array stays a Uint8Array, not an ArrayBuffer',
    make: () => Uint8Array.of(4, 5),
    check: (r) => {
      expect(r).toBeInstanceOf(Uint8Array);
      expect([...(r as Uint8Array)]).toEqual([4, 5]);
    },
  },
  {
    name: 'a view on part of a larger buffer sends only its bytes',
    make: () => new Uint8Array(Uint8Array.of(0, 1, 2, 3, 4, 5).buffer, 2, 3),
    check: (r) => {
      expect([...(r as Uint8Array)]).toEqual([2, 3, 4]);
      expect((r as Uint8Array).buffer.byteLength).toBe(3);
    },
  },
  {
    name: 'Buffer arrives as bytes (a Uint8Array)',
    make: () => Buffer.from('buffer bytes'),
    check: (r) => {
      expect(r).toBeInstanceOf(Uint8Array);
      expect(Buffer.from(r as Uint8Array).toString()).toBe('buffer bytes');
    },
  },
  ...TYPED_ARRAYS.map(([name, make]) => typed(name, make)),
  ...TYPED_ARRAYS.map(([name, make]) => {
    const inner = typed(name, make);
    return {
      name: `${name} nested in an object`,
      make: () => ({ inner: make() }),
      check: (r: unknown, s: unknown) => inner.check((r as { inner: unknown }).inner, (s as { inner: unknown }).inner),
    };
  }),
  {
    name: 'Error (name and message)',
    make: () => new TypeError('bad type'),
    check: (r) => {
      expect(r).toBeInstanceOf(TypeError);
      expect((r as Error).name).toBe('TypeError');
      expect((r as Error).message).toBe('bad type');
    },
  },
  {
    name: 'Error with a custom name',
    make: () => Object.assign(new Error('custom'), { name: 'MyAppError' }),
    check: (r) => {
      expect(r).toBeInstanceOf(Error);
      expect((r as Error).name).toBe('MyAppError');
      expect((r as Error).message).toBe('custom');
    },
  },
  {
    name: 'shared references stay shared',
    make: () => {
      const shared = { s: 1 };
      return { a: shared, b: shared, list: [shared] };
    },
    check: (r) => {
      const v = r as { a: object; b: object; list: object[] };
      expect(v.a).toEqual({ s: 1 });
      expect(v.a).toBe(v.b);
      expect(v.list[0]).toBe(v.a);
    },
  },
  {
    name: 'circular object',
    make: () => {
      const o: Record<string, unknown> = { name: 'loop' };
      o.self = o;
      return o;
    },
    check: (r) => {
      const v = r as { name: string; self: unknown };
      expect(v.name).toBe('loop');
      expect(v.self).toBe(v);
    },
  },
  {
    name: 'circular array',
    make: () => {
      const a: unknown[] = [1];
      a.push(a);
      return a;
    },
    check: (r) => expect((r as unknown[])[1]).toBe(r),
  },
  {
    name: 'Map that contains itself',
    make: () => {
      const m = new Map<string, unknown>();
      m.set('me', m);
      return m;
    },
    check: (r) => expect((r as Map<string, unknown>).get('me')).toBe(r),
  },
  {
    name: 'Set that contains itself',
    make: () => {
      const s = new Set<unknown>();
      s.add(s);
      return s;
    },
    check: (r) => expect([...(r as Set<unknown>)][0]).toBe(r),
  },
  {
    name: 'Symbol-keyed properties are ignored',
    make: () => ({ [Symbol('hidden')]: 1, visible: 2 }),
    check: (r) => expect(r).toStrictEqual({ visible: 2 }),
  },
  {
    name: 'deeply nested mix',
    make: () => ({ when: new Date(0), tags: new Set(['x']), index: new Map([['k', [1n, /r/]]]), bytes: Uint8Array.of(7) }),
    check: same,
  },
];

/** Values that must make `send()` throw ERR_DATASOCKET_UNSERIALIZABLE. */
export const UNSERIALIZABLE_CASES: { name: string; make: () => unknown }[] = [
  { name: 'a function', make: () => () => 1 },
  { name: 'a function in an object', make: () => ({ ok: 1, f() {} }) },
  { name: 'a function deep in an array', make: () => [1, [2, [3, () => 4]]] },
  { name: 'a Symbol', make: () => Symbol('s') },
  { name: 'a Symbol as a property value', make: () => ({ s: Symbol('s') }) },
  { name: 'a Symbol as a Map key', make: () => new Map([[Symbol('k'), 1]]) },
  { name: 'a function as a Map value', make: () => new Map([['k', () => 1]]) },
  { name: 'a Symbol as a Set member', make: () => new Set([1, Symbol('m')]) },
  { name: 'a class (a function)', make: () => ({ cls: class Foo {} }) },
  { name: 'a SharedArrayBuffer', make: () => new SharedArrayBuffer(8) },
];
