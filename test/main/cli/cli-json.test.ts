/**
 * The CLI's text form of values (SPEC §8: "one JSON line", "binary as base64 with
 * a marker"): what JSON can say prints as plain JSON, everything else as a `$`
 * marker, and reading a printed line gives the value back.
 */
import { describe, expect, it } from 'vitest';
import { parseValue, stringifyValue } from '../../../src/main/cli/cli-json.js';

function roundTrip(value: unknown): unknown {
  return parseValue(stringifyValue(value));
}

describe('§8 values JSON can hold print as plain JSON on one line', () => {
  it.each([
    ['a string', 'héllo 👋\nworld', '"héllo 👋\\nworld"'],
    ['a number', 42.5, '42.5'],
    ['null', null, 'null'],
    ['a boolean', true, 'true'],
    ['an array', [1, 'a', [null]], '[1,"a",[null]]'],
    ['an object', { a: 1, b: { c: [true] } }, '{"a":1,"b":{"c":[true]}}'],
  ])('%s', (_, value, printed) => {
    expect(stringifyValue(value)).toBe(printed);
    expect(parseValue(printed)).toEqual(value);
  });

  it('never prints a newline inside a line', () => {
    expect(stringifyValue({ 'multi\nline': 'a\r\nb', s: new Set(['\n']) })).not.toMatch(/[\r\n]/);
  });
});

describe('§8 text that is not JSON is the string itself', () => {
  it.each(['hello world', '{not json', "'single quotes'", '  ', 'undefined', 'NaN'])('%j', (text) => {
    expect(parseValue(text)).toBe(text);
  });

  it('JSON text is the value it spells, including a JSON string', () => {
    expect(parseValue('"quoted"')).toBe('quoted');
    expect(parseValue(' 12 ')).toBe(12);
    expect(parseValue('[1,{"a":null}]')).toEqual([1, { a: null }]);
  });
});

describe('§8 binary prints as base64 with a marker and reads back as the same type', () => {
  it('a Uint8Array', () => {
    const printed = stringifyValue(new Uint8Array([0, 1, 2, 255]));
    expect(printed).toBe('{"$binary":"AAEC/w==","type":"Uint8Array"}');
    const back = parseValue(printed);
    expect(back).toBeInstanceOf(Uint8Array);
    expect([...(back as Uint8Array)]).toEqual([0, 1, 2, 255]);
  });

  it('a Buffer prints as the Uint8Array it arrives as', () => {
    expect(stringifyValue(Buffer.from('hi'))).toBe('{"$binary":"aGk=","type":"Uint8Array"}');
  });

  it('only the bytes of a view into a larger buffer', () => {
    const view = new Uint8Array([9, 9, 1, 2, 9]).subarray(2, 4);
    expect(stringifyValue(view)).toBe(`{"$binary":"${Buffer.from([1, 2]).toString('base64')}","type":"Uint8Array"}`);
  });

  it.each([
    ['ArrayBuffer', () => new Uint8Array([1, 2, 3]).buffer],
    ['DataView', () => new DataView(new Uint8Array([4, 5]).buffer)],
    ['Int8Array', () => new Int8Array([-1, 2])],
    ['Uint8ClampedArray', () => new Uint8ClampedArray([0, 255])],
    ['Int16Array', () => new Int16Array([-300, 300])],
    ['Uint16Array', () => new Uint16Array([65535])],
    ['Int32Array', () => new Int32Array([-1e9])],
    ['Uint32Array', () => new Uint32Array([4e9])],
    ['Float32Array', () => new Float32Array([1.5, -0.25])],
    ['Float64Array', () => new Float64Array([Math.PI, -Infinity])],
    ['BigInt64Array', () => new BigInt64Array([-(2n ** 63n)])],
    ['BigUint64Array', () => new BigUint64Array([2n ** 64n - 1n])],
  ])('%s', (type, make) => {
    const value = make();
    const printed = stringifyValue(value);
    expect(JSON.parse(printed)).toMatchObject({ type });
    const back = parseValue(printed);
    expect(Object.prototype.toString.call(back)).toBe(`[object ${type}]`);
    // toStrictEqual: toEqual does not compare the bytes of an ArrayBuffer or a DataView.
    expect(back).toStrictEqual(value);
  });

  it('nested binary, and a marker without "type" reads as a Uint8Array', () => {
    expect(roundTrip({ file: new Uint8Array([7]), parts: [new Int16Array([1])] })).toEqual({ file: new Uint8Array([7]), parts: [new Int16Array([1])] });
    expect(parseValue('{"$binary":"Bw=="}')).toEqual(new Uint8Array([7]));
  });
});

describe('§8 other values JSON cannot hold print as markers and read back', () => {
  it.each([
    ['BigInt', 12345678901234567890n, '{"$bigint":"12345678901234567890"}'],
    ['a negative BigInt', -5n, '{"$bigint":"-5"}'],
    ['undefined', undefined, '{"$undefined":true}'],
    ['NaN', NaN, '{"$number":"NaN"}'],
    ['Infinity', Infinity, '{"$number":"Infinity"}'],
    ['-Infinity', -Infinity, '{"$number":"-Infinity"}'],
    ['a Date', new Date('2024-05-06T07:08:09.010Z'), '{"$date":"2024-05-06T07:08:09.010Z"}'],
    ['an invalid Date', new Date(NaN), '{"$date":null}'],
    ['a RegExp', /a\/b+/gi, '{"$regexp":"/a\\\\/b+/gi"}'],
    ['a Map', new Map<unknown, unknown>([['k', 1], [{ o: 1 }, [2]]]), '{"$map":[["k",1],[{"o":1},[2]]]}'],
    ['a Set', new Set([1, 'two']), '{"$set":[1,"two"]}'],
  ])('%s', (_, value, printed) => {
    expect(stringifyValue(value)).toBe(printed);
    expect(parseValue(printed)).toEqual(value);
  });

  it('an Error keeps its name and message', () => {
    const printed = stringifyValue(new TypeError('boom'));
    expect(printed).toBe('{"$error":{"name":"TypeError","message":"boom"}}');
    const back = parseValue(printed) as Error;
    expect(back).toBeInstanceOf(TypeError);
    expect(back.message).toBe('boom');
    const custom = parseValue('{"$error":{"name":"MyError","message":"m"}}') as Error;
    expect(custom).toBeInstanceOf(Error);
    expect([custom.name, custom.message]).toEqual(['MyError', 'm']);
  });

  it('undefined inside objects and arrays, and array holes, are kept', () => {
    // eslint-disable-next-line no-sparse-arrays -- the hole is the point
    expect(stringifyValue({ a: undefined, b: [1, , 3] })).toBe('{"a":{"$undefined":true},"b":[1,{"$undefined":true},3]}');
    const back = roundTrip({ a: undefined }) as object;
    expect(Object.keys(back)).toEqual(['a']);
  });

  it('-0 prints as its marker, as --help says, and reads back from it', () => {
    expect(stringifyValue(-0)).toBe('{"$number":"-0"}');
    expect(stringifyValue([0, -0])).toBe('[0,{"$number":"-0"}]');
    expect(Object.is(parseValue('{"$number":"-0"}'), -0)).toBe(true);
  });

  it('everything at once, nested, round-trips', () => {
    const value = {
      id: 1n,
      when: new Date(0),
      tags: new Set(['x', new Map([[1, new Uint8Array([1])]])]),
      list: [undefined, NaN, { re: /x/m, err: new RangeError('r') }],
    };
    expect(roundTrip(value)).toEqual(value);
  });
});

describe('§8 circular references print as a marker instead of crashing', () => {
  it('a cycle to the root', () => {
    const root: Record<string, unknown> = { name: 'root' };
    root.self = root;
    expect(stringifyValue(root)).toBe('{"name":"root","self":{"$circular":""}}');
    const back = roundTrip(root) as Record<string, unknown>;
    expect(back.self).toBe(back);
  });

  it('cycles through arrays, Maps and Sets point at the right object', () => {
    const inner: unknown[] = [];
    const map = new Map<string, unknown>([['list', inner]]);
    inner.push(map, inner);
    const set = new Set<unknown>();
    set.add(set);
    const value = { 'a/b~': { map }, set };
    const printed = stringifyValue(value);
    expect(printed).toBe('{"a/b~":{"map":{"$map":[["list",[{"$circular":"/a~1b~0/map"},{"$circular":"/a~1b~0/map/$map/0/1"}]]]}},"set":{"$set":[{"$circular":"/set"}]}}');
    const back = parseValue(printed) as { 'a/b~': { map: Map<string, unknown[]> }; set: Set<unknown> };
    const backMap = back['a/b~'].map;
    const backList = backMap.get('list')!;
    expect(backList[0]).toBe(backMap);
    expect(backList[1]).toBe(backList);
    expect([...back.set][0]).toBe(back.set);
  });

  it('an object shared without a cycle is printed in full each time', () => {
    const shared = { n: 1 };
    expect(stringifyValue([shared, shared])).toBe('[{"n":1},{"n":1}]');
  });
});

describe('§8 a plain object that looks like a marker is printed so it reads back as itself', () => {
  it.each([{ $bigint: '5' }, { $binary: 'AA==', type: 'Uint8Array' }, { $object: { a: 1 } }, { $circular: '' }, { $set: [1], other: true }])(
    '%j',
    (value) => {
      const printed = stringifyValue(value);
      expect(JSON.parse(printed)).toHaveProperty('$object');
      expect(parseValue(printed)).toEqual(value);
    },
  );
});

describe('§8 an object that is not exactly a well-formed marker stays a plain object', () => {
  it.each([
    '{"$bigint":"12x"}',
    '{"$bigint":5}',
    '{"$bigint":"5","extra":1}',
    '{"$binary":"not base64!","type":"Uint8Array"}',
    '{"$binary":"AAE=","type":"Buffer"}',
    '{"$binary":"AAEC","type":"Int16Array"}',
    '{"$number":"12"}',
    '{"$undefined":false}',
    '{"$date":"not a date"}',
    '{"$regexp":"no slashes"}',
    '{"$regexp":"/(/"}',
    '{"$error":{"name":"E"}}',
    '{"$map":[[1]]}',
    '{"$set":{}}',
    '{"$circular":"/nowhere"}',
    '{"$object":[1]}',
    '{"$unknown":1}',
  ])('%s', (text) => {
    expect(parseValue(text)).toEqual(JSON.parse(text));
  });
});

describe('§3 reading never touches Object.prototype', () => {
  it('a "__proto__" key stays an own data key', () => {
    const back = parseValue('{"__proto__":{"polluted":true},"a":{"__proto__":[1]}}') as Record<string, unknown>;
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
    expect(Object.keys(back)).toEqual(['__proto__', 'a']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(stringifyValue(back)).toBe('{"__proto__":{"polluted":true},"a":{"__proto__":[1]}}');
  });
});
