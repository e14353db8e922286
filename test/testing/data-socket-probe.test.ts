/**
 * §13 DataSocketProbe, its peer a DataSocket in this process over real sockets: the
 * shared cursor of next() and waitFor(), what a failed wait says, the end of a probe
 * (close, a peer that closes, nothing to connect to), a listening probe's several
 * connections, and the argument checks. The tests with the app in another process are
 * in data-socket-probe-processes.test.ts.
 */
import net from 'node:net';
import { afterEach, describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { DataSocket, DataSocketError, ErrorCode } from '../../src/index.js';
import { DataSocketProbe, type ProbeWaitError } from '../../src/testing/data-socket-probe.js';
import { useCleanup } from '../helpers/cleanup.js';
import { expectThrows, rejection } from '../helpers/rejection.js';
import { useRuntimeDir } from '../helpers/runtime-dir.js';
import { listening, once, record, uniqueName, until } from '../helpers/sockets.js';

useRuntimeDir();
const { track } = useCleanup();
const probes: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(probes.splice(0).map((probe) => probe.close()));
});

function kept<P extends { close(): Promise<void> }>(probe: P): P {
  probes.push(probe);
  return probe;
}

function listenProbe(...args: Parameters<typeof DataSocketProbe.listen>): DataSocketProbe {
  const probe = DataSocketProbe.listen(...args);
  probes.push(probe);
  return probe;
}

/** A listening probe, ready, and a client connected to it. */
async function probeAndClient(options?: Parameters<typeof DataSocketProbe.listen>[2]): Promise<{ probe: DataSocketProbe; client: DataSocket }> {
  const probe = await listenProbe(uniqueName('probe'), options).ready();
  const client = track(DataSocket.connect(probe.address.name));
  await once(client, 'connect');
  await probe.connection();
  return { probe, client };
}

describe('§13 DataSocketProbe: next() and waitFor()', () => {
  it('next() gives the values in order, waiting for those not yet here; waitFor() skips to a match; both move one cursor', async () => {
    const { probe, client } = await probeAndClient();
    const first = probe.next();
    const second = probe.next();
    for (const value of [1, 2, 3, { kind: 'ready' }, 5]) client.send(value);
    expect([await first, await second]).toEqual([1, 2]);
    expect(await probe.waitFor((v) => typeof v === 'object' && (v as { kind?: string }).kind === 'ready')).toEqual({ kind: 'ready' });
    expect(await probe.next()).toBe(5);
    // Skipped values stay in `received`.
    expect(probe.received).toEqual([1, 2, 3, { kind: 'ready' }, 5]);
  });

  it('a predicate that throws rejects waitFor() with its error, and the cursor stays', async () => {
    const { probe, client } = await probeAndClient();
    client.send('a');
    const thrown = new TypeError('predicate broke');
    expect(
      await rejection(
        probe.waitFor(() => {
          throw thrown;
        }),
      ),
    ).toBe(thrown);
    expect(await probe.next()).toBe('a');
  });

  it('a timeout rejects with ERR_DATASOCKET_TIMEOUT, naming the wait and listing what arrived (Map, Date, bytes readable), with a copy in `received`', async () => {
    const { probe, client } = await probeAndClient();
    const values = [new Map([['k', 1]]), new Date('2026-01-02T03:04:05.000Z'), new Uint8Array([7, 8, 9]), 'plain'];
    for (const value of values) client.send(value);
    await until(() => probe.received.length === values.length);
    const started = Date.now();
    const error = (await rejection(probe.waitFor((v) => v === 'never sent', { timeoutMs: 300 }))) as ProbeWaitError;
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(error).toBeInstanceOf(DataSocketError);
    expect(error.code).toBe(ErrorCode.TIMEOUT);
    // The predicate's source as the test runner compiled it: quotes may differ.
    expect(error.message).toMatch(/^waitFor\(\(v\) => v === ["']never sent["']\) got no matching value within 300 ms/);
    expect(error.message).toContain('Received 4 values');
    expect(error.message).toContain("#0 Map(1) { 'k' => 1 }");
    expect(error.message).toContain('#1 2026-01-02T03:04:05.000Z');
    expect(error.message).toContain('#2 Uint8Array(3) [ 7, 8, 9 ]');
    expect(error.message).toContain("#3 'plain'");
    expect(error.received).toEqual(values);
    expect(error.received).not.toBe(probe.received);
  });

  it('a timeout lists only the last 20 values, saying how many more came before, each value cut short', async () => {
    const { probe, client } = await probeAndClient({ timeoutMs: 200 });
    const wide = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`key${i}`, i]));
    for (let i = 0; i < 25; i++) client.send(i === 24 ? wide : `value-${i}`);
    await until(() => probe.received.length === 25);
    await probe.waitFor((v) => v === 'value-2');
    const error = (await rejection(probe.waitFor((v) => v === 'absent'))) as ProbeWaitError;
    expect(error.message).toContain('got no matching value within 200 ms');
    expect(error.message).toContain('Received 25 values (next() is at #3)');
    expect(error.message).toContain('… 5 more before');
    expect(error.message).not.toContain("'value-4'");
    expect(error.message).toContain("#5 'value-5'");
    const last = error.message.split('\n').find((line) => line.includes('#24'))!;
    expect(last.length).toBeLessThan(260);
    expect(error.received).toHaveLength(25);
  });

  it('a timed-out next() holds nothing back: a later call is served', async () => {
    const { probe, client } = await probeAndClient();
    const blocked = probe.waitFor((v) => v === 'absent', { timeoutMs: 200 });
    const after = probe.next({ timeoutMs: 5_000 });
    client.send('value');
    expect((await rejection(blocked)).code).toBe(ErrorCode.TIMEOUT);
    expect(await after).toBe('value');
  });
});

describe('§13 DataSocketProbe: the end of a probe', () => {
  it('close() while next() waits rejects it at once with ERR_DATASOCKET_CLOSED, listing what arrived; close() resolves once the sockets closed and is idempotent', async () => {
    const { probe, client } = await probeAndClient({ timeoutMs: 20_000 });
    client.send('only');
    await probe.next();
    const waiting = probe.next();
    const clientEvents = record(client);
    const started = Date.now();
    const closing = probe.close();
    expect(probe.close()).toBe(closing);
    const error = (await rejection(waiting)) as ProbeWaitError;
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(error.code).toBe(ErrorCode.CLOSED);
    expect(error.message).toContain('next() cannot be served: probe.close() was called');
    expect(error.message).toContain("#0 'only'");
    expect(error.received).toEqual(['only']);
    await closing;
    expect(probe.connections).toBe(0);
    await clientEvents.closed;
    expect(expectThrows(() => probe.send(1), ErrorCode.CLOSED).message).toContain('closed probe');
    expect((await rejection(probe.request(1))).code).toBe(ErrorCode.CLOSED);
  });

  it('a connecting probe whose peer closes serves what came, then rejects waits at once with CLOSED', async () => {
    const name = uniqueName('probe-end');
    let accepted!: DataSocket;
    await listening(
      track(
        DataSocket.listen((c) => {
          accepted = track(c);
          return true;
        }, name),
      ),
    );
    const probe = DataSocketProbe.connect(name, { timeoutMs: 20_000 });
    probes.push(probe);
    await probe.ready();
    await until(() => accepted?.state === 'open');
    accepted.send('last words');
    accepted.close();
    const started = Date.now();
    expect(await probe.next()).toBe('last words');
    const error = await rejection(probe.next());
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(error.code).toBe(ErrorCode.CLOSED);
    expect(error.message).toContain('the connection closed');
    expect(probe.connections).toBe(0);
  });

  it('connecting to nothing: ready() rejects with ENOENT (local) or ECONNREFUSED (TCP), kept in `errors`, and waits reject with that cause', async () => {
    const local = DataSocketProbe.connect(uniqueName('nobody'));
    probes.push(local);
    expect((await rejection(local.ready())).code).toBe('ENOENT');
    expect(local.errors.map((e) => e.code)).toEqual(['ENOENT']);
    const waited = await rejection(local.next());
    expect(waited.code).toBe(ErrorCode.CLOSED);
    expect((waited.cause as DataSocketError).code).toBe('ENOENT');

    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    await new Promise((resolve) => server.close(resolve));
    const tcp = DataSocketProbe.connect('127.0.0.1', port);
    probes.push(tcp);
    // Never awaiting ready(): the failure must still not be an unhandled rejection or error.
    expect((await rejection(tcp.next())).cause).toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('listening where a probe listens already: ready() rejects with EADDRINUSE', async () => {
    const first = await listenProbe(uniqueName('taken')).ready();
    const second = listenProbe(first.address.name);
    expect((await rejection(second.ready())).code).toBe('EADDRINUSE');
  });

  it('Symbol.asyncDispose closes the probe', async () => {
    const probe = await listenProbe(uniqueName('dispose')).ready();
    await probe[Symbol.asyncDispose]();
    const late = record(track(DataSocket.connect(probe.address.name)));
    await late.closed;
    expect(late.errors.map((e) => e.code)).toEqual(['ENOENT']);
  });
});

describe('§13 DataSocketProbe: a listening probe and its connections', () => {
  it('listens on TCP port 0 with the real port in `address`, and receives', async () => {
    const probe = await listenProbe('127.0.0.1', 0).ready();
    expect(probe.address.port).toBeGreaterThan(0);
    const client = track(DataSocket.connect('127.0.0.1', probe.address.port));
    client.send({ over: 'tcp' });
    expect(await probe.next()).toEqual({ over: 'tcp' });
  });

  it('takes several connections: `received` from all, `send` to every one, `request` refused as ambiguous; with none, send says to await connection()', async () => {
    const probe = await listenProbe(uniqueName('many')).ready();
    expect(probe.connections).toBe(0);
    expect(expectThrows(() => probe.send('hello'), ErrorCode.CLOSED).message).toContain('await probe.connection()');
    expect((await rejection(probe.request('q'))).code).toBe(ErrorCode.CLOSED);
    const clients = [0, 1, 2].map(() => track(DataSocket.connect(probe.address.name)));
    const recorded = clients.map((client) => record(client));
    clients.forEach((client, i) => client.send(`from ${i}`));
    await until(() => probe.connections === 3 && probe.received.length === 3);
    expect([...probe.received].sort()).toEqual(['from 0', 'from 1', 'from 2']);
    expect(probe.send('to all')).toBe(3);
    await until(() => recorded.every((r) => r.values.length === 1));
    expect(recorded.map((r) => r.values)).toEqual([['to all'], ['to all'], ['to all']]);
    const ambiguous = await rejection(probe.request('which?'));
    expect(ambiguous.code).toBe(ErrorCode.INVALID_ARGUMENT);
    expect(ambiguous.message).toContain('3 connections are open');
    clients[0]!.close();
    await until(() => probe.connections === 2);
  });

  it('takes DataSocket options: with `schema`, values are typed by it and one that fails closes its connection with ERR_DATASOCKET_INVALID_VALUE, kept in `errors`', async () => {
    const probe = await kept(DataSocketProbe.listen(uniqueName('schema'), { schema: z.object({ n: z.number() }) })).ready();
    const bad = record(track(DataSocket.connect(probe.address.name)));
    track(DataSocket.connect(probe.address.name)).send({ n: 'not a number' });
    await until(() => probe.errors.length === 1);
    expect(probe.errors[0]!.code).toBe(ErrorCode.INVALID_VALUE);
    expect(bad.values).toEqual([]);
    track(DataSocket.connect(probe.address.name)).send({ n: 1 });
    const value = await probe.next();
    expectTypeOf(value).toEqualTypeOf<{ n: number }>();
    expect(value).toEqual({ n: 1 });
  });

  it('`accept` decides on each connection; a refused one never counts', async () => {
    let asked = 0;
    const probe = await listenProbe(uniqueName('accept'), { accept: () => ++asked > 1 }).ready();
    const refused = record(track(DataSocket.connect(probe.address.name)));
    await refused.closed;
    expect(refused.errors.map((e) => e.code)).toEqual([ErrorCode.REJECTED]);
    expect(probe.connections).toBe(0);
    track(DataSocket.connect(probe.address.name)).send('second');
    expect(await probe.next()).toBe('second');
    expect(probe.connections).toBe(1);
    expect(asked).toBe(2);
  });

  it('connection() times out with ERR_DATASOCKET_TIMEOUT when nobody connects', async () => {
    const probe = await listenProbe(uniqueName('alone')).ready();
    const error = await rejection(probe.connection({ timeoutMs: 150 }));
    expect(error.code).toBe(ErrorCode.TIMEOUT);
    expect(error.message).toContain('no peer connected within 150 ms');
  });

  it('two probes with different names side by side each see only their own values', async () => {
    const one = await listenProbe(uniqueName('one')).ready();
    const two = await listenProbe(uniqueName('two')).ready();
    track(DataSocket.connect(two.address.name)).send('for two');
    track(DataSocket.connect(one.address.name)).send('for one');
    expect(await one.next()).toBe('for one');
    expect(await two.next()).toBe('for two');
    expect([one.received, two.received]).toEqual([['for one'], ['for two']]);
  });
});

describe('§13 DataSocketProbe: wrong arguments', () => {
  it('throw ERR_DATASOCKET_INVALID_ARGUMENT at the call: the endpoint, the probe options and DataSocket options', () => {
    expectThrows(() => DataSocketProbe.listen(42 as unknown as string), ErrorCode.INVALID_ARGUMENT);
    expectThrows(() => DataSocketProbe.listen('127.0.0.1', 70_000), ErrorCode.INVALID_ARGUMENT);
    expectThrows(() => DataSocketProbe.connect('127.0.0.1', 0), ErrorCode.INVALID_ARGUMENT);
    expectThrows(() => DataSocketProbe.listen(uniqueName(), { timeoutMs: 0 }), ErrorCode.INVALID_ARGUMENT);
    expectThrows(() => DataSocketProbe.listen(uniqueName(), { respond: 'yes' as unknown as () => unknown }), ErrorCode.INVALID_ARGUMENT);
    expectThrows(() => DataSocketProbe.listen(uniqueName(), { accept: true as unknown as () => boolean }), ErrorCode.INVALID_ARGUMENT);
    expect(expectThrows(() => DataSocketProbe.connect(uniqueName(), { accept: () => true } as object), ErrorCode.INVALID_ARGUMENT).message).toContain('listening probe');
    expect(expectThrows(() => DataSocketProbe.listen(uniqueName(), { bogus: 1 } as object), ErrorCode.INVALID_ARGUMENT).message).toContain("'bogus'");
    expectThrows(() => DataSocketProbe.connect(uniqueName(), { keepAliveMs: -1 }), ErrorCode.INVALID_ARGUMENT);
  });

  it('reject the waits with ERR_DATASOCKET_INVALID_ARGUMENT', async () => {
    const probe = await listenProbe(uniqueName('args')).ready();
    expect((await rejection(probe.next({ timeoutMs: -1 }))).code).toBe(ErrorCode.INVALID_ARGUMENT);
    expect((await rejection(probe.next({ timeout: 5 } as object))).code).toBe(ErrorCode.INVALID_ARGUMENT);
    expect((await rejection(probe.waitFor('ready' as unknown as () => boolean))).code).toBe(ErrorCode.INVALID_ARGUMENT);
    expect((await rejection(probe.connection({ timeoutMs: 1.5 }))).code).toBe(ErrorCode.INVALID_ARGUMENT);
  });
});
