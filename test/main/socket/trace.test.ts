/**
 * §13 tracing of Node sockets: with DATASOCKET_TRACE set, every socket's life and its
 * traffic land in <dir>/<pid>.jsonl — one record per I/O batch, with sizes and counts;
 * values only with DATASOCKET_TRACE_VALUES=1. Real sockets in this process, and real
 * processes whose traces merge into one timeline.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DataSocket } from '../../../src/index.js';
import { readTrace, type TraceEntry } from '../../../src/main/trace/trace-merge.js';
import { traceWriter } from '../../../src/main/trace/trace-writer.js';
import { useCleanup } from '../../helpers/cleanup.js';
import { useTraceDir } from '../../helpers/datasocket-env.js';
import { listenIn } from '../../helpers/peer.js';
import { useRuntimeDir } from '../../helpers/runtime-dir.js';
import { once, record, uniqueName, until } from '../../helpers/sockets.js';

useRuntimeDir();
const { track, spawn } = useCleanup();
const traceDir = useTraceDir('trace-', { values: false });

/** This process's records so far, once its writer has written them. */
async function ours(): Promise<TraceEntry[]> {
  await traceWriter(traceDir()).flush();
  return (await readTrace(traceDir())).entries.filter((entry) => entry.pid === process.pid);
}

function sum(entries: TraceEntry[], socket: number, event: string): number {
  return entries.filter((e) => e.socket === socket && e.event === event).reduce((total, e) => total + (e.count ?? 0), 0);
}

/** A listener that collects what its connections receive, and a client connected to it. */
async function pair(name: string, options: { token?: string } = {}) {
  const received: unknown[] = [];
  const listener = track(
    DataSocket.listen(
      (connection) => {
        connection.on('data', (value) => received.push(value));
        connection.on('request', (value, respond) => respond({ echo: value }));
        return true;
      },
      name,
      options,
    ),
  );
  await once(listener, 'listening');
  const client = track(DataSocket.connect(name, options));
  await once(client, 'connect');
  return { listener, client, received };
}

describe('§13 DATASOCKET_TRACE: what a Node socket writes', () => {
  it('life and traffic: listening, accept, connect, data and sent records whose counts add up to every value, close — and no values', async () => {
    const name = uniqueName('tr');
    const { listener, client, received } = await pair(name);
    for (let i = 0; i < 500; i++) client.send({ i, secret: 'not in the trace' });
    await until(() => received.length === 500);
    client.close();
    await until(() => listener.state === 'listening' && received.length === 500);
    await until(() => client.state === 'closed');
    const entries = await ours();
    const byEvent = (event: string) => entries.filter((e) => e.event === event);
    const listening = byEvent('listening');
    expect(listening).toHaveLength(1);
    expect(listening[0]).toMatchObject({ role: 'listener', endpoint: listener.address.path });
    const accept = byEvent('accept')[0]!;
    const accepted = accept.peer!;
    expect(entries.filter((e) => e.socket === accepted && e.event === 'connect')).toHaveLength(1);
    const clientId = entries.find((e) => e.role === 'client' && e.event === 'connect')!.socket;
    // Every value counted once on each side, in far fewer records than values.
    expect(sum(entries, clientId, 'sent')).toBe(500);
    expect(sum(entries, accepted, 'data')).toBe(500);
    expect(entries.filter((e) => e.event === 'data').length).toBeLessThan(500);
    const bytes = entries.filter((e) => e.socket === accepted && e.event === 'data').reduce((t, e) => t + e.bytes!, 0);
    expect(bytes).toBeGreaterThan(500 * 10);
    expect(entries.filter((e) => e.socket === clientId).map((e) => e.event).at(-1)).toBe('close');
    expect(JSON.stringify(entries)).not.toContain('not in the trace');
    for (const e of entries) expect(typeof e.time === 'number' && e.pid === process.pid).toBe(true);
  });

  it('with DATASOCKET_TRACE_VALUES=1 the records carry the values, rendered so a Map, a Date and bytes stay recognizable', async () => {
    process.env.DATASOCKET_TRACE_VALUES = '1';
    const name = uniqueName('trv');
    const { client, received } = await pair(name);
    client.send(new Map([['k', new Date(0)]]));
    client.send(new Uint8Array([1, 2, 3]));
    await until(() => received.length === 2);
    const entries = await ours();
    const sentValues = entries.filter((e) => e.event === 'sent').flatMap((e) => e.values as unknown[]);
    const dataValues = entries.filter((e) => e.event === 'data').flatMap((e) => e.values as unknown[]);
    expect(sentValues).toHaveLength(2);
    expect(dataValues).toEqual(sentValues);
    expect(JSON.stringify(dataValues)).toMatch(/1970-01-01T00:00:00\.000Z/);
    expect(JSON.stringify(dataValues)).toMatch(/010203/);
  });

  it('requests and replies get a record each, with direction and id (and, with values on, the value)', async () => {
    process.env.DATASOCKET_TRACE_VALUES = '1';
    const { client } = await pair(uniqueName('trq'));
    expect(await client.request('ping')).toEqual({ echo: 'ping' });
    const entries = await ours();
    const requests = entries.filter((e) => e.event === 'request');
    const replies = entries.filter((e) => e.event === 'reply');
    expect(requests.map((e) => [e.role, e.direction, e.value])).toEqual(
      expect.arrayContaining([
        ['client', 'out', 'ping'],
        ['accepted', 'in', 'ping'],
      ]),
    );
    expect(replies.map((e) => [e.role, e.direction])).toEqual(expect.arrayContaining([['accepted', 'out'], ['client', 'in']]));
    expect(new Set([...requests, ...replies].map((e) => e.id)).size).toBe(1);
  });

  it('without values, requests and replies are counted in the data and sent records (no record each); a failed request has its own record with the code', async () => {
    const { client } = await pair(uniqueName('trqc'));
    for (let i = 0; i < 50; i++) await client.request(i);
    const listener = track(DataSocket.listen(() => true, uniqueName('trnh')));
    await once(listener, 'listening');
    const silent = track(DataSocket.connect(listener.address.name));
    await expect(silent.request('nobody answers')).rejects.toMatchObject({ code: 'ERR_DATASOCKET_NO_HANDLER' });
    const entries = await ours();
    const sum = (event: string, field: string, role: string) =>
      entries.filter((e) => e.event === event && e.role === role).reduce((t, e) => t + ((e[field] as number | undefined) ?? 0), 0);
    expect(sum('sent', 'requests', 'client')).toBe(51);
    expect(sum('data', 'requests', 'accepted')).toBe(51);
    expect(sum('sent', 'replies', 'accepted')).toBe(51);
    expect(sum('data', 'replies', 'client')).toBe(51);
    expect(entries.filter((e) => e.event === 'request')).toEqual([]);
    const failures = entries.filter((e) => e.event === 'reply');
    expect(failures.map((e) => [e.role, e.direction, e.code])).toEqual(
      expect.arrayContaining([
        ['accepted', 'out', 'ERR_DATASOCKET_NO_HANDLER'],
        ['client', 'in', 'ERR_DATASOCKET_NO_HANDLER'],
      ]),
    );
    expect(failures).toHaveLength(2);
  });

  it('failures: a connect to nothing writes its error code then close; a refused connection and a wrong token are rejects on the listener', async () => {
    const nothing = record(track(DataSocket.connect(uniqueName('nobody'))));
    await nothing.closed;
    const name = uniqueName('trr');
    const listener = track(DataSocket.listen(() => false, name, { token: 'right' }));
    await once(listener, 'listening');
    const refused = record(track(DataSocket.connect(name, { token: 'right' })));
    const wrongToken = record(track(DataSocket.connect(name, { token: 'wrong' })));
    await refused.closed;
    await wrongToken.closed;
    await until(() => true);
    const entries = await ours();
    const failed = entries.filter((e) => e.role === 'client' && e.event === 'error').map((e) => e.code);
    expect(failed).toContain('ENOENT');
    const rejects = entries.filter((e) => e.role === 'listener' && e.event === 'reject');
    expect(rejects.map((e) => e.code).sort()).toEqual(['ERR_DATASOCKET_AUTH_FAILED', 'acceptor'].sort());
  });

  it('without DATASOCKET_TRACE nothing is written anywhere', async () => {
    delete process.env.DATASOCKET_TRACE;
    const { client, received } = await pair(uniqueName('off'));
    client.send('x');
    await until(() => received.length === 1);
    expect(fs.readdirSync(traceDir())).toEqual([]);
  });

  it('real processes tracing into one directory merge into one timeline holding both sides of a conversation', async () => {
    const name = uniqueName('trp');
    const env = { DATASOCKET_TRACE: traceDir() };
    const listener = spawn(env);
    await listenIn(listener, { name });
    const client = spawn(env);
    await client.run({ op: 'connect', id: 'c', name });
    await client.next('connect', 'c');
    await client.run({ op: 'sendSequence', id: 'c', count: 200 });
    await listener.waitFor((e) => e.ev === 'data' && (e as { value: { seq?: number } }).value?.seq === 199);
    await client.stop();
    await listener.stop();
    const { entries, files, malformed } = await readTrace(traceDir());
    expect(files).toBe(2);
    expect(malformed).toBe(0);
    const pids = new Set(entries.map((e) => e.pid));
    expect(pids).toEqual(new Set([client.pid, listener.pid]));
    expect(entries.filter((e) => e.pid === client.pid && e.event === 'sent').reduce((t, e) => t + e.count!, 0)).toBe(200);
    expect(entries.filter((e) => e.pid === listener.pid && e.event === 'data').reduce((t, e) => t + e.count!, 0)).toBe(200);
    expect(fs.readdirSync(traceDir()).sort()).toEqual([`${client.pid}.jsonl`, `${listener.pid}.jsonl`].sort());
    for (let i = 1; i < entries.length; i++) expect(entries[i]!.time).toBeGreaterThanOrEqual(entries[i - 1]!.time);
    expect(path.isAbsolute(traceDir())).toBe(true);
  });
});

describe('§13 a busy socket with values on', () => {
  it('lists at most 100 values per record and counts the rest, so records stay small; counts still add up', async () => {
    process.env.DATASOCKET_TRACE_VALUES = '1';
    const { client, received } = await pair(uniqueName('trcap'));
    for (let i = 0; i < 5000; i++) client.send(i);
    await until(() => received.length === 5000);
    const entries = await ours();
    for (const event of ['sent', 'data']) {
      const records = entries.filter((e) => e.event === event);
      expect(records.reduce((t, e) => t + e.count!, 0)).toBe(5000);
      expect(records.reduce((t, e) => t + (e.values as unknown[]).length + ((e.valuesOmitted as number | undefined) ?? 0), 0)).toBe(5000);
      for (const e of records) expect((e.values as unknown[]).length).toBeLessThanOrEqual(100);
      expect(records.some((e) => (e.valuesOmitted as number | undefined) !== undefined)).toBe(true);
      expect((records[0]!.values as unknown[])[0]).toBe(0);
    }
  });
});
