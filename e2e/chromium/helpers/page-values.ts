/**
 * The values the page tests send, and how a page describes a value so that the test
 * can compare what was sent with what arrived (SPEC §3). {@link createValueKit} runs in
 * the page (Playwright serializes it, so it is self-contained); the driver gets the kit
 * as an argument.
 */

/** A JSON-safe, type-exact description of a value: equal descriptions mean equal values (SPEC §3). */
export type Description = unknown;

/** Sample values and descriptions, in the page. */
export interface ValueKit {
  /** The §3 sample values by name, made fresh. */
  sample(name: string): unknown;
  sampleNames(): string[];
  describe(value: unknown): Description;
}

/** Runs in the page: makes the kit. Self-contained. */
export function createValueKit(): ValueKit {
  const tagOf = (value: object): string => Object.prototype.toString.call(value).slice(8, -1);
  const CONSTRUCTORS: [string, { prototype: unknown }][] = [
    ['Object', Object], ['Array', Array], ['Map', Map], ['Set', Set], ['Date', Date], ['RegExp', RegExp],
    ['Error', Error], ['TypeError', TypeError], ['RangeError', RangeError], ['SyntaxError', SyntaxError],
    ['ArrayBuffer', ArrayBuffer], ['DataView', DataView], ['Int8Array', Int8Array], ['Uint8Array', Uint8Array],
    ['Uint8ClampedArray', Uint8ClampedArray], ['Int16Array', Int16Array], ['Uint16Array', Uint16Array],
    ['Int32Array', Int32Array], ['Uint32Array', Uint32Array], ['Float32Array', Float32Array],
    ['Float64Array', Float64Array], ['BigInt64Array', BigInt64Array], ['BigUint64Array', BigUint64Array],
  ];
  const protoName = (value: object): string => {
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto === null) return 'null';
    return CONSTRUCTORS.find(([, C]) => C.prototype === proto)?.[0] ?? 'foreign';
  };
  const bytesOf = (view: ArrayBufferView | ArrayBuffer): Description => {
    const bytes = view instanceof ArrayBuffer ? new Uint8Array(view) : new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
    if (bytes.length <= 64) return Array.from(bytes);
    let hash = 0x811c9dc5;
    for (const byte of bytes) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
    return { length: bytes.length, fnv1a: hash };
  };

  // Every object gets a number in visiting order and a second visit says {ref}: shared and circular references must match too.
  const describe = (value: unknown, seen: Map<object, number> = new Map()): Description => {
    switch (typeof value) {
      case 'undefined':
        return { undefined: true };
      case 'boolean':
      case 'string':
        return value;
      case 'number':
        if (Number.isNaN(value) || !Number.isFinite(value)) return { number: String(value) };
        return value === 0 ? 0 : value; // SPEC §3: -0 may arrive as 0
      case 'bigint':
        return { bigint: value.toString() };
      case 'symbol':
      case 'function':
        return { unexpected: typeof value };
      default:
        break;
    }
    if (value === null) return null;
    const object = value as object;
    const known = seen.get(object);
    if (known !== undefined) return { ref: known };
    const ref = seen.size;
    seen.set(object, ref);
    const proto = protoName(object);
    const tag = tagOf(object);
    if (Array.isArray(object)) return { ref, proto, array: object.map((item) => describe(item, seen)) };
    if (object instanceof Map) return { ref, proto, map: [...object].map(([k, v]) => [describe(k, seen), describe(v, seen)]) };
    if (object instanceof Set) return { ref, proto, set: [...object].map((item) => describe(item, seen)) };
    if (object instanceof Date) return { ref, proto, date: String(object.getTime()) };
    if (object instanceof RegExp) return { ref, proto, regexp: object.source, flags: object.flags };
    if (object instanceof Error) return { ref, proto, error: object.name, message: object.message };
    if (object instanceof ArrayBuffer) return { ref, proto, arrayBuffer: bytesOf(object) };
    if (object instanceof DataView) return { ref, proto, dataView: bytesOf(object) };
    if (ArrayBuffer.isView(object)) {
      const items = Array.from(object as unknown as ArrayLike<number | bigint>, String);
      return { ref, proto, typed: tag, items: items.length <= 64 ? items : bytesOf(object) };
    }
    return { ref, proto, tag, object: Object.keys(object).map((key) => [key, describe((object as Record<string, unknown>)[key], seen)]) };
  };

  const samples: Record<string, () => unknown> = {
    primitives: () => [undefined, null, true, false, 0, 42, -7.25, 2 ** 53 - 1, Number.NaN, Infinity, -Infinity, '', 'héllo — 日本語 😀 \u{10FFFF} \u0000\n'],
    bigints: () => [0n, 123n, -(2n ** 63n), 2n ** 200n + 1n],
    dates: () => [new Date(Date.UTC(2026, 10, 24, 12, 30, 15, 123)), new Date(-1e12), new Date(Number.NaN)],
    regexp: () => /^a+(b|c)?\u{1F600}$/giu,
    map: () =>
      new Map<unknown, unknown>([
        [1, 'one'],
        ['two', { n: 2 }],
        [{ key: 'object' }, [3]],
        [2n, new Set(['nested'])],
      ]),
    set: () => new Set<unknown>([1, 'a', null, { o: 1 }, 3n]),
    'typed arrays': () => [
      Int8Array.of(-128, 0, 127),
      Uint8Array.of(0, 1, 255),
      Uint8ClampedArray.of(0, 128, 255),
      Int16Array.of(-32768, 1, 32767),
      Uint16Array.of(0, 65535),
      Int32Array.of(-(2 ** 31), 2 ** 31 - 1),
      Uint32Array.of(0, 2 ** 32 - 1),
      Float32Array.of(1.5, -0.25, Number.NaN),
      Float64Array.of(Math.PI, -Infinity, Number.NaN),
      BigInt64Array.of(-(2n ** 63n), 2n ** 63n - 1n),
      BigUint64Array.of(0n, 2n ** 64n - 1n),
      new Uint8Array(Uint8Array.of(0, 1, 2, 3, 4, 5).buffer, 2, 3),
    ],
    'array buffer and data view': () => [Uint8Array.of(9, 8, 7, 6).buffer, new DataView(Uint8Array.of(1, 2, 3, 4, 5).buffer, 1, 3)],
    'a megabyte of bytes': () => Uint8Array.from({ length: 1 << 20 }, (_, i) => (i * 31 + 7) & 0xff),
    errors: () => [new TypeError('bad type'), Object.assign(new Error('custom'), { name: 'MyAppError' })],
    circular: () => {
      const node: Record<string, unknown> = { name: 'loop' };
      node.self = node;
      node.list = [node, { back: node }];
      return node;
    },
    'shared references': () => {
      const shared = { shared: true };
      return { first: shared, second: shared, inArray: [shared], inMap: new Map([['s', shared]]) };
    },
    'nested plain data': () => ({ a: 1, b: { c: [true, null, { d: 'deep', e: [[[]]] }] }, 'key with spaces': 'v', 1: 'numeric key', missing: undefined }),
  };

  return {
    sample(name) {
      const make = samples[name];
      if (make === undefined) throw new Error(`no sample '${name}'`);
      return make();
    },
    sampleNames: () => Object.keys(samples),
    describe: (value) => describe(value),
  };
}
