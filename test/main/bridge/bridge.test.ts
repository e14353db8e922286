/**
 * §6: the page's DataSocket and the main-process host, joined by a real message
 * channel, against real sockets and a real second process.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DataSocket as NodeDataSocket, ErrorCode } from '../../../src/index.js';
import type { PageDataSocket } from '../../../src/renderer/client.js';
import type { HostMessage } from '../../../src/shared/bridge-protocol.js';
import { bridgedPage } from '../../helpers/bridge.js';
import { useCleanup } from '../../helpers/cleanup.js';
import { listenIn } from '../../helpers/peer.js';
import { runtimeImports } from '../../helpers/runtime-imports.js';
import { listening, once, record, sleep, uniqueName, until } from '../../helpers/sockets.js';

type Page = ReturnType<typeof bridgedPage>;
const { track, spawn } = useCleanup();
/** A page served by its own host; both go away after the test. */
function page(options?: Parameters<typeof bridgedPage>[0]): Page {
  return track(bridgedPage(options));
}

async function remoteListener(acceptor: 'yes' | 'no' = 'yes', endpoint: { name: string; port?: number } = { name: uniqueName('page') }) {
  const peer = spawn();
  return { peer, at: await listenIn(peer, endpoint, acceptor) };
}

function waitForHost(p: Page, match: (m: HostMessage) => boolean, timeoutMs = 5_000): Promise<HostMessage> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const check = (): void => {
      const found = p.fromHost.find(match);
      if (found) resolve(found);
      else if (Date.now() - started > timeoutMs) reject(new Error(`no such host message; saw ${JSON.stringify(p.fromHost.slice(-5))}`));
      else setTimeout(check, 5);
    };
    check();
  });
}

for (const transport of [
  { name: 'a Unix socket', endpoint: (): { name: string; port?: number } => ({ name: uniqueName('page') }) },
  { name: 'TCP on 127.0.0.1', endpoint: (): { name: string; port?: number } => ({ name: '127.0.0.1', port: 0 }) },
]) {
  describe(`§6 a page's DataSocket as a client, to another process over ${transport.name}`, () => {
    it('connects, and values go both ways in order, with sent events', async () => {
      const { peer, at } = await remoteListener('yes', transport.endpoint());
      const p = page();
      const client = track(p.DataSocket.connect(at.name, at.port));
      const events = record(client as never);
      let sent = 0;
      client.on('sent', () => sent++);
      for (let seq = 0; seq < 2000; seq++) client.send({ seq, pad: 'x'.repeat(seq % 50) });
      await once(client as never, 'connect');
      const accepted = (await peer.waitFor((e) => e.ev === 'accepted')) as { id: string };
      await peer.run({ op: 'expectSequence', id: accepted.id, count: 2000 });
      // The peer counts from the moment it is told to; send the counted run now.
      for (let seq = 0; seq < 2000; seq++) client.send({ seq });
      expect(await peer.next('sequence', accepted.id, 20_000)).toMatchObject({ received: 2000, inOrder: true });
      await until(() => sent >= 4000);
      expect(client.bufferedAmount).toBe(0);
      const value = { when: new Date(0), tags: new Set(['a']), bytes: Uint8Array.of(1, 2), big: 2n ** 70n };
      const reply = once(client as never, 'data');
      await peer.run({ op: 'send', id: accepted.id, value });
      expect(await reply).toEqual(value);
      expect(events.errors).toEqual([]);
      expect(client.address.name).toBe(at.name);
    });

    it('close() flushes, then the peer sees a clean close', async () => {
      const { peer, at } = await remoteListener('yes', transport.endpoint());
      const p = page();
      const client = p.DataSocket.connect(at.name, at.port);
      const events = record(client as never);
      await once(client as never, 'connect');
      client.send('last words');
      client.close();
      const accepted = (await peer.waitFor((e) => e.ev === 'accepted')) as { id: string };
      await peer.next('close', accepted.id);
      expect(peer.events.find((e) => e.ev === 'data')).toMatchObject({ value: 'last words' });
      expect(peer.events.some((e) => e.ev === 'error')).toBe(false);
      await events.closed;
      expect(events.errors).toEqual([]);
      expect(client.state).toBe('closed');
    });

    it('a refusing listener gives the page ERR_DATASOCKET_REJECTED, then close', async () => {
      const { at } = await remoteListener('no', transport.endpoint());
      const p = page();
      const events = record(p.DataSocket.connect(at.name, at.port) as never);
      await events.closed;
      expect(events.log).toEqual([`error:${ErrorCode.REJECTED}`, 'close']);
    });
  });

  describe(`§6 a page's DataSocket as a listener, for another process over ${transport.name}`, () => {
    it('runs the acceptor in the page, and the accepted connection talks both ways', async () => {
      const p = page();
      const seen: string[] = [];
      let accepted!: PageDataSocket;
      const listener = track(
        p.DataSocket.listen(async (connection) => {
          accepted = connection;
          seen.push(connection.state);
          connection.send('hello from the page');
          return true;
        }, ...(Object.values(transport.endpoint()) as [string, number?])),
      );
      await listening(listener as never);
      const peer = spawn();
      await peer.run({ op: 'connect', id: 'c', name: listener.address.name, port: listener.address.port });
      await peer.next('connect', 'c');
      expect(await peer.waitFor((e) => e.ev === 'data')).toMatchObject({ value: 'hello from the page' });
      const got = once(accepted as never, 'data');
      await peer.run({ op: 'send', id: 'c', value: new Map([['from', 'peer']]) });
      expect(await got).toEqual(new Map([['from', 'peer']]));
      expect(seen).toEqual(['connecting']);
      expect(accepted.state).toBe('open');
    });

    it('an acceptor in the page that says no refuses the peer with ERR_DATASOCKET_REJECTED', async () => {
      const p = page();
      const listener = track(p.DataSocket.listen(() => false, ...(Object.values(transport.endpoint()) as [string, number?])));
      await listening(listener as never);
      const peer = spawn();
      await peer.run({ op: 'connect', id: 'c', name: listener.address.name, port: listener.address.port });
      expect(await peer.next('error', 'c')).toMatchObject({ code: ErrorCode.REJECTED });
    });
  });
}

describe('§6 policy', () => {
  it('by default refuses TCP to anything but loopback with ERR_DATASOCKET_NOT_ALLOWED, before connecting', async () => {
    const p = page();
    for (const [name, port] of [
      ['10.255.255.1', 80],
      ['example.com', 443],
    ] as const) {
      const events = record(p.DataSocket.connect(name, port) as never);
      await events.closed;
      expect(events.log).toEqual([`error:${ErrorCode.NOT_ALLOWED}`, 'close']);
    }
    const listenEvents = record(p.DataSocket.listen(() => true, '0.0.0.0', 0) as never);
    await listenEvents.closed;
    expect(listenEvents.errors[0]!.code).toBe(ErrorCode.NOT_ALLOWED);
  });

  it('by default allows local sockets and loopback TCP', async () => {
    const p = page();
    const local = track(p.DataSocket.listen(() => true, uniqueName()));
    const localEvents = record(local as never);
    await listening(local as never);
    const tcp = track(p.DataSocket.listen(() => true, '127.0.0.1', 0));
    const tcpEvents = record(tcp as never);
    await listening(tcp as never);
    expect([localEvents.log, tcpEvents.log]).toEqual([['listening'], ['listening']]);
    expect(local.address.path).toMatch(/\.sock$/);
    expect(tcp.address.port).toBeGreaterThan(0);
  });

  it('a custom policy sees the request and the page, and decides (also asynchronously)', async () => {
    const requests: unknown[] = [];
    const p = page({
      url: 'app://instance-a/index.html',
      policy: async (request) => {
        requests.push(request);
        await sleep(5);
        return request.name.startsWith('allowed-');
      },
    });
    const allowedName = uniqueName('allowed');
    const ok = track(p.DataSocket.listen(() => true, allowedName));
    await listening(ok as never);
    const refused = record(p.DataSocket.connect(uniqueName('denied')) as never);
    await refused.closed;
    expect(refused.errors[0]!.code).toBe(ErrorCode.NOT_ALLOWED);
    expect(requests[0]).toMatchObject({ action: 'listen', transport: 'local', name: allowedName, url: 'app://instance-a/index.html' });
    expect((requests[0] as { path: string }).path).toMatch(new RegExp(`${allowedName}\\.sock$`));
    expect(requests[1]).toMatchObject({ action: 'connect', transport: 'local' });
  });

  it('a policy that throws refuses', async () => {
    const p = page({
      policy: () => {
        throw new Error('policy bug');
      },
    });
    const events = record(p.DataSocket.connect(uniqueName()) as never);
    await events.closed;
    expect(events.errors[0]!.code).toBe(ErrorCode.NOT_ALLOWED);
  });
});

describe('§6 limits', () => {
  it('refuses sockets past the per-page limit with ERR_DATASOCKET_NOT_ALLOWED', async () => {
    const p = page({ limits: { sockets: 2 } });
    await listening(track(p.DataSocket.listen(() => true, uniqueName())) as never);
    await listening(track(p.DataSocket.listen(() => true, uniqueName())) as never);
    const third = record(p.DataSocket.listen(() => true, uniqueName()) as never);
    await third.closed;
    expect(third.errors[0]!.code).toBe(ErrorCode.NOT_ALLOWED);
  });

  it('fails a socket whose page queues more bytes than the limit with ERR_DATASOCKET_BUFFER_FULL', async () => {
    const { at } = await remoteListener();
    const p = page({ limits: { queuedBytes: 64 * 1024 } });
    const client = p.DataSocket.connect(at.name);
    const events = record(client as never);
    await once(client as never, 'connect');
    client.send(new Uint8Array(200 * 1024));
    await events.closed;
    expect(events.errors[0]!.code).toBe(ErrorCode.BUFFER_FULL);
  });
});

describe('§6 malformed messages from a page are refused and the host keeps serving', () => {
  const hostile: [string, unknown][] = [
    ['not an object', 42],
    ['null', null],
    ['an unknown type', { t: 'explode', id: 1 }],
    ['a connect without a name', { t: 'connect', id: 1, port: null, options: {} }],
    ['a connect with a string id', { t: 'connect', id: '1', name: 'x', port: null, options: {} }],
    ['a connect with an out-of-range port', { t: 'connect', id: 1, name: '127.0.0.1', port: 70000, options: {} }],
    ['a send whose bytes are not bytes', { t: 'send', id: 1, bytes: 'abc', count: 1 }],
    ['a send to an unknown id', { t: 'send', id: 99, bytes: new Uint8Array(5), count: 1 }],
    ['a verdict for an id never issued', { t: 'verdict', id: -7, accept: true }],
    ['an extra field', { t: 'end', id: 1, sneaky: true }],
    ['id 0', { t: 'destroy', id: 0 }],
    // Only structured clone carries these; the Chromium stand-in's strict wire cannot.
    ['an undefined id', { t: 'destroy', id: undefined }],
    ['a BigInt id', { t: 'destroy', id: 1n }],
    ['options given as a Map', { t: 'connect', id: 1, name: 'x', port: null, options: new Map([['maxFrameBytes', 1]]) }],
    ['bytes as a Uint16Array', { t: 'send', id: 1, bytes: new Uint16Array(3), count: 1 }],
    ['a Date for the name', { t: 'listen', id: 1, name: new Date(0), port: null, options: {} }],
  ];
  for (const [what, message] of hostile) {
    it(`refuses ${what} with ERR_DATASOCKET_INVALID_ARGUMENT`, async () => {
      const p = page();
      p.inject(message);
      const reply = await waitForHost(p, (m) => m.t === 'rejected');
      expect(reply).toMatchObject({ t: 'rejected', error: { code: ErrorCode.INVALID_ARGUMENT } });
      const listener = track(p.DataSocket.listen(() => true, uniqueName()));
      await listening(listener as never);
    });
  }

  it('refuses a message with a function in it without throwing', () => {
    const p = page();
    const replies: HostMessage[] = [];
    const host = new (p.host.constructor as typeof import('../../../src/main/bridge/host.js').Host)((m) => replies.push(m), {
      policy: () => true,
      limits: { sockets: 8, queuedBytes: 1024 },
      context: () => ({}),
    });
    expect(() => host.receive({ t: 'destroy', id: 1, f: () => 1 })).not.toThrow();
    expect(() => host.receive({ t: 'send', id: 1, bytes: new Uint8Array(1), count: 1, get x() { throw new Error('getter'); } })).not.toThrow();
    expect(replies.every((m) => m.t === 'rejected')).toBe(true);
    expect(replies).toHaveLength(2);
  });

  it("cannot reach another page's socket: its ids mean nothing here", async () => {
    const { peer, at } = await remoteListener();
    const a = page();
    const b = page();
    const client = a.DataSocket.connect(at.name);
    await once(client as never, 'connect');
    // Page B has never made a socket; id 1 is page A's.
    b.inject({ t: 'send', id: 1, bytes: Uint8Array.of(0, 0, 0, 1, 0, 0x2a), count: 1 });
    b.inject({ t: 'destroy', id: 1 });
    const reply = await waitForHost(b, (m) => m.t === 'rejected');
    expect(reply).toMatchObject({ error: { code: ErrorCode.INVALID_ARGUMENT } });
    await sleep(50);
    expect(client.state).toBe('open');
    expect(peer.events.some((e) => e.ev === 'data')).toBe(false);
  });

  it('refuses a reused id', async () => {
    const p = page();
    await listening(track(p.DataSocket.listen(() => true, uniqueName())) as never);
    p.inject({ t: 'listen', id: 1, name: uniqueName(), port: null, options: { maxFrameBytes: 1, maxBufferedBytes: 1, highWaterMark: 1, handshakeTimeoutMs: 1, acceptTimeoutMs: 1 } });
    expect(await waitForHost(p, (m) => m.t === 'rejected')).toMatchObject({
      error: { code: ErrorCode.INVALID_ARGUMENT, message: expect.stringContaining('used before') },
    });
  });

  it('fails a socket whose page sends bytes that are not whole frames', async () => {
    const { at } = await remoteListener();
    const p = page();
    const client = p.DataSocket.connect(at.name);
    const events = record(client as never);
    await once(client as never, 'connect');
    p.inject({ t: 'send', id: 1, bytes: Uint8Array.of(0, 0, 0, 9, 0, 1, 2), count: 1 });
    await events.closed;
    expect(events.errors[0]!.code).toBe(ErrorCode.INVALID_ARGUMENT);
  });
});

describe('§6 cleanup when the page goes away', () => {
  it('closes every socket of the page at once and removes its listeners\u2019 socket files', async () => {
    const p = page();
    const listener = p.DataSocket.listen(() => true, uniqueName());
    await listening(listener as never);
    const file = listener.address.path!;
    expect(fs.existsSync(file)).toBe(true);
    const { peer, at } = await remoteListener();
    const client = p.DataSocket.connect(at.name);
    await once(client as never, 'connect');
    const inbound = track(NodeDataSocket.connect(listener.address.name));
    await once(inbound, 'connect');
    const inboundEvents = record(inbound);
    p.host.dispose('navigated');
    expect(p.host.size).toBe(0);
    expect(fs.existsSync(file)).toBe(false);
    const accepted = (await peer.waitFor((e) => e.ev === 'accepted')) as { id: string };
    await peer.next('close', accepted.id);
    expect(peer.events.some((e) => e.ev === 'error')).toBe(false);
    await inboundEvents.closed;
    expect(inboundEvents.errors).toEqual([]);
  });

  it('a page that closed a connection and goes away at once still gives the peer one clean close', async () => {
    const { peer, at } = await remoteListener();
    const p = page();
    const client = p.DataSocket.connect(at.name);
    await once(client as never, 'connect');
    client.send('bye');
    client.close();
    // The host has written the page's END once the peer has the last value; the page goes now.
    await peer.waitFor((e) => e.ev === 'data');
    p.host.dispose('navigated');
    const accepted = (await peer.waitFor((e) => e.ev === 'accepted')) as { id: string };
    await peer.next('close', accepted.id);
    await sleep(50);
    expect(peer.events.filter((e) => e.ev === 'error')).toEqual([]);
    expect(peer.events.filter((e) => e.ev === 'data')).toMatchObject([{ value: 'bye' }]);
  });

  it('a crash drops connections, so peers see the connection reset', async () => {
    const { peer, at } = await remoteListener();
    const p = page();
    const client = p.DataSocket.connect(at.name);
    await once(client as never, 'connect');
    p.host.dispose('crashed');
    const accepted = (await peer.waitFor((e) => e.ev === 'accepted')) as { id: string };
    expect(await peer.next('error', accepted.id)).toMatchObject({ code: 'ECONNRESET' });
  });
});

describe('§6 data path: main relays bytes and never decodes a page payload', () => {
  it('the host imports nothing that can decode a value', () => {
    const names = runtimeImports('src/main/bridge/host.ts');
    expect(names).toContain('src/shared/frames.ts');
    expect(names.filter((n) => /codec|msgpackr|socket-core/.test(n))).toEqual([]);
  });

  it('the bytes a page sends reach the peer exactly as the page encoded them', async () => {
    // A raw listener: it runs the real handshake, then keeps every byte it receives.
    const net = await import('node:net');
    const { Handshake } = await import('../../../src/main/socket/handshake.js');
    const received: Buffer[] = [];
    let accepted = false;
    const server = net.createServer((socket) => {
      const handshake = new Handshake('listener', undefined, (b) => socket.write(b));
      handshake.start();
      socket.on('data', (chunk) => {
        if (accepted) received.push(chunk);
        else if (handshake.push(chunk).done) {
          accepted = true;
          handshake.sendVerdict(true);
        }
      });
    });
    const file = path.join(fs.mkdtempSync('/tmp/raw-'), 'raw.sock');
    await new Promise<void>((resolve) => server.listen(file, resolve));
    try {
      const p = page();
      const client = p.DataSocket.connect(file);
      await once(client as never, 'connect');
      for (let i = 0; i < 50; i++) client.send({ exact: 'bytes', i, nested: new Map([[i, [i]]]) });
      client.send(new Float64Array([1.5, 2.5]));
      let sent = 0;
      client.on('sent', () => sent++);
      await until(() => sent >= 51);
      await sleep(20);
      const posted = Buffer.concat(p.toHost.flatMap((m) => (m.t === 'send' ? [Buffer.from(m.bytes)] : [])));
      expect(posted.length).toBeGreaterThan(51 * 5);
      expect(Buffer.concat(received).equals(posted)).toBe(true);
    } finally {
      server.close();
    }
  });
});
