/**
 * SPEC §13 values in a trace (DATASOCKET_TRACE_VALUES=1): every kind a DataSocket
 * carries rendered as JSON a reader can tell apart, cut to about 1 KiB, never throwing.
 */
import { describe, expect, it } from 'vitest';
import { traceValue } from '../../../src/main/trace/trace-value.js';

/** The rendering as it will be written: through JSON and back. */
function traced(value: unknown): unknown {
  return JSON.parse(JSON.stringify(traceValue(value))) as unknown;
}

describe('§13 traceValue: what JSON holds stays as it is', () => {
  it.each([
    ['null', null],
    ['true', true],
    ['a number', 12.5],
    ['a string', 'hello'],
    ['an array', [1, 'two', [3]]],
    ['an object', { a: 1, b: { c: [true, null] } }],
  ])('%s', (_, value) => {
    expect(traced(value)).toEqual(value);
  });
});

describe('§13 traceValue: what JSON lacks is marked so a reader can tell what it was', () => {
  it.each([
    ['undefined', undefined, { $undefined: true }],
    ['NaN', NaN, { $number: 'NaN' }],
    ['Infinity', Infinity, { $number: 'Infinity' }],
    ['-Infinity', -Infinity, { $number: '-Infinity' }],
    ['-0', -0, { $number: '-0' }],
    ['a BigInt', 12345678901234567890n, { $bigint: '12345678901234567890' }],
    ['a Date', new Date('2024-01-02T03:04:05.678Z'), { $date: '2024-01-02T03:04:05.678Z' }],
    ['an invalid Date', new Date(NaN), { $date: null }],
    ['a Map', new Map<unknown, unknown>([['a', 1], [2, new Set([3])]]), { $map: [['a', 1], [2, { $set: [3] }]] }],
    ['a Set', new Set(['x', undefined]), { $set: ['x', { $undefined: true }] }],
    ['a RegExp', /a+b/gi, { $regexp: '/a+b/gi' }],
    ['a Uint8Array', new Uint8Array([1, 2, 255]), { $bytes: 3, type: 'Uint8Array', hex: '0102ff' }],
    ['a Buffer (a Uint8Array)', Buffer.from([0xca, 0xfe]), { $bytes: 2, type: 'Uint8Array', hex: 'cafe' }],
    ['an ArrayBuffer', new Uint8Array([9, 10]).buffer, { $bytes: 2, type: 'ArrayBuffer', hex: '090a' }],
    ['a Float64Array (its bytes)', new Float64Array([1]), { $bytes: 8, type: 'Float64Array', hex: '000000000000f03f' }],
    ['a DataView on part of a buffer', new DataView(new Uint8Array([1, 2, 3, 4]).buffer, 1, 2), { $bytes: 2, type: 'DataView', hex: '0203' }],
    ['an Error', new TypeError('bad thing'), { $error: { name: 'TypeError', message: 'bad thing' } }],
    ['an Error with a code', Object.assign(new Error('gone'), { code: 'ECONNRESET' }), { $error: { name: 'Error', message: 'gone', code: 'ECONNRESET' } }],
    ['an object whose keys look like markers', { $map: 1 }, { $object: { $map: 1 } }],
    ['a function (never sent, but traced safely)', function named() {}, { $function: 'named' }],
    ['a Symbol', Symbol('tag'), { $symbol: 'tag' }],
  ])('%s', (_, value, expected) => {
    expect(traced(value)).toEqual(expected);
  });

  it('a cycle points back to where its target is, as a JSON pointer; a shared object that is no cycle is shown each time', () => {
    const node: Record<string, unknown> = { name: 'n' };
    node.self = node;
    const list: unknown[] = [1];
    list.push({ back: list });
    const shared = { s: 1 };
    expect(traced(node)).toEqual({ name: 'n', self: { $circular: '' } });
    expect(traced({ a: { 'x/y': list } })).toEqual({ a: { 'x/y': [1, { back: { $circular: '/a/x~1y' } }] } });
    expect(traced([shared, shared])).toEqual([{ s: 1 }, { s: 1 }]);
  });

  it('a key named __proto__ stays a key', () => {
    const value = JSON.parse('{"__proto__":{"x":1}}') as unknown;
    expect(JSON.stringify(traceValue(value))).toBe('{"__proto__":{"x":1}}');
  });
});

describe('§13 traceValue is cut to about 1 KiB, marked where it was cut', () => {
  it('a long string keeps its start, with "…" and its length', () => {
    const rendered = traced('a'.repeat(10_000)) as string;
    expect(rendered.length).toBeLessThan(300);
    expect(rendered).toMatch(/^a+…\(10000 chars\)$/);
  });

  it('a long string is not cut between the halves of a surrogate pair', () => {
    // 'a' first puts a pair's first half where a plain cut would fall.
    const rendered = traced(`a${'😀'.repeat(1000)}`) as string;
    expect(rendered).toMatch(/^a(?:😀)+…\(2001 chars\)$/u);
  });

  it('large binary shows its size and its first 32 bytes in hex', () => {
    const bytes = new Uint8Array(1_000_000).map((_, i) => i);
    expect(traced(bytes)).toEqual({ $bytes: 1_000_000, type: 'Uint8Array', hex: `${Array.from(bytes.slice(0, 32), (b) => b.toString(16).padStart(2, '0')).join('')}…` });
  });

  it('a long array, Map or Set stops with {"$more": how many were left out}', () => {
    const array = traced(Array.from({ length: 100_000 }, (_, i) => i)) as unknown[];
    expect(array.length).toBeLessThan(200);
    expect(array.at(-1)).toEqual({ $more: 100_000 - (array.length - 1) });
    expect(array.slice(0, 3)).toEqual([0, 1, 2]);
    const map = traced(new Map(Array.from({ length: 5_000 }, (_, i) => [i, `v${i}`]))) as { $map: unknown[] };
    expect(map.$map.at(-1)).toEqual({ $more: 5_000 - (map.$map.length - 1) });
    const set = traced(new Set(Array.from({ length: 5_000 }, (_, i) => i))) as { $set: unknown[] };
    expect(set.$set.at(-1)).toEqual({ $more: 5_000 - (set.$set.length - 1) });
  });

  it('an object with many keys stops with "$more" (inside $object, so it cannot be mistaken for a key of the value)', () => {
    const big = Object.fromEntries(Array.from({ length: 3_000 }, (_, i) => [`key${i}`, i]));
    const { $object: shown } = traced(big) as { $object: Record<string, unknown> };
    const keys = Object.keys(shown).filter((key) => key !== '$more');
    expect(keys.length).toBeGreaterThan(10);
    expect(shown.$more).toBe(3_000 - keys.length);
    expect(shown.key0).toBe(0);
  });

  it('nesting deeper than 8 is named, not walked', () => {
    let deep: unknown = 'bottom';
    for (let i = 0; i < 1_000; i++) deep = [deep];
    let rendered = traced(deep);
    let depth = 0;
    while (Array.isArray(rendered)) {
      rendered = rendered[0];
      depth++;
    }
    expect(depth).toBe(8);
    expect(rendered).toEqual({ $cut: 'Array(1)' });
    // Eight objects deep, the ninth (holding a Map) is only named.
    let objects: unknown = { i: new Map([[1, 2]]) };
    let expected: unknown = { $cut: 'Object' };
    for (const key of ['h', 'g', 'f', 'e', 'd', 'c', 'b', 'a']) {
      objects = { [key]: objects };
      expected = { [key]: expected };
    }
    expect(traced(objects)).toEqual(expected);
  });

  it.each([
    ['strings', Array.from({ length: 50 }, () => 'y'.repeat(200))],
    ['binary', Array.from({ length: 50 }, () => new Uint8Array(100))],
    ['nested objects', Array.from({ length: 200 }, (_, i) => ({ id: i, name: `item ${i}`, tags: ['a', 'b'] }))],
    ['a deep wide tree', { a: Array.from({ length: 100 }, () => ({ b: Array.from({ length: 100 }, () => 'z'.repeat(50)) })) }],
  ])('the whole rendering of large %s stays near 1 KiB', (_, value) => {
    expect(JSON.stringify(traceValue(value)).length).toBeLessThan(2_048);
  });
});

describe('§13 traceValue never throws', () => {
  it('a getter that throws is noted where it was', () => {
    const value = {
      ok: 1,
      get bad(): never {
        throw new Error('no reading me');
      },
    };
    expect(traced(value)).toEqual({ ok: 1, bad: { $unrenderable: 'Error: no reading me' } });
  });

  it('a revoked Proxy is noted instead of read', () => {
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    expect(traced(proxy)).toEqual({ $unrenderable: expect.stringContaining('revoked') });
  });
});
