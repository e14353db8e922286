/**
 * §11 for a page's sockets: the page's core keeps the connection alive (its timers
 * run in the page), main's host relays its PINGs and PONGs like any frame and tells
 * it whether the peer answers pings. Real host and client over a message channel,
 * real sockets, a real second process.
 */
import { describe, expect, it } from 'vitest';
import { DataSocket as NodeDataSocket, ErrorCode } from '../../../src/index.js';
import type { PageDataSocket } from '../../../src/renderer/client.js';
import type { ClientMessage, HostMessage } from '../../../src/shared/bridge-protocol.js';
import { FRAME_HEADER_BYTES, FrameKind, HELLO_BYTES, writeFrameHeader } from '../../../src/shared/protocol.js';
import { bridgedPage } from '../../helpers/bridge.js';
import { useCleanup } from '../../helpers/cleanup.js';
import { foreignListener as foreignListenerAt } from '../../helpers/foreign-listener.js';
import { expectTimedOutSilence, freezeUntilClosed } from '../../helpers/frozen-peer.js';
import { listenIn } from '../../helpers/peer.js';
import { listening, once, record, sleep, uniqueName, until } from '../../helpers/sockets.js';

const { track, spawn } = useCleanup();

function page(): ReturnType<typeof bridgedPage> {
  return track(bridgedPage());
}

function frame(kind: number): Uint8Array {
  const bytes = new Uint8Array(FRAME_HEADER_BYTES);
  writeFrameHeader(bytes, 0, 0, kind);
  return bytes;
}

/** How many `sends` posted by the page are exactly one frame of `kind` (a PING or PONG goes alone when the line is idle). */
function sentFrames(toHost: ClientMessage[], kind: number): number {
  const wanted = Buffer.from(frame(kind));
  return toHost.filter((m) => m.t === 'send' && Buffer.from(m.bytes).equals(wanted)).length;
}

/** How many of the host's 'data' messages to the page are exactly one frame of `kind` (bytes may be cut anywhere, but an idle line carries each alone). */
function receivedFrames(fromHost: HostMessage[], kind: number): number {
  const wanted = Buffer.from(frame(kind));
  return fromHost.filter((m) => m.t === 'data' && Buffer.from(m.bytes).equals(wanted)).length;
}

for (const transport of [
  { name: 'a Unix socket', endpoint: (): { name: string; port?: number } => ({ name: uniqueName('alive') }) },
  { name: 'TCP on 127.0.0.1', endpoint: (): { name: string; port?: number } => ({ name: '127.0.0.1', port: 0 }) },
]) {
  describe(`§11 a page's socket keeps alive over ${transport.name}`, () => {
    it('finds a listening peer process that was SIGSTOPped within 2 × keepAliveMs: ERR_DATASOCKET_TIMEOUT, then close', async () => {
      const keepAliveMs = 200;
      const peer = spawn();
      const at = await listenIn(peer, transport.endpoint());
      const p = page();
      const client = track(p.DataSocket.connect(at.name, at.port, { keepAliveMs }));
      const events = record(client as never);
      await once(client as never, 'connect');
      expect(p.fromHost.find((m) => m.t === 'open')).toMatchObject({ pings: true });
      const accepted = (await peer.waitFor((e) => e.ev === 'accepted')) as { id: string };
      const arrived = once(client as never, 'data');
      await peer.run({ op: 'send', id: accepted.id, value: 'last words' });
      await arrived;
      const silence = await freezeUntilClosed(peer, () => events.closed);
      expect(events.log).toEqual(['connect', 'data', `error:${ErrorCode.TIMEOUT}`, 'close']);
      expectTimedOutSilence(silence, keepAliveMs);
      // The page gave up, so main dropped the real socket.
      await until(() => p.host.size === 0);
    });

    it("relays an idle page client's PINGs and the peer's PONGs, and the connection stays open", async () => {
      const accepted: NodeDataSocket[] = [];
      const listener = track(
        NodeDataSocket.listen(
          (c) => {
            accepted.push(track(c));
            return true;
          },
          ...(Object.values(transport.endpoint()) as [string, number?]),
        ),
      );
      await listening(listener);
      const p = page();
      const client = track(p.DataSocket.connect(listener.address.name, listener.address.port, { keepAliveMs: 100 }));
      const events = record(client as never);
      await once(client as never, 'connect');
      await sleep(1_200);
      expect(events.log).toEqual(['connect']);
      expect(accepted[0]!.state).toBe('open');
      const pings = sentFrames(p.toHost, FrameKind.PING);
      expect(pings).toBeGreaterThanOrEqual(4);
      await until(() => receivedFrames(p.fromHost, FrameKind.PONG) === sentFrames(p.toHost, FrameKind.PING));
      expect(p.fromHost.filter((m) => m.t === 'failed' || m.t === 'rejected')).toEqual([]);
      // A PING is not a value: main reports its bytes sent, with no value among them.
      expect(p.fromHost.filter((m) => m.t === 'sent').every((m) => m.t === 'sent' && m.count === 0)).toBe(true);
    });

    it("a page's listener with keepAliveMs finds a connecting peer process that was SIGSTOPped, on the connection it accepted", async () => {
      const keepAliveMs = 200;
      const p = page();
      let accepted!: PageDataSocket;
      const listener = track(
        p.DataSocket.listen(
          (c) => {
            accepted = c;
            return true;
          },
          ...(Object.values(transport.endpoint()) as [string, number?]),
          { keepAliveMs },
        ),
      );
      await listening(listener as never);
      const peer = spawn();
      await peer.run({ op: 'connect', id: 'c', name: listener.address.name, port: listener.address.port });
      await peer.next('connect', 'c');
      await until(() => accepted?.state === 'open');
      expect(p.fromHost.find((m) => m.t === 'open')).toMatchObject({ pings: true });
      const events = record(accepted as never);
      const arrived = once(accepted as never, 'data');
      await peer.run({ op: 'send', id: 'c', value: 'last words' });
      await arrived;
      const silence = await freezeUntilClosed(peer, () => events.closed);
      expect(events.log).toEqual(['data', `error:${ErrorCode.TIMEOUT}`, 'close']);
      expectTimedOutSilence(silence, keepAliveMs);
      expect(listener.state).toBe('listening');
    });

    it("answers a Node client's PINGs from a page's accepted connection, through the host", async () => {
      const p = page();
      let accepted!: PageDataSocket;
      const listener = track(
        p.DataSocket.listen((c) => {
          accepted = c;
          return true;
        }, ...(Object.values(transport.endpoint()) as [string, number?])),
      );
      await listening(listener as never);
      const client = track(NodeDataSocket.connect(listener.address.name, listener.address.port, { keepAliveMs: 100 }));
      const events = record(client);
      await once(client, 'connect');
      await sleep(1_200);
      expect(events.log).toEqual(['connect']);
      expect(accepted.state).toBe('open');
      expect(sentFrames(p.toHost, FrameKind.PONG)).toBeGreaterThanOrEqual(4);
      expect(p.fromHost.filter((m) => m.t === 'failed' || m.t === 'rejected')).toEqual([]);
    });
  });
}

describe("§11 a page's keep-alive and a peer that does not answer pings", () => {
  /** A foreign listener: HELLO with flags 02 (no PINGS), then 56 00; it keeps what the client writes. */
  async function foreignListener() {
    const foreign = await foreignListenerAt(0x02, 'alive-');
    track(foreign.server);
    return foreign;
  }

  it('main tells the page the peer does not answer pings; the page sends none and keeps the connection', async () => {
    const foreign = await foreignListener();
    const p = page();
    const client = track(p.DataSocket.connect(foreign.file, { keepAliveMs: 50 }));
    const events = record(client as never);
    await once(client as never, 'connect');
    expect(p.fromHost.find((m) => m.t === 'open')).toMatchObject({ pings: false });
    await sleep(500);
    expect(events.log).toEqual(['connect']);
    expect(p.toHost.filter((m) => m.t === 'send')).toEqual([]);
    expect(Buffer.concat(foreign.received).length).toBe(HELLO_BYTES);
  });

  it('main refuses a PING a page sends to such a peer: the page fails with ERR_DATASOCKET_INVALID_ARGUMENT, the peer never sees it', async () => {
    const foreign = await foreignListener();
    const p = page();
    const client = p.DataSocket.connect(foreign.file);
    const events = record(client as never);
    await once(client as never, 'connect');
    p.inject({ t: 'send', id: 1, bytes: frame(FrameKind.PING), count: 0 });
    await events.closed;
    expect(events.errors[0]!.code).toBe(ErrorCode.INVALID_ARGUMENT);
    expect(events.errors[0]!.message).toContain('PING');
    expect(Buffer.concat(foreign.received).length).toBe(HELLO_BYTES);
  });
});

describe("§11 the page's keepAliveMs option", () => {
  it('reaches main only when given, and main refuses one out of bounds', async () => {
    const p = page();
    const listener = track(NodeDataSocket.listen(() => true, uniqueName()));
    await listening(listener);
    track(p.DataSocket.connect(listener.address.name, { keepAliveMs: 1234 }));
    track(p.DataSocket.connect(listener.address.name));
    const connects = p.toHost.filter((m) => m.t === 'connect');
    expect(connects[0]).toMatchObject({ options: { keepAliveMs: 1234 } });
    expect(connects[1]!.t === 'connect' && 'keepAliveMs' in connects[1]!.options).toBe(false);
    const options = { maxFrameBytes: 1, maxBufferedBytes: 1, highWaterMark: 1, handshakeTimeoutMs: 1, acceptTimeoutMs: 1, keepAliveMs: -1 };
    p.inject({ t: 'connect', id: 99, name: uniqueName(), port: null, options });
    await until(() => p.fromHost.some((m) => m.t === 'rejected'));
    expect(p.fromHost.find((m) => m.t === 'rejected')).toMatchObject({ error: { code: ErrorCode.INVALID_ARGUMENT, message: expect.stringContaining('keepAliveMs') } });
    expect(() => p.DataSocket.connect(listener.address.name, { keepAliveMs: 0.5 })).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }));
  });
});
