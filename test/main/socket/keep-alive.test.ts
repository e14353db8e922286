/**
 * §11 liveness between real sockets and real processes, over a Unix socket and
 * over TCP: a frozen peer (SIGSTOP) is found within 2 × keepAliveMs, a healthy idle
 * one is pinged and kept, a busy one is never pinged. A relay between the two ends
 * (test/helpers/relay.ts) counts the frames that crossed.
 */
import { describe, expect, it } from 'vitest';
import { DataSocket, ErrorCode } from '../../../src/index.js';
import { FrameKind, HELLO_BYTES } from '../../../src/shared/protocol.js';
import { useCleanup } from '../../helpers/cleanup.js';
import { foreignListener } from '../../helpers/foreign-listener.js';
import { expectTimedOutSilence, freezeUntilClosed } from '../../helpers/frozen-peer.js';
import { listenIn } from '../../helpers/peer.js';
import { recordingRelay } from '../../helpers/relay.js';
import { acceptingListener, listening, once, record, sleep, uniqueName, until } from '../../helpers/sockets.js';

const { track, spawn } = useCleanup();

const TRANSPORTS = [
  { name: 'a Unix socket', endpoint: (): { name: string; port?: number } => ({ name: uniqueName('alive') }) },
  { name: 'TCP on 127.0.0.1', endpoint: (): { name: string; port?: number } => ({ name: '127.0.0.1', port: 0 }) },
];

/** What a relay needs to reach a listener bound in this process. */
function targetOf(listener: DataSocket): { path: string } | { port: number } {
  return listener.address.port === undefined ? { path: listener.address.path! } : { port: listener.address.port };
}

/** A listener in this process that accepts everything, and a relay in front of it. */
async function relayedListener(endpoint: { name: string; port?: number }, options: { keepAliveMs?: number } = {}) {
  const { listener, accepted } = await acceptingListener(track, endpoint, options);
  const relay = track(await recordingRelay(targetOf(listener)));
  return { listener, accepted, relay };
}

for (const transport of TRANSPORTS) {
  describe(`§11 keep-alive over ${transport.name}`, () => {
    it('finds a listening peer process that was SIGSTOPped within 2 × keepAliveMs: ERR_DATASOCKET_TIMEOUT, then close', async () => {
      const keepAliveMs = 200;
      const peer = spawn();
      const at = await listenIn(peer, transport.endpoint());
      const client = track(DataSocket.connect(at.name, at.port, { keepAliveMs }));
      const events = record(client);
      await once(client, 'connect');
      const accepted = (await peer.waitFor((e) => e.ev === 'accepted')) as { id: string };
      const arrived = once(client, 'data');
      await peer.run({ op: 'send', id: accepted.id, value: 'last words' });
      await arrived;
      // The last byte from the peer came with that value: the silence counts from here.
      const silence = await freezeUntilClosed(peer, () => events.closed);
      expect(events.log).toEqual(['connect', 'data', `error:${ErrorCode.TIMEOUT}`, 'close']);
      expect(events.errors[0]!.message).toContain(`for ${2 * keepAliveMs} ms`);
      expectTimedOutSilence(silence, keepAliveMs);
    });

    it("finds a connecting peer process that was SIGSTOPped, on the connection a listener accepted, with the listener's keepAliveMs", async () => {
      const keepAliveMs = 200;
      const endpoint = transport.endpoint();
      const accepted: ReturnType<typeof record>[] = [];
      const connections: DataSocket[] = [];
      const listener = track(
        DataSocket.listen(
          (connection) => {
            connections.push(track(connection));
            accepted.push(record(connection));
            return true;
          },
          endpoint.name,
          endpoint.port,
          { keepAliveMs },
        ),
      );
      await listening(listener);
      const peer = spawn();
      await peer.run({ op: 'connect', id: 'c', name: listener.address.name, port: listener.address.port });
      await peer.next('connect', 'c');
      await until(() => connections.length > 0);
      const arrived = once(connections[0]!, 'data');
      await peer.run({ op: 'send', id: 'c', value: 'last words' });
      await arrived;
      const silence = await freezeUntilClosed(peer, () => accepted[0]!.closed);
      expect(accepted[0]!.log).toEqual(['connect', 'data', `error:${ErrorCode.TIMEOUT}`, 'close']);
      expectTimedOutSilence(silence, keepAliveMs);
      expect(listener.state).toBe('listening');
    });

    it('keeps an idle healthy connection open (keepAliveMs 100, over a second): it pings, the peer answers each PING with a PONG', async () => {
      const { accepted, relay } = await relayedListener(transport.endpoint());
      const client = track(DataSocket.connect(relay.at.name, relay.at.port, { keepAliveMs: 100 }));
      const events = record(client);
      await once(client, 'connect');
      await sleep(1_200);
      expect(client.state).toBe('open');
      expect(accepted[0]!.state).toBe('open');
      expect(events.log).toEqual(['connect']);
      // One PING per 100–150 ms of silence; PONGs may be a step behind.
      const pings = relay.count('toListener', FrameKind.PING);
      expect(pings).toBeGreaterThanOrEqual(4);
      expect(pings).toBeLessThanOrEqual(13);
      await until(() => relay.count('toClient', FrameKind.PONG) === relay.count('toListener', FrameKind.PING));
      expect(relay.kinds('toListener').every((k) => k === FrameKind.PING)).toBe(true);
      expect(relay.kinds('toClient').every((k) => k === FrameKind.PONG)).toBe(true);
      expect(client.bufferedAmount).toBe(0);
    });

    it('sends no PING on a busy connection (values both ways more often than keepAliveMs), and does once it falls silent', async () => {
      const keepAliveMs = 200;
      const { accepted, relay } = await relayedListener(transport.endpoint(), { keepAliveMs });
      const client = track(DataSocket.connect(relay.at.name, relay.at.port, { keepAliveMs }));
      await once(client, 'connect');
      await until(() => accepted.length > 0);
      const server = accepted[0]!;
      let up = 0;
      let down = 0;
      server.on('data', () => up++);
      client.on('data', () => down++);
      const started = Date.now();
      while (Date.now() - started < 1_500) {
        client.send({ up });
        server.send({ down });
        await sleep(10);
      }
      await until(() => up > 50 && down > 50);
      expect(relay.count('toListener', FrameKind.PING)).toBe(0);
      expect(relay.count('toClient', FrameKind.PING)).toBe(0);
      expect(relay.kinds('toListener').length).toBeGreaterThan(50);
      // The same connection, left alone, pings (whichever side hears nothing first): the zeros above could have been otherwise.
      await until(() => relay.count('toListener', FrameKind.PING) + relay.count('toClient', FrameKind.PING) > 0, 5_000);
      expect(client.state).toBe('open');
    });

    it('sends nothing with keepAliveMs 0, nor by default over a local socket', async () => {
      const { relay } = await relayedListener(transport.endpoint());
      const options = transport.endpoint().port === undefined ? {} : { keepAliveMs: 0 };
      const client = track(DataSocket.connect(relay.at.name, relay.at.port, options));
      await once(client, 'connect');
      await sleep(800);
      expect(relay.kinds('toListener')).toEqual([]);
      expect(relay.kinds('toClient')).toEqual([]);
      expect(client.state).toBe('open');
    });
  });
}

describe('§11 keep-alive needs a peer that answers pings', () => {
  it('never pings a listener whose HELLO did not set PINGS, and keeps the connection', async () => {
    // A foreign listener: HELLO with flags 02 (no PINGS), then 56 00; it records what the client writes.
    const { server, file, received } = await foreignListener(0x02, 'alive-');
    try {
      const client = track(DataSocket.connect(file, { keepAliveMs: 50 }));
      const events = record(client);
      await once(client, 'connect');
      await sleep(600);
      expect(events.log).toEqual(['connect']);
      expect(client.state).toBe('open');
      expect(Buffer.concat(received).length, 'the HELLO and nothing after it').toBe(HELLO_BYTES);
    } finally {
      server.close();
    }
  });

  it('refuses a keepAliveMs that is not an integer from 0 to 2147483647 at the call, with ERR_DATASOCKET_INVALID_ARGUMENT', () => {
    for (const keepAliveMs of [-1, 0.5, 2 ** 31, '15000', Number.NaN]) {
      const options = { keepAliveMs } as unknown as { keepAliveMs: number };
      expect(() => DataSocket.connect('127.0.0.1', 1, options)).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }));
      expect(() => DataSocket.listen(() => true, uniqueName(), options)).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT, message: expect.stringContaining('keepAliveMs') }));
    }
  });
});
