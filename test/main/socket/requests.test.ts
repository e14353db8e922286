/**
 * §10 requests with deadlines, in one process over real sockets — a Unix socket and
 * TCP on 127.0.0.1 — in both directions: a client asking the connection a listener
 * accepted, and that connection asking the client. Where a test must know what
 * crossed (nothing sent for an aborted or unsendable request, a late reply that did
 * come and was dropped, the order on the wire), a relay between the two ends
 * (test/helpers/relay.ts) keeps the frames.
 */
import { describe, expect, it } from 'vitest';
import { DataSocket, DataSocketError, ErrorCode, type ConnectOptions, type ListenOptions } from '../../../src/index.js';
import { FrameKind } from '../../../src/shared/protocol.js';
import { useCleanup } from '../../helpers/cleanup.js';
import { recordingRelay, type Direction, type RecordingRelay } from '../../helpers/relay.js';
import { rejection } from '../../helpers/rejection.js';
import { acceptingListener, listening, once, record, sleep, uniqueName, until } from '../../helpers/sockets.js';

const { track } = useCleanup();

const TRANSPORTS = [
  { name: 'a Unix socket', endpoint: (): { name: string; port?: number } => ({ name: uniqueName('req') }) },
  { name: 'TCP on 127.0.0.1', endpoint: (): { name: string; port?: number } => ({ name: '127.0.0.1', port: 0 }) },
];

interface Pair {
  listener: DataSocket;
  client: DataSocket;
  server: DataSocket;
  /** Present when asked for: every frame between client and server crosses it. */
  relay: RecordingRelay | undefined;
}

interface PairOptions {
  relay?: boolean;
  listen?: ListenOptions;
  connect?: ConnectOptions;
}

/** A listener, a client connected to it (through a relay if asked) and the connection it accepted, both open. */
async function openPair(endpoint: { name: string; port?: number }, options: PairOptions = {}): Promise<Pair> {
  const { listener, accepted } = await acceptingListener(track, endpoint, options.listen);
  let relay: RecordingRelay | undefined;
  let at = { name: listener.address.name, port: listener.address.port };
  if (options.relay === true) {
    relay = track(await recordingRelay(listener.address.port === undefined ? { path: listener.address.path! } : { port: listener.address.port }));
    at = { name: relay.at.name, port: relay.at.port };
  }
  const client = track(DataSocket.connect(at.name, at.port, options.connect));
  await once(client, 'connect');
  await until(() => accepted[0]?.state === 'open');
  return { listener, client, server: accepted[0]!, relay };
}

/** Who asks and who answers, and which way each one's frames cross the relay. */
interface Ends {
  requester: DataSocket;
  responder: DataSocket;
  /** The relay direction of the requester's frames (REQUEST). */
  asks: Direction;
  /** The relay direction of the responder's frames (REPLY, FAILURE). */
  answers: Direction;
}

const DIRECTIONS = [
  {
    name: 'client → accepted connection',
    ends: (pair: Pair): Ends => ({ requester: pair.client, responder: pair.server, asks: 'toListener', answers: 'toClient' }),
    /** Options of the requester's and the responder's side, as the pair takes them. */
    sides: (requester: ConnectOptions, responder: ListenOptions): PairOptions => ({ connect: requester, listen: responder }),
  },
  {
    name: 'accepted connection → client',
    ends: (pair: Pair): Ends => ({ requester: pair.server, responder: pair.client, asks: 'toClient', answers: 'toListener' }),
    sides: (requester: ListenOptions, responder: ConnectOptions): PairOptions => ({ listen: requester, connect: responder }),
  },
] as const;

/** Expects `promise` to reject with a DataSocketError of `code`; returns it. */
async function rejectsWith(promise: Promise<unknown>, code: string): Promise<DataSocketError> {
  const error = await rejection(promise);
  expect(error).toBeInstanceOf(DataSocketError);
  expect(error.code).toBe(code);
  return error;
}

/** request() with options the types would refuse (a wrong option must still be refused at run time). */
function requestWith(socket: DataSocket, value: unknown, options: unknown): Promise<unknown> {
  return socket.request(value, options as never);
}

/** Waits until `relay` saw `count` frames of `kind` cross `direction`. */
function crossed(relay: RecordingRelay, direction: Direction, kind: number, count: number): Promise<void> {
  return until(() => relay.count(direction, kind) >= count);
}

for (const transport of TRANSPORTS) {
  for (const direction of DIRECTIONS) {
    describe(`§10 requests over ${transport.name}, ${direction.name}`, () => {
      const pairOf = async (options: PairOptions = {}) => {
        const pair = await openPair(transport.endpoint(), options);
        return { ...pair, ...direction.ends(pair) };
      };

      it('resolves with the value respond() gave, with §3 fidelity; the handler gets the request value', async () => {
        const { requester, responder } = await pairOf();
        const seen: unknown[] = [];
        responder.on('request', (value: unknown, respond) => {
          seen.push(value);
          respond({ echo: value, at: new Date(0), big: 2n ** 70n, map: new Map([[1, 'one']]), bytes: new Uint8Array([1, 2, 3]) });
        });
        const reply = await requester.request({ ask: 'fidelity', when: new Date(5), set: new Set(['a']) });
        expect(seen).toEqual([{ ask: 'fidelity', when: new Date(5), set: new Set(['a']) }]);
        expect(reply).toEqual({
          echo: { ask: 'fidelity', when: new Date(5), set: new Set(['a']) },
          at: new Date(0),
          big: 2n ** 70n,
          map: new Map([[1, 'one']]),
          bytes: new Uint8Array([1, 2, 3]),
        });
      });

      it('resolves with what a Promise given to respond() resolves to', async () => {
        const { requester, responder } = await pairOf();
        responder.on('request', (value: unknown, respond) => respond(sleep(20).then(() => ({ later: value }))));
        await expect(requester.request(7)).resolves.toEqual({ later: 7 });
      });

      it('resolves when respond() is called after the handler returned; each of many concurrent requests gets its own reply', async () => {
        const { requester, responder } = await pairOf();
        responder.on('request', (value: unknown, respond) => {
          const n = value as number;
          setTimeout(() => respond(n * n), (n * 7) % 23);
        });
        const replies = await Promise.all(Array.from({ length: 50 }, (_, n) => requester.request(n)));
        expect(replies).toEqual(Array.from({ length: 50 }, (_, n) => n * n));
      });

      it('rejects with ERR_DATASOCKET_TIMEOUT at timeoutMs; the reply a Promise gives after it is dropped, and the next request gets its own reply', async () => {
        const { requester, responder, relay, answers } = await pairOf({ relay: true });
        let calls = 0;
        responder.on('request', (value: unknown, respond) => {
          calls++;
          respond(value === 'slow' ? sleep(250).then(() => 'late reply') : `reply to ${String(value)}`);
        });
        const started = Date.now();
        const error = await rejectsWith(requester.request('slow', { timeoutMs: 100 }), ErrorCode.TIMEOUT);
        const waited = Date.now() - started;
        expect(error.message).toBe('no reply to the request within 100 ms (timeoutMs)');
        expect(waited).toBeGreaterThanOrEqual(95);
        expect(waited).toBeLessThan(2_000);
        // The late reply did come, and nothing took it for another request's.
        await crossed(relay!, answers, FrameKind.REPLY, 1);
        await expect(requester.request('next')).resolves.toBe('reply to next');
        expect(calls).toBe(2);
        expect(requester.state).toBe('open');
      });

      it("rejects with the signal's reason when it aborts after the request was sent; the reply that follows is dropped", async () => {
        const { requester, responder, relay, asks, answers } = await pairOf({ relay: true });
        const asked: unknown[] = [];
        const answer: { respond?: (reply: unknown) => void } = {};
        responder.on('request', (value: unknown, respond) => {
          asked.push(value);
          if (value === 'held') answer.respond = respond;
          else respond(`reply to ${String(value)}`);
        });
        const controller = new AbortController();
        const pending = requester.request('held', { signal: controller.signal });
        await until(() => answer.respond !== undefined);
        const reason = new Error('changed my mind');
        controller.abort(reason);
        expect(await rejection(pending)).toBe(reason);
        answer.respond!('too late');
        await crossed(relay!, answers, FrameKind.REPLY, 1);
        await expect(requester.request('next')).resolves.toBe('reply to next');
        expect(asked).toEqual(['held', 'next']);
        expect(relay!.count(asks, FrameKind.REQUEST)).toBe(2);
      });

      it('abort() without a reason rejects with the AbortError DOMException the signal holds', async () => {
        const { requester, responder } = await pairOf();
        let got = false;
        responder.on('request', () => {
          got = true;
        });
        const controller = new AbortController();
        const pending = requester.request('held', { signal: controller.signal });
        await until(() => got);
        controller.abort();
        const error = await rejection(pending);
        expect(error).toBe(controller.signal.reason);
        expect(error).toBeInstanceOf(DOMException);
        expect(error.name).toBe('AbortError');
      });

      it("an already-aborted signal rejects with its reason and sends nothing: the handler never sees it, no REQUEST frame crosses", async () => {
        const { requester, responder, relay, asks } = await pairOf({ relay: true });
        const asked: unknown[] = [];
        responder.on('request', (value: unknown, respond) => {
          asked.push(value);
          respond('ok');
        });
        const reason = new Error('aborted before asking');
        const pending = requester.request('never sent', { signal: AbortSignal.abort(reason) });
        expect(await rejection(pending)).toBe(reason);
        await expect(requester.request('sent')).resolves.toBe('ok');
        expect(asked).toEqual(['sent']);
        expect(relay!.count(asks, FrameKind.REQUEST)).toBe(1);
        expect(relay!.kinds(asks)).toEqual([FrameKind.REQUEST, FrameKind.VALUE]);
      });

      it('every pending request rejects with ERR_DATASOCKET_CLOSED, without a cause, when the requester closes', async () => {
        const { requester, responder } = await pairOf();
        let asked = 0;
        responder.on('request', () => {
          asked++;
        });
        const pending = [1, 2, 3].map((n) => rejection(requester.request(n)));
        await until(() => asked === 3);
        requester.close();
        for (const error of await Promise.all(pending)) {
          expect(error.code).toBe(ErrorCode.CLOSED);
          expect(error.message).toBe('the request got no reply: the socket closed');
          expect(error.cause).toBeUndefined();
        }
      });

      it('every pending request rejects with ERR_DATASOCKET_CLOSED when the peer closes; its handler answering afterwards sends nothing', async () => {
        const { requester, responder } = await pairOf();
        const held: ((reply: unknown) => void)[] = [];
        responder.on('request', (_value: unknown, respond) => {
          held.push(respond);
        });
        const events = record(requester);
        const pending = [1, 2, 3].map((n) => rejection(requester.request(n)));
        await until(() => held.length === 3);
        responder.close();
        for (const error of await Promise.all(pending)) {
          expect(error.code).toBe(ErrorCode.CLOSED);
          expect(error.message).toBe('the request got no reply: the socket closed');
          expect(error.cause).toBeUndefined();
        }
        await events.closed;
        expect(events.log).toEqual(['close']);
        for (const respond of held) respond('after close');
      });

      it("every pending request rejects with ERR_DATASOCKET_CLOSED, the socket's error as cause, when the requester fails", async () => {
        const { requester, responder } = await pairOf(direction.sides({ maxFrameBytes: 1024 }, {}));
        let asked = 0;
        responder.on('request', () => {
          asked++;
        });
        const failed = once<DataSocketError>(requester, 'error');
        const pending = [1, 2].map((n) => rejection(requester.request(n)));
        await until(() => asked === 2);
        // More than the requester takes in one frame: a protocol error there.
        responder.send(new Uint8Array(4096));
        const error = await failed;
        expect(error.code).toBe(ErrorCode.PROTOCOL);
        for (const rejected of await Promise.all(pending)) {
          expect(rejected.code).toBe(ErrorCode.CLOSED);
          expect(rejected.cause).toBe(error);
          expect(rejected.message).toBe(`the request got no reply: the socket failed: ${error.code}: ${error.message}`);
        }
      });

      it('request() after close() rejects with ERR_DATASOCKET_CLOSED (never throws) and sends nothing', async () => {
        const { requester, responder } = await pairOf();
        let asked = 0;
        responder.on('request', () => {
          asked++;
        });
        const closed = once(responder, 'close');
        requester.close();
        let pending!: Promise<unknown>;
        expect(() => (pending = requester.request('too late'))).not.toThrow();
        const error = await rejectsWith(pending, ErrorCode.CLOSED);
        expect(error.message).toBe('request() on a closed DataSocket');
        await closed;
        expect(asked).toBe(0);
      });

      it('rejects with ERR_DATASOCKET_NO_HANDLER when the peer has no request handler (none yet, or all taken off); the connection stays open', async () => {
        const { requester, responder } = await pairOf();
        const error = await rejectsWith(requester.request('anyone?'), ErrorCode.NO_HANDLER);
        expect(error.message).toBe('the peer has no request handler');
        expect(error.cause).toBeUndefined();
        const handler = (_value: unknown, respond: (reply: unknown) => void): void => respond('here');
        responder.on('request.app', handler);
        await expect(requester.request('anyone?')).resolves.toBe('here');
        responder.off('.app');
        await rejectsWith(requester.request('anyone?'), ErrorCode.NO_HANDLER);
        const arrived = once(responder, 'data');
        requester.send('still open');
        expect(await arrived).toBe('still open');
        expect(requester.state).toBe('open');
        expect(responder.state).toBe('open');
      });

      it("rejects with ERR_DATASOCKET_REMOTE, the handler's error (name and message) as cause, when the handler throws", async () => {
        const { requester, responder } = await pairOf();
        responder.on('request', (value: unknown) => {
          if (value === 'type') throw new TypeError('not that kind of request');
          if (value === 'custom') throw Object.assign(new Error('quota used up'), { name: 'QuotaError' });
          throw 'a bare string';
        });
        const typeError = await rejectsWith(requester.request('type'), ErrorCode.REMOTE);
        expect(typeError.message).toBe("the peer's request handler failed: TypeError: not that kind of request");
        expect(typeError.cause).toBeInstanceOf(Error);
        expect(typeError.cause).toMatchObject({ name: 'TypeError', message: 'not that kind of request' });
        const custom = await rejectsWith(requester.request('custom'), ErrorCode.REMOTE);
        expect(custom.cause).toMatchObject({ name: 'QuotaError', message: 'quota used up' });
        const bare = await rejectsWith(requester.request('bare'), ErrorCode.REMOTE);
        expect(bare.cause).toMatchObject({ name: 'Error', message: 'a bare string' });
        expect(requester.state).toBe('open');
      });

      it("rejects with ERR_DATASOCKET_REMOTE when the handler's returned Promise rejects before it answered", async () => {
        const { requester, responder } = await pairOf();
        responder.on('request', async () => {
          await sleep(10);
          throw new RangeError('out of range, later');
        });
        const error = await rejectsWith(requester.request('x'), ErrorCode.REMOTE);
        expect(error.message).toBe("the peer's request handler failed: RangeError: out of range, later");
        expect(error.cause).toMatchObject({ name: 'RangeError', message: 'out of range, later' });
      });

      it('rejects with ERR_DATASOCKET_REMOTE when the Promise given to respond() rejects', async () => {
        const { requester, responder } = await pairOf();
        responder.on('request', (_value: unknown, respond) => respond(sleep(10).then(() => Promise.reject(new SyntaxError('bad reply')))));
        const error = await rejectsWith(requester.request('x'), ErrorCode.REMOTE);
        expect(error.message).toBe("the peer's request handler failed: SyntaxError: bad reply");
        expect(error.cause).toMatchObject({ name: 'SyntaxError', message: 'bad reply' });
      });

      it('a reply that cannot be encoded (a function inside, or above maxFrameBytes) fails that request with ERR_DATASOCKET_REMOTE; nothing of it is sent and the connection stays', async () => {
        const { requester, responder, relay, answers } = await pairOf({ relay: true, ...direction.sides({}, { maxFrameBytes: 4096 }) });
        responder.on('request', (value: unknown, respond) => {
          if (value === 'function') respond({ ok: 1, f: () => 1 });
          else if (value === 'large') respond(new Uint8Array(8192));
          else respond(`reply to ${String(value)}`);
        });
        const unserializable = await rejectsWith(requester.request('function'), ErrorCode.REMOTE);
        expect(unserializable.cause).toMatchObject({ name: 'DataSocketError', message: 'a function cannot be sent' });
        expect(unserializable.message).toBe("the peer's request handler failed: DataSocketError: a function cannot be sent");
        const large = await rejectsWith(requester.request('large'), ErrorCode.REMOTE);
        expect((large.cause as Error).name).toBe('DataSocketError');
        expect((large.cause as Error).message).toMatch(/maxFrameBytes/);
        await expect(requester.request('next')).resolves.toBe('reply to next');
        expect(relay!.kinds(answers)).toEqual([FrameKind.FAILURE, FrameKind.VALUE, FrameKind.FAILURE, FrameKind.VALUE, FrameKind.REPLY, FrameKind.VALUE]);
      });

      it('respond() a second time throws ERR_DATASOCKET_INVALID_ARGUMENT; the first reply is the one delivered', async () => {
        const { requester, responder } = await pairOf();
        const second: unknown[] = [];
        responder.on('request', (_value: unknown, respond) => {
          respond('first');
          try {
            respond('second');
          } catch (error) {
            second.push(error);
          }
        });
        await expect(requester.request('x')).resolves.toBe('first');
        expect(second).toHaveLength(1);
        expect(second[0]).toBeInstanceOf(DataSocketError);
        expect(second[0]).toMatchObject({
          code: ErrorCode.INVALID_ARGUMENT,
          message: 'respond() was called already for this request: a request is answered once',
        });
      });

      it('an unsendable request value (unserializable, or above maxFrameBytes) rejects that request only, sends nothing, and the stream stays usable', async () => {
        const { requester, responder, relay, asks } = await pairOf({ relay: true, ...direction.sides({ maxFrameBytes: 4096 }, {}) });
        const asked: unknown[] = [];
        responder.on('request', (value: unknown, respond) => {
          asked.push(value);
          respond('ok');
        });
        let unserializable!: Promise<unknown>;
        expect(() => (unserializable = requester.request({ f: () => 1 }))).not.toThrow();
        expect((await rejectsWith(unserializable, ErrorCode.UNSERIALIZABLE)).message).toBe('a function cannot be sent');
        await rejectsWith(requester.request({ s: Symbol('no') }), ErrorCode.UNSERIALIZABLE);
        await rejectsWith(requester.request(new Uint8Array(8192)), ErrorCode.FRAME_TOO_LARGE);
        const arrived = once(responder, 'data');
        requester.send('a value');
        expect(await arrived).toBe('a value');
        await expect(requester.request('fine')).resolves.toBe('ok');
        expect(asked).toEqual(['fine']);
        expect(relay!.kinds(asks)).toEqual([FrameKind.VALUE, FrameKind.REQUEST, FrameKind.VALUE]);
      });

      it('requests and data values keep one order: interleaved send() and request() arrive as sent', async () => {
        const { requester, responder } = await pairOf();
        const arrivals: string[] = [];
        responder.on('data', (value: unknown) => arrivals.push(`data ${String(value)}`));
        responder.on('request', (value: unknown, respond) => {
          arrivals.push(`request ${String(value)}`);
          respond(value);
        });
        const expected: string[] = [];
        const replies: Promise<unknown>[] = [];
        for (let i = 0; i < 200; i++) {
          // A varying mix: one or two values between requests, sometimes two requests in a row.
          for (let k = 0; k < (i % 3); k++) {
            requester.send(`${i}.${k}`);
            expected.push(`data ${i}.${k}`);
          }
          replies.push(requester.request(i));
          expected.push(`request ${i}`);
        }
        requester.send('last');
        expected.push('data last');
        expect(await Promise.all(replies)).toEqual(Array.from({ length: 200 }, (_, i) => i));
        await until(() => arrivals.length === expected.length);
        expect(arrivals).toEqual(expected);
      });

      it('replies and data values keep one order on the wire: a reply sent before a value crosses before it', async () => {
        const { requester, responder, relay, answers } = await pairOf({ relay: true });
        responder.on('request', (value: unknown, respond) => {
          respond(value);
          responder.send(`after ${String(value)}`);
        });
        const values: unknown[] = [];
        requester.on('data', (value: unknown) => values.push(value));
        await Promise.all([1, 2, 3].map((n) => requester.request(n)));
        await until(() => values.length === 3);
        expect(values).toEqual(['after 1', 'after 2', 'after 3']);
        const pairs = [FrameKind.REPLY, FrameKind.VALUE, FrameKind.VALUE];
        expect(relay!.kinds(answers)).toEqual([...pairs, ...pairs, ...pairs]);
      });

      it("'sent' fires for send() only, never for a request or a reply", async () => {
        const { requester, responder } = await pairOf();
        let requesterSent = 0;
        let responderSent = 0;
        requester.on('sent', () => requesterSent++);
        responder.on('sent', () => responderSent++);
        responder.on('request', (value: unknown, respond) => respond(value));
        requester.send('one');
        await Promise.all([1, 2, 3, 4, 5].map((n) => requester.request(n)));
        requester.send('two');
        responder.send('three');
        // Each side's last 'sent' comes after everything it wrote before it.
        await until(() => requesterSent === 2 && responderSent === 1);
        await sleep(50);
        expect(requesterSent).toBe(2);
        expect(responderSent).toBe(1);
      });
    });
  }

  describe(`§10 requests before connect, over ${transport.name}`, () => {
    it('requests made while the client is connecting are queued and answered once it is accepted, in order with send()', async () => {
      const endpoint = transport.endpoint();
      const arrivals: string[] = [];
      const listener = track(
        DataSocket.listen(
          async (connection) => {
            track(connection);
            connection.on('data', (value: unknown) => arrivals.push(`data ${String(value)}`));
            connection.on('request', (value: unknown, respond) => {
              arrivals.push(`request ${String(value)}`);
              respond(`reply to ${String(value)}`);
            });
            await sleep(50);
            return true;
          },
          endpoint.name,
          endpoint.port,
        ),
      );
      await listening(listener);
      const client = track(DataSocket.connect(listener.address.name, listener.address.port));
      expect(client.state).toBe('connecting');
      client.send('v1');
      const first = client.request('r1');
      client.send('v2');
      const second = client.request('r2');
      expect(client.state).toBe('connecting');
      expect(await Promise.all([first, second])).toEqual(['reply to r1', 'reply to r2']);
      await until(() => arrivals.length === 4);
      expect(arrivals).toEqual(['data v1', 'request r1', 'data v2', 'request r2']);
    });

    it('an accepted connection may request from inside its acceptor: the request goes out once accepted', async () => {
      const endpoint = transport.endpoint();
      const replies: Promise<unknown>[] = [];
      const listener = track(
        DataSocket.listen(
          (connection) => {
            track(connection);
            expect(connection.state).toBe('connecting');
            replies.push(connection.request('from the acceptor'));
            return true;
          },
          endpoint.name,
          endpoint.port,
        ),
      );
      await listening(listener);
      const client = track(DataSocket.connect(listener.address.name, listener.address.port));
      client.on('request', (value: unknown, respond) => respond(`client got: ${String(value)}`));
      await until(() => replies.length === 1);
      await expect(replies[0]).resolves.toBe('client got: from the acceptor');
    });

    it("requests queued on a client the acceptor refuses reject with ERR_DATASOCKET_CLOSED, the refusal (ERR_DATASOCKET_REJECTED) as cause", async () => {
      const endpoint = transport.endpoint();
      const listener = track(DataSocket.listen(() => false, endpoint.name, endpoint.port));
      await listening(listener);
      const client = track(DataSocket.connect(listener.address.name, listener.address.port));
      const events = record(client);
      const error = await rejectsWith(client.request('refused'), ErrorCode.CLOSED);
      await events.closed;
      expect(events.log).toEqual([`error:${ErrorCode.REJECTED}`, 'close']);
      expect(error.cause).toBe(events.errors[0]);
    });

    it('requests queued on a client closed before it connected reject with ERR_DATASOCKET_CLOSED, without a cause', async () => {
      const endpoint = transport.endpoint();
      const listener = track(DataSocket.listen(() => true, endpoint.name, endpoint.port));
      await listening(listener);
      const client = track(DataSocket.connect(listener.address.name, listener.address.port));
      const pending = client.request('dropped');
      client.close();
      const error = await rejectsWith(pending, ErrorCode.CLOSED);
      expect(error.message).toBe('the request got no reply: the socket closed');
      expect(error.cause).toBeUndefined();
    });
  });
}

describe('§10 wrong uses of request() reject with ERR_DATASOCKET_INVALID_ARGUMENT, never throw', () => {
  it('a listener cannot request', async () => {
    const listener = track(DataSocket.listen(() => true, uniqueName('req')));
    await listening(listener);
    let pending!: Promise<unknown>;
    expect(() => (pending = listener.request('from a listener'))).not.toThrow();
    const error = await rejectsWith(pending, ErrorCode.INVALID_ARGUMENT);
    expect(error.message).toBe('a listening DataSocket cannot request; request on the connections it accepts');
  });

  const BAD_OPTIONS: [string, unknown, string][] = [
    ['options that are not an object', 'fast', 'request() options must be an object'],
    ['null options', null, 'request() options must be an object'],
    ['an array of options', [], 'request() options must be an object'],
    ['an unknown option', { retries: 3 }, "unknown request() option 'retries'"],
    ['timeoutMs 0', { timeoutMs: 0 }, "'timeoutMs' must be an integer from 1 to 2147483647, not 0"],
    ['a negative timeoutMs', { timeoutMs: -5 }, "'timeoutMs' must be an integer from 1 to 2147483647, not -5"],
    ['a fractional timeoutMs', { timeoutMs: 1.5 }, "'timeoutMs' must be an integer from 1 to 2147483647, not 1.5"],
    ['a timeoutMs above 2^31 - 1', { timeoutMs: 2 ** 31 }, `'timeoutMs' must be an integer from 1 to 2147483647, not ${2 ** 31}`],
    ['a string timeoutMs', { timeoutMs: '100' }, '\'timeoutMs\' must be an integer from 1 to 2147483647, not "100"'],
    ['a signal that is not an AbortSignal', { signal: { aborted: false } }, "'signal' must be an AbortSignal"],
    ['a schema that is not a Standard Schema', { schema: { parse: (v: unknown) => v } }, "'schema' must be a Standard Schema v1 validator (zod 4, valibot, arktype…)"],
  ];

  for (const [what, options, message] of BAD_OPTIONS) {
    it(`refuses ${what}, and sends nothing`, async () => {
      let asked = 0;
      let server!: DataSocket;
      const listener = track(
        DataSocket.listen((connection) => {
          server = track(connection);
          connection.on('request', (_value: unknown, respond) => {
            asked++;
            respond('ok');
          });
          return true;
        }, uniqueName('req')),
      );
      await listening(listener);
      const client = track(DataSocket.connect(listener.address.name));
      await once(client, 'connect');
      let pending!: Promise<unknown>;
      expect(() => (pending = requestWith(client, 'x', options))).not.toThrow();
      const error = await rejectsWith(pending, ErrorCode.INVALID_ARGUMENT);
      expect(error.message).toBe(message);
      await expect(client.request('valid')).resolves.toBe('ok');
      expect(asked).toBe(1);
      expect(server.state).toBe('open');
    });
  }
});
