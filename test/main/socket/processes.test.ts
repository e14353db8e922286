/**
 * App instances are separate Node processes (test/fixtures/peer.ts); these
 * tests check what SPEC §2–§5 promise between them, over a Unix socket and
 * over TCP on 127.0.0.1, in both directions.
 */
import { createHash } from 'node:crypto';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { DataSocket, ErrorCode } from '../../../src/index.js';
import { Handshake } from '../../../src/main/socket/handshake.js';
import { FRAME_HEADER_BYTES, FrameKind, writeFrameHeader } from '../../../src/shared/protocol.js';
import { patternBytes } from '../../fixtures/peer.js';
import { useCleanup } from '../../helpers/cleanup.js';
import { listenIn } from '../../helpers/peer.js';
import { listening, listenRecording, once, record, uniqueName, until } from '../../helpers/sockets.js';

const { track, spawn } = useCleanup();

const TRANSPORTS = [
  { name: 'a Unix socket', endpoint: (): { name: string; port?: number } => ({ name: uniqueName('proc') }) },
  { name: 'TCP on 127.0.0.1', endpoint: (): { name: string; port?: number } => ({ name: '127.0.0.1', port: 0 }) },
];

/** A listener in this process that hands out its connections, each recorded from its acceptance on. */
function listenHere(endpoint: { name: string; port?: number }) {
  return listenRecording(track, endpoint.name, endpoint.port);
}

/** A peer killed mid-transfer: nothing partial arrives, the only error is ECONNRESET, and close comes once, last. */
function expectVanishedPeer(events: ReturnType<typeof record>, size: number): void {
  for (const value of events.values) expect((value as Uint8Array).length).toBe(size);
  expect(events.errors.map((e) => e.code)).toEqual(['ECONNRESET']);
  expect(events.log.filter((e) => e === 'close')).toHaveLength(1);
  expect(events.log[events.log.length - 1]).toBe('close');
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

for (const transport of TRANSPORTS) {
  describe(`§2 between two processes over ${transport.name}`, () => {
    it('delivers 10,000 values in order, none lost, from this process to the other', async () => {
      const peer = spawn();
      const at = await listenIn(peer, transport.endpoint());
      const client = track(DataSocket.connect(at.name, at.port));
      const accepted = await peer.waitFor((e) => e.ev === 'accepted');
      const id = (accepted as { id: string }).id;
      await peer.run({ op: 'expectSequence', id, count: 10_000 });
      for (let seq = 0; seq < 10_000; seq++) client.send({ seq, pad: 'x'.repeat(seq % 50) });
      const result = await peer.next('sequence', id, 30_000);
      expect(result).toMatchObject({ received: 10_000, inOrder: true });
    });

    it('delivers 10,000 values in order, none lost, from the other process to this one', async () => {
      const peer = spawn();
      const here = await listenHere(transport.endpoint());
      await peer.run({ op: 'connect', id: 'c', name: here.at.name, port: here.at.port });
      await peer.next('connect', 'c');
      await until(() => here.connections.length > 0);
      const got: number[] = [];
      here.connections[0]!.on('data', (v) => got.push((v as { seq: number }).seq));
      await peer.run({ op: 'sendSequence', id: 'c', count: 10_000 });
      await until(() => got.length >= 10_000, 30_000);
      expect(got).toHaveLength(10_000);
      expect(got.every((seq, i) => seq === i)).toBe(true);
    });

    it('carries a 32 MiB binary value intact, both ways', async () => {
      const size = 32 * 1024 * 1024;
      const expected = sha256(patternBytes(size));
      const peer = spawn();
      const here = await listenHere(transport.endpoint());
      await peer.run({ op: 'connect', id: 'c', name: here.at.name, port: here.at.port });
      await peer.next('connect', 'c');
      await until(() => here.connections.length > 0);
      const server = here.connections[0]!;
      const incoming = once<Uint8Array>(server, 'data', 30_000);
      await peer.run({ op: 'sendBytes', id: 'c', size });
      const received = await incoming;
      expect(received.length).toBe(size);
      expect(sha256(received)).toBe(expected);
      server.send(received);
      const echoed = await peer.next('bytes', 'c', 30_000);
      expect(echoed).toMatchObject({ size, sha256: expected });
    });
  });

  describe(`§2 acceptor across processes over ${transport.name}`, () => {
    for (const acceptor of ['no', 'throw', 'reject', 'async-no'] as const) {
      it(`a client refused by an acceptor that says ${acceptor} gets ERR_DATASOCKET_REJECTED then close; the listener keeps serving`, async () => {
        const peer = spawn();
        const at = await listenIn(peer, transport.endpoint(), acceptor);
        const client = track(DataSocket.connect(at.name, at.port));
        const events = record(client);
        client.send('never delivered');
        await events.closed;
        expect(events.log).toEqual([`error:${ErrorCode.REJECTED}`, 'close']);
        const refused = (await peer.waitFor((e) => e.ev === 'accepted')) as { id: string };
        await peer.next('close', refused.id);
        expect(peer.events.some((e) => e.ev === 'data')).toBe(false);
        expect(peer.events.some((e) => e.ev === 'connect')).toBe(false);
        const again = track(DataSocket.connect(at.name, at.port));
        const againEvents = record(again);
        await againEvents.closed;
        expect(againEvents.errors[0]?.code).toBe(ErrorCode.REJECTED);
      });
    }

    it('an acceptor that never answers times out (acceptTimeoutMs) and refuses', async () => {
      const peer = spawn();
      const at = await listenIn(peer, transport.endpoint(), 'never', { acceptTimeoutMs: 300 });
      const client = track(DataSocket.connect(at.name, at.port));
      const events = record(client);
      const started = Date.now();
      await events.closed;
      expect(events.log).toEqual([`error:${ErrorCode.REJECTED}`, 'close']);
      expect(Date.now() - started).toBeGreaterThanOrEqual(250);
      expect(Date.now() - started).toBeLessThan(5_000);
    });

    it('an async acceptor that says yes connects, and values queued before acceptance arrive', async () => {
      const peer = spawn();
      const at = await listenIn(peer, transport.endpoint(), 'async-yes');
      const client = track(DataSocket.connect(at.name, at.port));
      client.send({ queued: true });
      await once(client, 'connect');
      const data = await peer.waitFor((e) => e.ev === 'data');
      expect(data).toMatchObject({ value: { queued: true } });
    });
  });

  describe(`§2 a peer killed mid-frame over ${transport.name}`, () => {
    it('the surviving listener side gets close, does not hang, and keeps serving', async () => {
      const here = await listenHere(transport.endpoint());
      const peer = spawn();
      await peer.run({ op: 'connect', id: 'c', name: here.at.name, port: here.at.port });
      await peer.next('connect', 'c');
      await until(() => here.connections.length > 0);
      const events = here.recorded[0]!;
      // 64 MiB take a while to cross; the kill lands while the frame is in flight.
      await peer.run({ op: 'sendBytes', id: 'c', size: 64 * 1024 * 1024 });
      peer.kill('SIGKILL');
      await events.closed;
      expectVanishedPeer(events, 64 * 1024 * 1024);
      expect(here.listener.state).toBe('listening');
      const next = track(DataSocket.connect(here.at.name, here.at.port));
      await once(next, 'connect');
    });

    it('a survivor holding a frame cut short gets ECONNRESET then close', async () => {
      const here = await listenHere(transport.endpoint());
      const raw = transport.endpoint().port === undefined ? net.connect(here.listener.address.path!) : net.connect(here.at.port!, '127.0.0.1');
      const handshake = new Handshake('client', undefined, (b) => raw.write(b));
      raw.on('connect', () => handshake.start());
      raw.on('error', () => {});
      raw.on('data', (chunk) => {
        if (!handshake.push(chunk).done) return;
        const partial = new Uint8Array(FRAME_HEADER_BYTES + 100);
        writeFrameHeader(partial, 0, 4096, FrameKind.UINT8ARRAY);
        raw.write(partial, () => setTimeout(() => raw.destroy(), 50));
      });
      await until(() => here.connections.length > 0);
      const events = here.recorded[0]!;
      await events.closed;
      expect(events.errors.map((e) => e.code)).toEqual(['ECONNRESET']);
      expect(events.log.slice(-2)).toEqual(['error:ECONNRESET', 'close']);
      expect(here.listener.state).toBe('listening');
    });

    it('the surviving client side gets close when the listening process is killed mid-transfer', async () => {
      const peer = spawn();
      const at = await listenIn(peer, transport.endpoint());
      const client = track(DataSocket.connect(at.name, at.port));
      const events = record(client);
      await once(client, 'connect');
      const accepted = (await peer.waitFor((e) => e.ev === 'accepted')) as { id: string };
      await peer.run({ op: 'sendBytes', id: accepted.id, size: 64 * 1024 * 1024 });
      peer.kill('SIGKILL');
      await events.closed;
      expectVanishedPeer(events, 64 * 1024 * 1024);
      expect(client.state).toBe('closed');
    });
  });
}

describe('§4 talking to something that is not a DataSocket', () => {
  async function plainServer(onConnection: (socket: net.Socket) => void): Promise<{ server: net.Server; port: number }> {
    const server = net.createServer(onConnection);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { server, port: (server.address() as net.AddressInfo).port };
  }

  it('a server that answers with other bytes fails at once with ERR_DATASOCKET_PROTOCOL', async () => {
    const { server, port } = await plainServer((s) => s.end('HTTP/1.1 400 Bad Request\r\n\r\n'));
    try {
      const client = track(DataSocket.connect('127.0.0.1', port, { handshakeTimeoutMs: 5_000 }));
      const events = record(client);
      const started = Date.now();
      await events.closed;
      expect(events.log).toEqual([`error:${ErrorCode.PROTOCOL}`, 'close']);
      expect(Date.now() - started).toBeLessThan(2_000);
      expect(events.errors[0]!.message).toContain('48 54 54 50');
    } finally {
      server.close();
    }
  });

  it('a server that sends nothing fails with ERR_DATASOCKET_PROTOCOL within handshakeTimeoutMs', async () => {
    const held: net.Socket[] = [];
    const { server, port } = await plainServer((s) => held.push(s));
    try {
      const client = track(DataSocket.connect('127.0.0.1', port, { handshakeTimeoutMs: 400 }));
      const events = record(client);
      const started = Date.now();
      await events.closed;
      const elapsed = Date.now() - started;
      expect(events.log).toEqual([`error:${ErrorCode.PROTOCOL}`, 'close']);
      expect(elapsed).toBeGreaterThanOrEqual(350);
      expect(elapsed).toBeLessThan(2_000);
    } finally {
      for (const s of held) s.destroy();
      server.close();
    }
  });

  it('a listener drops a client that never says hello after handshakeTimeoutMs, and keeps serving', async () => {
    const listener = track(DataSocket.listen(() => true, '127.0.0.1', 0, { handshakeTimeoutMs: 300 }));
    await listening(listener);
    const silent = net.connect(listener.address.port!, '127.0.0.1');
    const closed = new Promise<number>((resolve) => {
      const started = Date.now();
      silent.on('close', () => resolve(Date.now() - started));
      silent.on('error', () => {});
      silent.resume();
    });
    expect(await closed).toBeLessThan(3_000);
    const client = track(DataSocket.connect('127.0.0.1', listener.address.port!));
    await once(client, 'connect');
  });
});

describe('§4 a peer announcing a frame above maxFrameBytes', () => {
  it('closes that connection with ERR_DATASOCKET_PROTOCOL without allocating the announced size; the listener is unaffected', async () => {
    const here = await listenHere({ name: uniqueName('big') });
    const raw = net.connect(here.listener.address.path!);
    const handshake = new Handshake('client', undefined, (b) => raw.write(b));
    raw.on('connect', () => handshake.start());
    raw.on('error', () => {});
    const before = process.memoryUsage().arrayBuffers;
    raw.on('data', (chunk) => {
      if (!handshake.push(chunk).done) return;
      const header = new Uint8Array(FRAME_HEADER_BYTES);
      writeFrameHeader(header, 0, 0xffff_fff0, FrameKind.UINT8ARRAY);
      raw.write(header);
    });
    await until(() => here.connections.length > 0);
    const events = here.recorded[0]!;
    await events.closed;
    expect(events.errors.map((e) => e.code)).toEqual([ErrorCode.PROTOCOL]);
    expect(events.errors[0]!.message).toContain('maxFrameBytes');
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 * 1024 * 1024);
    expect(here.listener.state).toBe('listening');
    const client = track(DataSocket.connect(here.at.name));
    await once(client, 'connect');
    raw.destroy();
  });
});
