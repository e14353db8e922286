/**
 * §10 requests between app instances that are separate Node processes
 * (test/fixtures/peer.ts), over a Unix socket and over TCP on 127.0.0.1: volume both
 * ways at once with the right reply each, a peer killed with requests pending, and a
 * handler's error crossing the process boundary.
 */
import { describe, expect, it } from 'vitest';
import { DataSocket, DataSocketError, ErrorCode } from '../../../src/index.js';
import { useCleanup } from '../../helpers/cleanup.js';
import { computeReply, isReplyTo, listenIn, requestValue } from '../../helpers/peer.js';
import { acceptingListener, once, record, sleep, uniqueName, until } from '../../helpers/sockets.js';

const { track, spawn } = useCleanup();

const TRANSPORTS = [
  { name: 'a Unix socket', endpoint: (): { name: string; port?: number } => ({ name: uniqueName('reqproc') }) },
  { name: 'TCP on 127.0.0.1', endpoint: (): { name: string; port?: number } => ({ name: '127.0.0.1', port: 0 }) },
];

/** How long a killed peer's pending requests may take to reject: they must not wait for their own deadline. */
const BOUND_MS = 5_000;

/** Settles every promise, or says which were still pending after `ms`. */
async function settleWithin(promises: Promise<unknown>[], ms: number): Promise<PromiseSettledResult<unknown>[]> {
  const hung = Symbol('hung');
  const result = await Promise.race([Promise.allSettled(promises), sleep(ms).then(() => hung)]);
  if (result === hung) throw new Error(`requests still pending ${ms} ms after the peer was killed`);
  return result as PromiseSettledResult<unknown>[];
}

/** Every request rejected with ERR_DATASOCKET_CLOSED, with the socket's ECONNRESET as cause. */
function expectAllClosedByReset(results: PromiseSettledResult<unknown>[], socketError: DataSocketError): void {
  expect(socketError.code).toBe('ECONNRESET');
  const reasons = results.map((r) => (r.status === 'rejected' ? (r.reason as DataSocketError) : undefined));
  expect(reasons.filter((reason) => reason === undefined)).toHaveLength(0);
  const codes = new Set(reasons.map((reason) => reason!.code));
  expect([...codes]).toEqual([ErrorCode.CLOSED]);
  expect(reasons.every((reason) => reason!.cause === socketError)).toBe(true);
  expect(reasons[0]!.message).toBe(`the request got no reply: the socket failed: ECONNRESET: ${socketError.message}`);
}

for (const transport of TRANSPORTS) {
  describe(`§10 requests between two processes over ${transport.name}`, () => {
    it('10,000 concurrent requests both ways at once, each answered with its own reply (reply = f(value))', async () => {
      const count = 10_000;
      const peer = spawn();
      const at = await listenIn(peer, transport.endpoint(), 'yes', undefined, 'compute');
      const client = track(DataSocket.connect(at.name, at.port));
      client.on('request', (value: unknown, respond) => respond(computeReply(value)));
      await once(client, 'connect');
      const { id } = (await peer.waitFor((e) => e.ev === 'accepted')) as { id: string };
      await peer.run({ op: 'requestMany', id, count, timeoutMs: 25_000 });
      const asked = Array.from({ length: count }, (_, i) => requestValue(i));
      const replies = await Promise.all(asked.map((value) => client.request(value, { timeoutMs: 25_000 })));
      const wrong = asked.filter((value, i) => !isReplyTo(value, replies[i]));
      expect(wrong).toEqual([]);
      const theirs = await peer.waitFor((e) => e.ev === 'requests' && e.id === id, 25_000);
      expect(theirs).toEqual({ ev: 'requests', id, right: count, wrong: 0, rejected: {} });
      expect(client.state).toBe('open');
    });

    it('a listening peer SIGKILLed with 1,000 requests pending on this client: every one rejects with ERR_DATASOCKET_CLOSED, the ECONNRESET as cause, none hangs', async () => {
      const peer = spawn();
      const at = await listenIn(peer, transport.endpoint(), 'yes', undefined, 'never');
      const client = track(DataSocket.connect(at.name, at.port));
      const events = record(client);
      await once(client, 'connect');
      const pending = Array.from({ length: 1_000 }, (_, i) => client.request(requestValue(i)));
      // Pending for real: the peer holds every one of them.
      await until(() => peer.events.filter((e) => e.ev === 'request').length === 1_000, 15_000);
      const killed = Date.now();
      peer.kill('SIGKILL');
      const results = await settleWithin(pending, BOUND_MS);
      expect(Date.now() - killed).toBeLessThan(BOUND_MS);
      await events.closed;
      expect(events.log).toEqual(['connect', 'error:ECONNRESET', 'close']);
      expectAllClosedByReset(results, events.errors[0]!);
      expect((await peer.exited).signal).toBe('SIGKILL');
    });

    it("a connecting peer SIGKILLed with 1,000 requests pending on this process's accepted connection: every one rejects with ERR_DATASOCKET_CLOSED, the ECONNRESET as cause, none hangs", async () => {
      const endpoint = transport.endpoint();
      const { listener, accepted: connections } = await acceptingListener(track, endpoint);
      const peer = spawn();
      await peer.run({ op: 'connect', id: 'c', name: listener.address.name, port: listener.address.port, answer: 'never' });
      await peer.next('connect', 'c');
      await until(() => connections[0]?.state === 'open');
      const server = connections[0]!;
      const events = record(server);
      const pending = Array.from({ length: 1_000 }, (_, i) => server.request(requestValue(i)));
      await until(() => peer.events.filter((e) => e.ev === 'request').length === 1_000, 15_000);
      const killed = Date.now();
      peer.kill('SIGKILL');
      const results = await settleWithin(pending, BOUND_MS);
      expect(Date.now() - killed).toBeLessThan(BOUND_MS);
      await events.closed;
      expect(events.log).toEqual(['error:ECONNRESET', 'close']);
      expectAllClosedByReset(results, events.errors[0]!);
      expect(listener.state).toBe('listening');
    });

    it("a handler that throws reaches the other process as ERR_DATASOCKET_REMOTE with its error's name and message as cause, both ways; the connection stays", async () => {
      const peer = spawn();
      const at = await listenIn(peer, transport.endpoint(), 'yes', undefined, 'throw');
      const client = track(DataSocket.connect(at.name, at.port));
      client.on('request', (value: unknown) => {
        throw new RangeError(`this process refuses ${String(value)}`);
      });
      await once(client, 'connect');
      const { id } = (await peer.waitFor((e) => e.ev === 'accepted')) as { id: string };

      const error = (await client.request('this').then(
        () => undefined,
        (e: unknown) => e,
      )) as DataSocketError;
      expect(error).toBeInstanceOf(DataSocketError);
      expect(error.code).toBe(ErrorCode.REMOTE);
      expect(error.message).toBe("the peer's request handler failed: TypeError: the peer refuses this");
      expect(error.cause).toBeInstanceOf(Error);
      expect(error.cause).toMatchObject({ name: 'TypeError', message: 'the peer refuses this' });

      await peer.run({ op: 'request', id, value: 'that' });
      const theirs = await peer.waitFor((e) => e.ev === 'rejected' && e.id === id);
      expect(theirs).toEqual({
        ev: 'rejected',
        id,
        code: ErrorCode.REMOTE,
        message: "the peer's request handler failed: RangeError: this process refuses that",
        cause: { name: 'RangeError', message: 'this process refuses that', code: undefined },
      });

      const arrived = peer.waitFor((e) => e.ev === 'data' && e.id === id);
      client.send('still open');
      expect(await arrived).toMatchObject({ value: 'still open' });
      expect(client.state).toBe('open');
    });
  });
}
