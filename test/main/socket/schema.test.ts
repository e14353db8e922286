/**
 * §12 typed values at run time: option `schema` takes any Standard Schema v1
 * validator — here zod 4 and valibot, and one written by hand — and checks every
 * received value and request before delivery, over a Unix socket and TCP. A value
 * that fails closes that connection with ERR_DATASOCKET_INVALID_VALUE; a reply that
 * fails request()'s own schema rejects that request only.
 */
import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { DataSocket, DataSocketError, ErrorCode, type ConnectOptions, type ListenOptions } from '../../../src/index.js';
import type { StandardSchemaV1 } from '../../../src/shared/standard-schema.js';
import { useCleanup } from '../../helpers/cleanup.js';
import { rejection } from '../../helpers/rejection.js';
import { listening, once, record, uniqueName, until } from '../../helpers/sockets.js';

const { track } = useCleanup();

const TRANSPORTS = [
  { name: 'a Unix socket', endpoint: (): { name: string; port?: number } => ({ name: uniqueName('schema') }) },
  { name: 'TCP on 127.0.0.1', endpoint: (): { name: string; port?: number } => ({ name: '127.0.0.1', port: 0 }) },
];

/** The same schemas written with each validator, and the issue text each gives for `{ n: 'three' }`. */
const VALIDATORS = [
  {
    name: 'zod 4',
    /** `{ n: number }` */
    object: z.object({ n: z.number() }) as StandardSchemaV1,
    issue: 'n: Invalid input: expected number, received string',
    /** A string, delivered as its length. */
    length: z.string().transform((s) => s.length) as StandardSchemaV1,
    /** Anything that reads as a number, delivered as that number. */
    coerce: z.coerce.number() as StandardSchemaV1,
    number: z.number() as StandardSchemaV1,
    numberIssue: 'Invalid input: expected number, received string',
    /** Checks strings with an async refinement: validate() answers with a Promise. */
    async: z.string().refine(async (s) => s.length > 0) as StandardSchemaV1,
  },
  {
    name: 'valibot',
    object: v.object({ n: v.number() }) as StandardSchemaV1,
    issue: 'n: Invalid type: Expected number but received "three"',
    length: v.pipe(
      v.string(),
      v.transform((s) => s.length),
    ) as StandardSchemaV1,
    coerce: v.pipe(v.union([v.string(), v.number()]), v.transform(Number), v.number()) as StandardSchemaV1,
    number: v.number() as StandardSchemaV1,
    numberIssue: 'Invalid type: Expected number but received "a string"',
    async: v.pipeAsync(
      v.string(),
      v.checkAsync(async (s) => s.length > 0),
    ) as StandardSchemaV1,
  },
];

interface Pair {
  listener: DataSocket;
  client: DataSocket;
  server: DataSocket;
  /** The accepted connection's events, recorded from its acceptance on. */
  serverEvents: ReturnType<typeof record>;
}

/** A listener with `options`, bound, that accepts every connection and records its events from its acceptance on. */
async function recordingListener(endpoint: { name: string; port?: number }, options?: ListenOptions) {
  const accepted: { socket: DataSocket; events: ReturnType<typeof record> }[] = [];
  const listener = track(
    DataSocket.listen(
      (connection) => {
        accepted.push({ socket: track(connection), events: record(connection) });
        return true;
      },
      endpoint.name,
      endpoint.port,
      options,
    ),
  );
  await listening(listener);
  return { listener, accepted };
}

/** A listener with `listen` options and one client with `connect` options, both open. */
async function openPair(endpoint: { name: string; port?: number }, options: { listen?: ListenOptions; connect?: ConnectOptions } = {}): Promise<Pair> {
  const { listener, accepted } = await recordingListener(endpoint, options.listen);
  const client = track(DataSocket.connect(listener.address.name, listener.address.port, options.connect));
  await once(client, 'connect');
  await until(() => accepted[0]?.socket.state === 'open');
  return { listener, client, server: accepted[0]!.socket, serverEvents: accepted[0]!.events };
}

/**
 * The other end of a connection a schema closed: the connection was torn down under
 * it — ECONNRESET when it reads that, EPIPE when its own write finds it first — then close.
 */
function expectTornDown(events: ReturnType<typeof record>, before: string[]): void {
  expect(events.errors.map((e) => e.code)).toHaveLength(1);
  expect(['ECONNRESET', 'EPIPE']).toContain(events.errors[0]!.code);
  expect(events.log).toEqual([...before, `error:${events.errors[0]!.code}`, 'close']);
}

for (const validator of VALIDATORS) {
  for (const transport of TRANSPORTS) {
    describe(`§12 schema with ${validator.name} over ${transport.name}`, () => {
      it("a listener's schema refuses a value in the middle of a stream: the values before it are delivered, it and the later ones never; that connection closes with ERR_DATASOCKET_INVALID_VALUE (the issue in the message); the listener's other connection is unaffected", async () => {
        const endpoint = transport.endpoint();
        const { listener, accepted } = await recordingListener(endpoint, { schema: validator.object });
        const bad = track(DataSocket.connect(listener.address.name, listener.address.port));
        const badEvents = record(bad);
        await once(bad, 'connect');
        await until(() => accepted.length === 1);
        const other = track(DataSocket.connect(listener.address.name, listener.address.port));
        await once(other, 'connect');
        await until(() => accepted.length === 2 && accepted[1]!.socket.state === 'open');
        const [refusing, unaffected] = accepted as [(typeof accepted)[0], (typeof accepted)[0]];

        other.send({ n: -1 });
        for (let n = 0; n < 100; n++) bad.send({ n });
        bad.send({ n: 'three' });
        for (let n = 100; n < 200; n++) bad.send({ n });
        await refusing.events.closed;
        expect(refusing.events.values).toEqual(Array.from({ length: 100 }, (_, n) => ({ n })));
        expect(refusing.events.log).toEqual(['connect', ...Array<string>(100).fill('data'), `error:${ErrorCode.INVALID_VALUE}`, 'close']);
        expect(refusing.events.errors[0]!.message).toBe(`a received value failed its schema: ${validator.issue}`);
        // The sender's side: its connection was torn down under it.
        await badEvents.closed;
        expectTornDown(badEvents, ['connect']);

        other.send({ n: -2 });
        await until(() => unaffected.events.values.length === 2);
        expect(unaffected.events.values).toEqual([{ n: -1 }, { n: -2 }]);
        expect(unaffected.events.log).toEqual(['connect', 'data', 'data']);
        expect(unaffected.socket.state).toBe('open');
        expect(other.state).toBe('open');
        expect(listener.state).toBe('listening');
      });

      it("a client's schema refuses a value the accepted connection sends: values before it delivered, it and later ones never, ERR_DATASOCKET_INVALID_VALUE then close", async () => {
        const { client, server } = await pairWithClientSchema(transport.endpoint(), validator.object);
        const events = record(client);
        server.send({ n: 1 });
        server.send({ n: 2 });
        server.send({ n: 'three' });
        server.send({ n: 4 });
        await events.closed;
        expect(events.values).toEqual([{ n: 1 }, { n: 2 }]);
        expect(events.log).toEqual(['data', 'data', `error:${ErrorCode.INVALID_VALUE}`, 'close']);
        expect(events.errors[0]!.message).toBe(`a received value failed its schema: ${validator.issue}`);
      });

      it("a request whose value fails the schema closes that connection with ERR_DATASOCKET_INVALID_VALUE; its handler never sees it, and the requester's pending requests reject with ERR_DATASOCKET_CLOSED", async () => {
        const { client, server, serverEvents } = await openPair(transport.endpoint(), { listen: { schema: validator.object } });
        const asked: unknown[] = [];
        server.on('request', (value: unknown) => {
          asked.push(value);
        });
        const clientEvents = record(client);
        const held = rejection(client.request({ n: 1 }));
        await until(() => asked.length === 1);
        const refused = rejection(client.request({ n: 'three' }));
        client.send({ n: 5 });
        await serverEvents.closed;
        expect(asked).toEqual([{ n: 1 }]);
        expect(serverEvents.values).toEqual([]);
        expect(serverEvents.log).toEqual(['connect', `error:${ErrorCode.INVALID_VALUE}`, 'close']);
        expect(serverEvents.errors[0]!.message).toBe(`a received request failed its schema: ${validator.issue}`);
        for (const error of await Promise.all([held, refused])) {
          expect(error.code).toBe(ErrorCode.CLOSED);
          expect(error.cause).toBe(clientEvents.errors[0]);
        }
        expectTornDown(clientEvents, []);
      });

      it('a schema that transforms delivers the transformed value, for data and for requests', async () => {
        const { client, server, serverEvents } = await openPair(transport.endpoint(), { listen: { schema: validator.length } });
        server.on('request', (value: unknown, respond) => respond({ got: value }));
        client.send('abc');
        client.send('');
        await expect(client.request('four')).resolves.toEqual({ got: 4 });
        await until(() => serverEvents.values.length === 2);
        expect(serverEvents.values).toEqual([3, 0]);

        const coerced = await pairWithClientSchema(transport.endpoint(), validator.coerce);
        const values: unknown[] = [];
        coerced.client.on('data', (value: unknown) => values.push(value));
        coerced.server.send('42');
        coerced.server.send(7);
        await until(() => values.length === 2);
        expect(values).toEqual([42, 7]);
      });

      it('an asynchronous schema is refused: the first value closes the connection with ERR_DATASOCKET_INVALID_VALUE and is never delivered', async () => {
        const { client, serverEvents } = await openPair(transport.endpoint(), { listen: { schema: validator.async } });
        client.send('a value');
        client.send('another');
        await serverEvents.closed;
        expect(serverEvents.values).toEqual([]);
        expect(serverEvents.log).toEqual(['connect', `error:${ErrorCode.INVALID_VALUE}`, 'close']);
        expect(serverEvents.errors[0]!.message).toBe(
          'a received value could not be validated: the schema is asynchronous, and only a synchronous schema keeps values in order',
        );
      });

      it("request(v, { schema }) checks the reply: one that fails rejects that request only with ERR_DATASOCKET_INVALID_VALUE; the connection stays, a reply that passes is delivered transformed, and the socket's own schema never checks replies", async () => {
        // The client's own schema checks what it receives as values and requests, not replies.
        const { client, server } = await openPair(transport.endpoint(), { connect: { schema: validator.object } });
        server.on('request', (value: unknown, respond) => respond(value));
        const error = await rejection(client.request('a string', { schema: validator.number }));
        expect(error).toBeInstanceOf(DataSocketError);
        expect(error.code).toBe(ErrorCode.INVALID_VALUE);
        expect(error.message).toBe(`the reply failed its schema: ${validator.numberIssue}`);
        const asynchronous = await rejection(client.request('x', { schema: validator.async }));
        expect(asynchronous.code).toBe(ErrorCode.INVALID_VALUE);
        expect(asynchronous.message).toBe('the reply could not be validated: the schema is asynchronous, and only a synchronous schema keeps values in order');
        await expect(client.request('hello', { schema: validator.length })).resolves.toBe(5);
        await expect(client.request({ n: 3 }, { schema: validator.object })).resolves.toEqual({ n: 3 });
        await expect(client.request('not an object')).resolves.toBe('not an object');
        const received = once(server, 'data');
        client.send('still open');
        expect(await received).toBe('still open');
        expect(client.state).toBe('open');
        expect(server.state).toBe('open');
      });
    });
  }
}

/** A listener without a schema and a client with `schema`, both open. */
function pairWithClientSchema(endpoint: { name: string; port?: number }, schema: StandardSchemaV1): Promise<Pair> {
  return openPair(endpoint, { connect: { schema } });
}

/** A Standard Schema v1 written by hand: no validator library. */
function handWritten(validate: (value: unknown) => ReturnType<StandardSchemaV1['~standard']['validate']>): StandardSchemaV1 {
  return { '~standard': { version: 1, vendor: 'by-hand', validate } };
}

describe('§12 schema: any Standard Schema v1, and its edges', () => {
  it('takes a Standard Schema written by hand, and its output is what is delivered', async () => {
    const upper = handWritten((value) => (typeof value === 'string' ? { value: value.toUpperCase() } : { issues: [{ message: 'not a string' }] }));
    const { client, serverEvents } = await openPair({ name: uniqueName('schema') }, { listen: { schema: upper } });
    client.send('quiet');
    client.send(1);
    await serverEvents.closed;
    expect(serverEvents.values).toEqual(['QUIET']);
    expect(serverEvents.errors[0]!.message).toBe('a received value failed its schema: not a string');
  });

  it('a schema that throws closes the connection with ERR_DATASOCKET_INVALID_VALUE, the thrown error as cause', async () => {
    const thrown = new Error('validator bug');
    const throwing = handWritten(() => {
      throw thrown;
    });
    const { client, serverEvents } = await openPair({ name: uniqueName('schema') }, { listen: { schema: throwing } });
    client.send('anything');
    await serverEvents.closed;
    expect(serverEvents.values).toEqual([]);
    expect(serverEvents.errors[0]!.code).toBe(ErrorCode.INVALID_VALUE);
    expect(serverEvents.errors[0]!.message).toBe('a received value could not be validated: the schema threw validator bug');
    expect(serverEvents.errors[0]!.cause).toBe(thrown);
  });

  it('shows the first five issues with their paths, and how many more there were', async () => {
    const seven = z.object(Object.fromEntries(['a', 'b', 'c', 'd', 'e', 'f', 'g'].map((key) => [key, z.number()])));
    const { client, serverEvents } = await openPair({ name: uniqueName('schema') }, { listen: { schema: seven } });
    client.send({ nested: true });
    await serverEvents.closed;
    const issue = 'Invalid input: expected number, received undefined';
    expect(serverEvents.errors[0]!.message).toBe(
      `a received value failed its schema: a: ${issue}; b: ${issue}; c: ${issue}; d: ${issue}; e: ${issue} (and 2 more)`,
    );
  });

  it('nested paths are joined with dots', async () => {
    const schema = v.object({ user: v.object({ tags: v.array(v.string()) }) });
    const { client, serverEvents } = await openPair({ name: uniqueName('schema') }, { listen: { schema } });
    client.send({ user: { tags: ['ok', 2] } });
    await serverEvents.closed;
    expect(serverEvents.errors[0]!.message).toBe('a received value failed its schema: user.tags.1: Invalid type: Expected string but received 2');
  });

  it('a schema option that is not a Standard Schema v1 throws ERR_DATASOCKET_INVALID_ARGUMENT at connect and listen', () => {
    for (const schema of [{}, { parse: (x: unknown) => x }, { '~standard': { version: 2, validate: () => ({ value: 1 }) } }, 'zod']) {
      const message = "'schema' must be a Standard Schema v1 validator (zod 4, valibot, arktype…)";
      expect(() => DataSocket.connect(uniqueName('schema'), { schema } as never)).toThrow(message);
      expect(() => DataSocket.listen(() => true, uniqueName('schema'), { schema } as never)).toThrow(message);
      try {
        DataSocket.connect(uniqueName('schema'), { schema } as never);
      } catch (error) {
        expect((error as DataSocketError).code).toBe(ErrorCode.INVALID_ARGUMENT);
      }
    }
  });
});
