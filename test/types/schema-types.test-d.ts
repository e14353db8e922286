/**
 * §12 typed values, at compile time: a received value is `unknown` unless the
 * `schema` option says more, and then it is the schema's output type — for `data`,
 * `receive`, `request`, a listener's connections, a rendezvous' links, the page's
 * sockets, and `request(v, { schema })`'s reply. Never run: it only has to compile
 * (`tsc -b` includes it, and test/types/schema-types.test.ts compiles it alone).
 *
 * Every `@ts-expect-error` names the error it stands for (`-- TS2322: …`);
 * schema-types.test.ts removes each directive in turn and checks that exactly that
 * error appears on the line below, so none is satisfied by an unrelated mistake.
 */
import * as v from 'valibot';
import { z } from 'zod';
import { DataSocket } from '../../src/index.js';
import type { PageDataSocket, PageDataSocketClass } from '../../src/renderer/client.js';

/** True when A and B are the same type (neither wider nor narrower, `any` only equal to `any`). */
type Equal<A, B> = (<X>() => X extends A ? 1 : 2) extends <X>() => X extends B ? 1 : 2 ? true : false;

/** Compiles only with `true`: `expectTrue<Equal<typeof x, Y>>()`. */
function expectTrue<T extends true>(): T | void {}

declare const page: PageDataSocketClass;

const zodSchema = z.object({ n: z.number() });
const valibotSchema = v.object({ n: v.number() });

export async function withZod(): Promise<void> {
  const socket = DataSocket.connect('x', { schema: zodSchema });
  expectTrue<Equal<typeof socket, DataSocket<{ n: number }>>>();
  socket.on('data', (value) => {
    const n: number = value.n;
    expectTrue<Equal<typeof value, { n: number }>>();
    void n;
  });
  socket.on('data', (value) => {
    // @ts-expect-error -- TS2322: a number is not a string
    const s: string = value.n;
    void s;
  });
  socket.on('data', (value) => {
    // @ts-expect-error -- TS2339: the schema has no 'm'
    void value.m;
  });
  // A handler that expects something else than the schema gives does not fit.
  // @ts-expect-error -- TS2345: (value: string) => void is not a handler of { n: number }
  socket.on('data', (value: string) => void value);
  socket.on('receive', (value) => expectTrue<Equal<typeof value, { n: number }>>());
  socket.once('data.chat', (value) => expectTrue<Equal<typeof value, { n: number }>>());
  socket.on('request', (value, respond) => {
    expectTrue<Equal<typeof value, { n: number }>>();
    respond(value.n * 2);
  });

  // TCP: the options after the port.
  const tcp = DataSocket.connect('127.0.0.1', 8080, { schema: zodSchema, keepAliveMs: 1000 });
  expectTrue<Equal<typeof tcp, DataSocket<{ n: number }>>>();

  // A schema that transforms: the output type, not the input.
  const lengths = DataSocket.connect('x', { schema: z.string().transform((s) => s.length) });
  lengths.on('data', (value) => expectTrue<Equal<typeof value, number>>());
}

export async function withValibot(): Promise<void> {
  const socket = DataSocket.connect('x', { schema: valibotSchema });
  socket.on('data', (value) => {
    const n: number = value.n;
    expectTrue<Equal<typeof value, { n: number }>>();
    void n;
  });
  socket.on('data', (value) => {
    // @ts-expect-error -- TS2322: a number is not a string
    const s: string = value.n;
    void s;
  });
  const lengths = DataSocket.connect('x', {
    schema: v.pipe(
      v.string(),
      v.transform((s) => s.length),
    ),
  });
  lengths.on('data', (value) => expectTrue<Equal<typeof value, number>>());

  const reply = await DataSocket.connect('x').request('q', { schema: v.object({ ok: v.boolean() }) });
  expectTrue<Equal<typeof reply, { ok: boolean }>>();
  // @ts-expect-error -- TS2322: a boolean is not a number
  const wrong: number = reply.ok;
  void wrong;
}

export async function withoutSchema(): Promise<void> {
  const socket = DataSocket.connect('x');
  expectTrue<Equal<typeof socket, DataSocket<unknown>>>();
  socket.on('data', (value) => {
    expectTrue<Equal<typeof value, unknown>>();
    // @ts-expect-error -- TS18046: 'value' is of type 'unknown'
    void value.n;
  });
  socket.on('request', (value, respond) => {
    expectTrue<Equal<typeof value, unknown>>();
    respond(value);
  });
  // Options without a schema change nothing.
  const tcp = DataSocket.connect('127.0.0.1', 8080, { keepAliveMs: 1000 });
  tcp.on('data', (value) => expectTrue<Equal<typeof value, unknown>>());

  const reply = await socket.request('q');
  expectTrue<Equal<typeof reply, unknown>>();
  // @ts-expect-error -- TS18046: 'reply' is of type 'unknown'
  void reply.ok;
}

export async function requestWithSchema(): Promise<void> {
  // The socket's own schema types what it receives; request()'s types its reply.
  const socket = DataSocket.connect('x', { schema: zodSchema });
  const reply = await socket.request({ q: 1 }, { schema: z.object({ ok: z.boolean() }), timeoutMs: 1000 });
  expectTrue<Equal<typeof reply, { ok: boolean }>>();
  const length = await socket.request('q', { schema: z.string().transform((s) => s.length) });
  expectTrue<Equal<typeof length, number>>();
  const plain = await socket.request('q', { timeoutMs: 1000 });
  expectTrue<Equal<typeof plain, unknown>>();
  // @ts-expect-error -- TS2322: a boolean is not a string
  const s: string = reply.ok;
  void s;
}

export function listenersAndRendezvous(): void {
  const listener = DataSocket.listen(
    (connection) => {
      expectTrue<Equal<typeof connection, DataSocket<{ n: number }>>>();
      connection.on('data', (value) => expectTrue<Equal<typeof value, { n: number }>>());
      return true;
    },
    '127.0.0.1',
    0,
    { schema: zodSchema },
  );
  expectTrue<Equal<typeof listener, DataSocket<{ n: number }>>>();
  DataSocket.listen((connection) => {
    connection.on('data', (value) => {
      // @ts-expect-error -- TS18046: 'value' is of type 'unknown'
      void value.n;
    });
    return true;
  }, 'x');

  const rendezvous = DataSocket.connectOrListen(() => true, 'x', { schema: valibotSchema });
  rendezvous.on('connection', (link) => {
    link.on('data', (value) => expectTrue<Equal<typeof value, { n: number }>>());
  });
}

export async function inThePage(): Promise<void> {
  const socket = page.connect('x', { schema: zodSchema });
  expectTrue<Equal<typeof socket, PageDataSocket<{ n: number }>>>();
  socket.on('data', (value) => {
    const n: number = value.n;
    void n;
    // @ts-expect-error -- TS2322: a number is not a string
    const s: string = value.n;
    void s;
  });
  page.connect('x').on('data', (value) => expectTrue<Equal<typeof value, unknown>>());
  const reply = await page.connect('x').request('q', { schema: v.number() });
  expectTrue<Equal<typeof reply, number>>();
}
