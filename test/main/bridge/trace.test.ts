/**
 * §13 page sockets are traced by main: the host writes their records (labelled with the
 * page) while relaying their bytes undecoded — sizes and counts only, unless the page
 * consents with `traceValues` and DATASOCKET_TRACE_VALUES=1 asks for values. The real host
 * and page client over a message channel, real sockets.
 */
import { describe, expect, it } from 'vitest';
import { DataSocket as NodeDataSocket } from '../../../src/index.js';
import { readTrace, type TraceEntry } from '../../../src/main/trace/trace-merge.js';
import { traceWriter } from '../../../src/main/trace/trace-writer.js';
import { bridgedPage } from '../../helpers/bridge.js';
import { useCleanup } from '../../helpers/cleanup.js';
import { useTraceDir } from '../../helpers/datasocket-env.js';
import { useRuntimeDir } from '../../helpers/runtime-dir.js';
import { once, uniqueName, until } from '../../helpers/sockets.js';

useRuntimeDir();
const { track } = useCleanup();
const traceDir = useTraceDir('ptrace-', { values: true });

async function pageEntries(): Promise<TraceEntry[]> {
  await traceWriter(traceDir()).flush();
  return (await readTrace(traceDir())).entries.filter((e) => e.page === 'webContents 7 frame 1');
}

/** A Node listener echoing requests and sending `greeting` to each connection; what it received. */
async function nodeListener(greeting: unknown) {
  const received: unknown[] = [];
  const name = uniqueName('pt');
  const listener = track(
    NodeDataSocket.listen(
      (connection) => {
        connection.on('data', (value) => received.push(value));
        connection.on('request', (value, respond) => respond(value));
        connection.on('connect', () => connection.send(greeting));
        return true;
      },
      name,
    ),
  );
  await once(listener, 'listening');
  return { name, received };
}

describe('§13 page sockets traced by main', () => {
  it("without the page's consent: records labelled with the page, counts and sizes both ways, requests counted, never a value even with DATASOCKET_TRACE_VALUES=1", async () => {
    const { name, received } = await nodeListener({ secret: 'from node' });
    const page = track(bridgedPage({ traceLabel: 'webContents 7 frame 1' }));
    const socket = page.DataSocket.connect(name);
    const got: unknown[] = [];
    socket.on('data', (value) => got.push(value));
    for (let i = 0; i < 100; i++) socket.send({ i, secret: 'from the page' });
    expect(await socket.request('question')).toBe('question');
    await until(() => received.length === 100 && got.length === 1);
    socket.close();
    await until(() => socket.state === 'closed');
    const entries = await pageEntries();
    const events = entries.map((e) => e.event);
    expect(events[0]).toBe('connect');
    expect(events.at(-1)).toBe('close');
    expect(entries.every((e) => e.role === 'client')).toBe(true);
    expect(entries.filter((e) => e.event === 'sent').reduce((t, e) => t + e.count!, 0)).toBe(100);
    expect(entries.filter((e) => e.event === 'data').reduce((t, e) => t + e.count!, 0)).toBe(1);
    // Main reads no request's value or id for a page that did not consent: requests are counted, not recorded one by one.
    expect(entries.filter((e) => e.event === 'sent').reduce((t, e) => t + ((e.requests as number | undefined) ?? 0), 0)).toBe(1);
    expect(entries.filter((e) => e.event === 'data').reduce((t, e) => t + ((e.replies as number | undefined) ?? 0), 0)).toBe(1);
    expect(entries.filter((e) => e.event === 'request' || e.event === 'reply')).toEqual([]);
    const text = JSON.stringify(entries);
    expect(text).not.toContain('from the page');
    expect(text).not.toContain('from node');
    expect(text).not.toContain('question');
  });

  it('with the page\'s traceValues, main decodes the values for the trace, both ways', async () => {
    const { name, received } = await nodeListener(new Map([['hello', 'page']]));
    const page = track(bridgedPage({ traceLabel: 'webContents 7 frame 1' }));
    const socket = page.DataSocket.connect(name, { traceValues: true });
    const got: unknown[] = [];
    socket.on('data', (value) => got.push(value));
    socket.send({ note: 'visible' });
    await until(() => received.length === 1 && got.length === 1);
    const entries = await pageEntries();
    const values = JSON.stringify(entries.filter((e) => e.event === 'sent' || e.event === 'data').map((e) => e.values));
    expect(values).toContain('visible');
    expect(values).toContain('hello');
  });

  it('a page listener: listening, accept with the connection it made, reject by its acceptor, and closes with the reason when the page goes', async () => {
    const page = bridgedPage({ traceLabel: 'webContents 7 frame 1' });
    const name = uniqueName('ptl');
    let admit = false;
    const listener = page.DataSocket.listen(() => admit, name);
    await until(() => listener.state === 'listening');
    const refused = track(NodeDataSocket.connect(name));
    await until(() => refused.state === 'closed');
    admit = true;
    const accepted = track(NodeDataSocket.connect(name));
    await once(accepted, 'connect');
    page.close();
    await until(() => accepted.state === 'closed');
    const entries = await pageEntries();
    const listenerId = entries.find((e) => e.event === 'listening')!.socket;
    const own = entries.filter((e) => e.socket === listenerId).map((e) => [e.event, e.code ?? null]);
    expect(own).toEqual([
      ['listening', null],
      ['reject', 'acceptor'],
      ['accept', null],
      ['close', null],
    ]);
    const accept = entries.find((e) => e.event === 'accept')!;
    const connection = entries.filter((e) => e.socket === accept.peer);
    expect(connection.map((e) => e.event)).toEqual(['connect', 'close']);
    expect(connection.every((e) => e.role === 'accepted' && e.endpoint === entries[0]!.endpoint)).toBe(true);
    expect(entries.filter((e) => e.event === 'close').map((e) => e.reason)).toEqual(['destroyed', 'destroyed']);
  });
});
