/**
 * §10 and §12 for a page's sockets: the page's core sends requests, answers them and
 * checks its schema; main's host relays REQUEST, REPLY and FAILURE frames like any
 * other frame and decodes none. Real host and client over a message channel, real
 * sockets, Node peers in this process and in another.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { DataSocket as NodeDataSocket, DataSocketError, ErrorCode } from '../../../src/index.js';
import type { PageDataSocket } from '../../../src/renderer/client.js';
import type { DataSocketCore } from '../../../src/shared/socket-core.js';
import { FRAME_HEADER_BYTES, FrameKind, HELLO_BYTES, HelloFlag, writeFrameHeader } from '../../../src/shared/protocol.js';
import { bridgedPage } from '../../helpers/bridge.js';
import { useCleanup } from '../../helpers/cleanup.js';
import { foreignListener as foreignListenerAt } from '../../helpers/foreign-listener.js';
import { recordingRelay } from '../../helpers/relay.js';
import { rejection } from '../../helpers/rejection.js';
import { runtimeImports } from '../../helpers/runtime-imports.js';
import { listening, observe, record, sleep, uniqueName, until } from '../../helpers/sockets.js';

type Page = ReturnType<typeof bridgedPage>;
/** Either end: Node's DataSocket or a page's. */
type Socket = DataSocketCore;
type Respond = (reply: unknown) => void;

const { track, spawn } = useCleanup();

function page(): Page {
  return track(bridgedPage());
}

/** The requester is the page's client and a Node listener's connection answers, or a Node client requests and a page's accepted connection answers. */
const DIRECTIONS = ['page → Node', 'Node → page'] as const;
type Direction = (typeof DIRECTIONS)[number];

/**
 * A requester and a responder joined through the host, both open. `answer` sets up the
 * responder before any of its bytes arrive; `early` runs on the requester right after
 * connect(), while it is still connecting.
 */
async function pair(direction: Direction, answer?: (responder: Socket) => void, early?: (requester: Socket) => void) {
  const p = page();
  let responder: Socket | undefined;
  let requester: Socket;
  if (direction === 'page → Node') {
    const listener = track(
      NodeDataSocket.listen((connection) => {
        responder = track(connection);
        answer?.(connection);
        return true;
      }, uniqueName('req')),
    );
    await listening(listener);
    requester = p.DataSocket.connect(listener.address.name);
  } else {
    const listener = p.DataSocket.listen((connection) => {
      responder = connection;
      answer?.(connection);
      return true;
    }, uniqueName('req'));
    await listening(listener as never);
    requester = track(NodeDataSocket.connect(listener.address.name));
  }
  early?.(requester);
  const events = observe(requester);
  await until(() => requester.state === 'open' && responder?.state === 'open');
  return { page: p, requester, responder: responder!, events };
}

/** A responder that echoes every request. */
function echo(responder: Socket): void {
  responder.on('request', (value: unknown, respond: Respond) => respond(value));
}

for (const direction of DIRECTIONS) {
  describe(`§10 requests ${direction}, through main's host`, () => {
    it('a request resolves with the reply, values of §3 both ways', async () => {
      const { requester } = await pair(direction, (r) =>
        r.on('request', (value: unknown, respond: Respond) => respond({ got: value, at: new Date(5), bytes: Uint8Array.of(1, 2), big: 2n ** 70n })),
      );
      const reply = await requester.request(new Map<unknown, unknown>([['q', 1n], [2, new Set(['s'])]]));
      expect(reply).toStrictEqual({ got: new Map<unknown, unknown>([['q', 1n], [2, new Set(['s'])]]), at: new Date(5), bytes: Uint8Array.of(1, 2), big: 2n ** 70n });
    });

    it('a handler may respond with a Promise; each request gets its own reply, whatever order they settle in', async () => {
      const { requester } = await pair(direction, (r) =>
        r.on('request', (value: unknown, respond: Respond) => {
          const n = value as number;
          respond(new Promise((resolve) => setTimeout(() => resolve(n * 10), n === 1 ? 60 : 0)));
        }),
      );
      expect(await Promise.all([1, 2, 3].map((n) => requester.request(n)))).toEqual([10, 20, 30]);
    });

    it('an async handler may respond after awaiting', async () => {
      const { requester } = await pair(direction, (r) =>
        r.on('request', async (value: unknown, respond: Respond) => {
          await sleep(10);
          respond(`later: ${String(value)}`);
        }),
      );
      await expect(requester.request('x')).resolves.toBe('later: x');
    });

    it('rejects with ERR_DATASOCKET_TIMEOUT at timeoutMs; the late reply is dropped and the connection carries on', async () => {
      let lateSent = false;
      const { requester, events } = await pair(direction, (r) =>
        r.on('request', (value: unknown, respond: Respond) => {
          if (value !== 'slow') return respond(value);
          setTimeout(() => {
            respond('late');
            lateSent = true;
            // Behind the late reply in the one ordered stream: once this arrived, so did it.
            r.send('after the late reply');
          }, 150);
        }),
      );
      const started = Date.now();
      const error = await rejection(requester.request('slow', { timeoutMs: 40 }));
      expect(error).toBeInstanceOf(DataSocketError);
      expect(error.code).toBe(ErrorCode.TIMEOUT);
      expect(Date.now() - started).toBeGreaterThanOrEqual(35);
      expect(lateSent).toBe(false);
      await until(() => events.values.length === 1);
      expect(lateSent).toBe(true);
      expect(events.values).toEqual(['after the late reply']);
      expect(events.log).toEqual(['connect']);
      await expect(requester.request('fast')).resolves.toBe('fast');
    });

    it("abort: rejects with the signal's reason (as fetch does), an AbortError without one; an aborted signal sends nothing; late replies are dropped", async () => {
      const seen: unknown[] = [];
      const { requester, events } = await pair(direction, (r) =>
        r.on('request', (value: unknown, respond: Respond) => {
          seen.push(value);
          setTimeout(() => {
            respond(`late ${String(value)}`);
            r.send(`after ${String(value)}`);
          }, 80);
        }),
      );
      const controller = new AbortController();
      const reason = new Error('the user gave up');
      const pending = requester.request('first', { signal: controller.signal });
      setTimeout(() => controller.abort(reason), 20);
      await expect(pending).rejects.toBe(reason);

      const plain = new AbortController();
      const second = requester.request('second', { signal: plain.signal });
      plain.abort();
      expect(await rejection(second)).toMatchObject({ name: 'AbortError' });

      await expect(requester.request('never sent', { signal: AbortSignal.abort('too late') })).rejects.toBe('too late');
      await until(() => events.values.length === 2);
      expect(events.values).toEqual(['after first', 'after second']);
      expect(seen).toEqual(['first', 'second']);
      expect(events.log).toEqual(['connect']);
    });

    it('ERR_DATASOCKET_NO_HANDLER when the other side has no request handler; the connection stays open', async () => {
      const received: unknown[] = [];
      const { requester } = await pair(direction, (r) => r.on('data', (value: unknown) => received.push(value)));
      const error = await rejection(requester.request('anyone?'));
      expect(error).toBeInstanceOf(DataSocketError);
      expect(error.code).toBe(ErrorCode.NO_HANDLER);
      requester.send('still open');
      await until(() => received.length === 1);
      expect(received).toEqual(['still open']);
    });

    it("ERR_DATASOCKET_REMOTE with the remote error (name and message) as cause when the handler throws or its Promise rejects", async () => {
      const { requester } = await pair(direction, (r) =>
        r.on('request', async (value: unknown, respond: Respond) => {
          switch (value) {
            case 'throw':
              throw new TypeError('bad input');
            case 'reply with a rejected Promise':
              respond(Promise.reject(new RangeError('out of range')));
              return;
            case 'throw a string':
              throw 'just words';
            default:
              await sleep(5);
              throw new SyntaxError('async failure');
          }
        }),
      );
      for (const [value, name, message] of [
        ['throw', 'TypeError', 'bad input'],
        ['reply with a rejected Promise', 'RangeError', 'out of range'],
        ['throw a string', 'Error', 'just words'],
        ['reject later', 'SyntaxError', 'async failure'],
      ] as const) {
        const error = await rejection(requester.request(value));
        expect(error).toBeInstanceOf(DataSocketError);
        expect(error.code).toBe(ErrorCode.REMOTE);
        expect(error.message).toContain(message);
        expect(error.cause).toBeInstanceOf(Error);
        expect(error.cause).toMatchObject({ name, message });
      }
      expect(requester.state).toBe('open');
    });

    it('respond answers once: a second call throws ERR_DATASOCKET_INVALID_ARGUMENT and the requester gets the first reply', async () => {
      const second: unknown[] = [];
      const { requester } = await pair(direction, (r) =>
        r.on('request', (_value: unknown, respond: Respond) => {
          respond('first');
          try {
            respond('second');
          } catch (error) {
            second.push(error);
          }
        }),
      );
      await expect(requester.request('once')).resolves.toBe('first');
      expect(second).toHaveLength(1);
      expect(second[0]).toMatchObject({ code: ErrorCode.INVALID_ARGUMENT });
    });

    it('an unserializable value or reply fails that request only: nothing is sent for it', async () => {
      const seen: unknown[] = [];
      const { requester } = await pair(direction, (r) =>
        r.on('request', (value: unknown, respond: Respond) => {
          seen.push(value);
          respond(value === 'give me a function' ? { f: () => 1 } : value);
        }),
      );
      expect(await rejection(requester.request({ f: () => 1 }))).toMatchObject({ code: ErrorCode.UNSERIALIZABLE });
      const remote = await rejection(requester.request('give me a function'));
      expect(remote.code).toBe(ErrorCode.REMOTE);
      expect(remote.cause).toMatchObject({ name: 'DataSocketError' });
      await expect(requester.request('fine')).resolves.toBe('fine');
      expect(seen).toEqual(['give me a function', 'fine']);
    });

    it('requests, replies and data values keep one order', async () => {
      const order: string[] = [];
      const { requester } = await pair(direction, (r) =>
        r
          .on('data', (value: unknown) => order.push(`data ${String(value)}`))
          .on('request', (value: unknown, respond: Respond) => {
            order.push(`request ${String(value)}`);
            r.send(`before reply ${String(value)}`);
            respond(value);
          }),
      );
      const got: string[] = [];
      requester.on('data', (value: unknown) => got.push(String(value)));
      const settled = (promise: Promise<unknown>) => promise.then((reply) => ({ reply, dataBefore: [...got] }));
      requester.send(1);
      const a = settled(requester.request(2));
      requester.send(3);
      const b = settled(requester.request(4));
      expect(await a).toEqual({ reply: 2, dataBefore: expect.arrayContaining(['before reply 2']) });
      expect(await b).toEqual({ reply: 4, dataBefore: ['before reply 2', 'before reply 4'] });
      expect(order).toEqual(['data 1', 'request 2', 'data 3', 'request 4']);
    });

    it('requests made before connect are queued and sent, in order with data, once it opens', async () => {
      const order: unknown[] = [];
      let queued: Promise<unknown>[] = [];
      const { requester } = await pair(
        direction,
        (r) => {
          r.on('data', (value: unknown) => order.push(value));
          r.on('request', (value: unknown, respond: Respond) => {
            order.push(value);
            respond(`re: ${String(value)}`);
          });
        },
        (early) => {
          expect(early.state).toBe('connecting');
          queued = [early.request('q1'), early.request('q2')];
          early.send('d3');
        },
      );
      expect(await Promise.all(queued)).toEqual(['re: q1', 're: q2']);
      await until(() => order.length === 3);
      expect(order).toEqual(['q1', 'q2', 'd3']);
      expect(requester.state).toBe('open');
    });
  });
}

describe('§10 a listener cannot request', () => {
  it("a page's listener: request() rejects with ERR_DATASOCKET_INVALID_ARGUMENT", async () => {
    const p = page();
    const listener = p.DataSocket.listen(() => true, uniqueName('req'));
    await listening(listener as never);
    expect(await rejection(listener.request('x'))).toMatchObject({ code: ErrorCode.INVALID_ARGUMENT });
    expect(listener.state).toBe('listening');
  });
});

describe("§10 a page's pending requests when the connection goes", () => {
  it("reject with ERR_DATASOCKET_CLOSED when main's bridge shuts down, the socket's error (the bridge is gone) as cause", async () => {
    const { page: p, requester } = await pair('page → Node', (r) => r.on('request', () => {}));
    const events = record(requester as never);
    const pending = [1, 2, 3].map((n) => rejection(requester.request(n)));
    await sleep(20);
    p.shutdown();
    const errors = await Promise.all(pending);
    await events.closed;
    expect(events.log).toEqual([`error:${ErrorCode.CLOSED}`, 'close']);
    for (const error of errors) {
      expect(error).toBeInstanceOf(DataSocketError);
      expect(error.code).toBe(ErrorCode.CLOSED);
      expect(error.cause).toBe(events.errors[0]);
    }
    expect(events.errors[0]!.message).toContain('bridge is gone');
    // A request after that fails at once too.
    expect(await rejection(requester.request(4))).toMatchObject({ code: ErrorCode.CLOSED });
  });

  it('1,000 requests pending at a peer process that is SIGKILLed all reject with ERR_DATASOCKET_CLOSED, the socket\u2019s error as cause; none hangs', async () => {
    const peer = spawn();
    await peer.run({ op: 'listen', name: uniqueName('req'), acceptor: 'yes', answer: 'never' });
    const at = ((await peer.next('listening', 'listener')) as { address: { name: string } }).address;
    const p = page();
    const requester = p.DataSocket.connect(at.name);
    const events = record(requester as never);
    const pending = Array.from({ length: 1000 }, (_, i) => rejection(requester.request({ i })));
    // Every request reached the peer and waits there.
    await until(() => peer.events.filter((e) => e.ev === 'request').length === 1000, 15_000);
    peer.kill('SIGKILL');
    const killed = Date.now();
    const errors = await Promise.all(pending);
    expect(Date.now() - killed).toBeLessThan(5_000);
    await events.closed;
    expect(errors.every((e) => e instanceof DataSocketError && e.code === ErrorCode.CLOSED)).toBe(true);
    expect(errors.every((e) => e.cause === events.errors[0])).toBe(true);
  });

  for (const [why, reason, cause] of [
    ['crashes', 'crashed', 'ECONNRESET'],
    ['navigates away', 'navigated', undefined],
  ] as const) {
    it(`a Node client's requests pending at a page reject with ERR_DATASOCKET_CLOSED when the page ${why} (cause: ${cause ?? 'none, a clean close'})`, async () => {
      const { page: p, requester } = await pair('Node → page', (r) => r.on('request', () => {}));
      const events = record(requester as never);
      const pending = [1, 2, 3].map((n) => rejection(requester.request(n)));
      await sleep(20);
      p.host.dispose(reason);
      const errors = await Promise.all(pending);
      await events.closed;
      for (const error of errors) {
        expect(error.code).toBe(ErrorCode.CLOSED);
        expect((error.cause as DataSocketError | undefined)?.code).toBe(cause);
        expect(error.cause).toBe(events.errors[0]);
      }
    });
  }
});

describe('§6 §10 data path: main relays request frames and never decodes a page payload', () => {
  it('the host loads no codec, no socket core and no request bookkeeping', () => {
    const names = runtimeImports('src/main/bridge/host.ts');
    expect(names).toContain('src/shared/frames.ts');
    expect(names.filter((n) => /codec|msgpackr|socket-core|requests/.test(n))).toEqual([]);
  });

  it("requests, replies and failures both ways cross byte for byte: what the page posted is what the peer got, and the peer's bytes are what the page got", async () => {
    const listener = track(
      NodeDataSocket.listen((connection) => {
        track(connection);
        connection.on('request', (value: unknown, respond: Respond) => {
          if (value === 'fail') throw new TypeError('as asked');
          respond({ echo: value, bytes: new Float64Array([1.5]) });
        });
        connection.on('connect', () => {
          void connection.request({ from: 'node', n: 1 }).then((reply) => connection.send({ pageSaid: reply }));
          void connection.request('no such thing').catch((error: DataSocketError) => connection.send({ pageFailed: error.code }));
        });
        return true;
      }, uniqueName('req')),
    );
    await listening(listener);
    const relay = await recordingRelay({ path: listener.address.path! });
    track(relay);
    const p = page();
    const client = p.DataSocket.connect(relay.at.name);
    const got: unknown[] = [];
    client.on('data', (value: unknown) => got.push(value));
    client.on('request', (value: unknown, respond: Respond) => {
      if (value === 'no such thing') throw new RangeError('nothing here');
      respond({ pageEcho: value });
    });
    const replies = await Promise.all([client.request(new Map([['k', 1]])), rejection(client.request('fail')), client.request(Uint8Array.of(9, 8))]);
    expect(replies[0]).toStrictEqual({ echo: new Map([['k', 1]]), bytes: new Float64Array([1.5]) });
    expect(replies[1]).toMatchObject({ code: ErrorCode.REMOTE, cause: { name: 'TypeError', message: 'as asked' } });
    await until(() => got.length === 2);
    expect(got).toEqual(expect.arrayContaining([{ pageSaid: { pageEcho: { from: 'node', n: 1 } } }, { pageFailed: ErrorCode.REMOTE }]));
    await sleep(30);
    const posted = Buffer.concat(p.toHost.flatMap((m) => (m.t === 'send' ? [Buffer.from(m.bytes)] : [])));
    const delivered = Buffer.concat(p.fromHost.flatMap((m) => (m.t === 'data' ? [Buffer.from(m.bytes)] : [])));
    expect(relay.bytes('toListener').equals(posted)).toBe(true);
    expect(relay.bytes('toClient').equals(delivered)).toBe(true);
    // Each way: three requests, or two replies and a failure, and the other side's answers.
    expect(relay.count('toListener', FrameKind.REQUEST)).toBe(3);
    expect(relay.count('toListener', FrameKind.REPLY)).toBe(1);
    expect(relay.count('toListener', FrameKind.FAILURE)).toBe(1);
    expect(relay.count('toClient', FrameKind.REQUEST)).toBe(2);
    expect(relay.count('toClient', FrameKind.REPLY)).toBe(2);
    expect(relay.count('toClient', FrameKind.FAILURE)).toBe(1);
  });
});

describe("§12 a page's schema", () => {
  const Point = z.object({ x: z.number(), y: z.number() });

  it('checks every value the page receives; one that fails closes that connection with ERR_DATASOCKET_INVALID_VALUE (the issues in the message) and is never delivered', async () => {
    const listener = track(
      NodeDataSocket.listen((connection) => {
        track(connection);
        connection.on('connect', () => {
          connection.send({ x: 1, y: 2 });
          connection.send({ x: 'three', y: 4 });
          connection.send({ x: 5, y: 6 });
        });
        return true;
      }, uniqueName('schema')),
    );
    await listening(listener);
    const p = page();
    const client = p.DataSocket.connect(listener.address.name, { schema: Point });
    const events = record(client as never);
    await events.closed;
    expect(events.log).toEqual(['connect', 'data', `error:${ErrorCode.INVALID_VALUE}`, 'close']);
    expect(events.values).toEqual([{ x: 1, y: 2 }]);
    expect(events.errors[0]!.message).toMatch(/x: .*expected number/);
    // The schema checks values in the page; main never sees it.
    const connect = p.toHost.find((m) => m.t === 'connect');
    expect(connect?.t === 'connect' && 'schema' in connect.options).toBe(false);
    await until(() => p.host.size === 0);
  });

  it("checks every request the page receives: one that fails closes the connection, and the Node requester's request rejects with ERR_DATASOCKET_CLOSED", async () => {
    const p = page();
    const handled: unknown[] = [];
    let accepted!: PageDataSocket;
    const listener = p.DataSocket.listen(
      (connection) => {
        accepted = connection;
        connection.on('request', (value: unknown, respond: Respond) => {
          handled.push(value);
          respond('ok');
        });
        return true;
      },
      uniqueName('schema'),
      { schema: Point },
    );
    await listening(listener as never);
    const node = track(NodeDataSocket.connect(listener.address.name));
    await expect(node.request({ x: 1, y: 1 })).resolves.toBe('ok');
    const acceptedEvents = record(accepted as never);
    const error = await rejection(node.request({ x: 1 }));
    expect(error.code).toBe(ErrorCode.CLOSED);
    await acceptedEvents.closed;
    expect(acceptedEvents.log).toEqual([`error:${ErrorCode.INVALID_VALUE}`, 'close']);
    expect(acceptedEvents.errors[0]!.message).toContain('y');
    expect(handled).toEqual([{ x: 1, y: 1 }]);
  });

  it("a page listener's schema: a value that fails closes that connection only; the listener and its other connections carry on", async () => {
    const p = page();
    const connections: { socket: PageDataSocket; events: ReturnType<typeof record> }[] = [];
    const listener = p.DataSocket.listen(
      (connection) => {
        connections.push({ socket: connection, events: record(connection as never) });
        return true;
      },
      uniqueName('schema'),
      { schema: Point },
    );
    await listening(listener as never);
    const good = track(NodeDataSocket.connect(listener.address.name));
    const bad = track(NodeDataSocket.connect(listener.address.name));
    const badEvents = record(bad);
    await until(() => connections.length === 2 && connections.every((c) => c.socket.state === 'open'));
    bad.send({ x: 'no', y: 0 });
    await badEvents.closed;
    good.send({ x: 7, y: 8 });
    await until(() => connections.some((c) => c.events.values.length === 1));
    const [failed, carriedOn] = connections[0]!.events.values.length === 1 ? [connections[1]!, connections[0]!] : [connections[0]!, connections[1]!];
    expect(failed.events.log).toEqual(['connect', `error:${ErrorCode.INVALID_VALUE}`, 'close']);
    expect(carriedOn.events.log).toEqual(['connect', 'data']);
    expect(carriedOn.events.values).toEqual([{ x: 7, y: 8 }]);
    expect(listener.state).toBe('listening');
    expect(good.state).toBe('open');
  });

  it("request(value, { schema }) in the page: the reply is what the schema delivers; one that fails rejects that request only with ERR_DATASOCKET_INVALID_VALUE", async () => {
    const { requester } = await pair('page → Node', echo);
    const length = z.string().transform((s) => s.length);
    await expect(requester.request('four', { schema: length })).resolves.toBe(4);
    const error = await rejection(requester.request(4, { schema: length }));
    expect(error).toBeInstanceOf(DataSocketError);
    expect(error.code).toBe(ErrorCode.INVALID_VALUE);
    expect(requester.state).toBe('open');
    await expect(requester.request('still fine')).resolves.toBe('still fine');
  });
});

/** One frame of `kind` with `body`. */
function frame(kind: number, body: Uint8Array = new Uint8Array(0), announced = body.length): Uint8Array {
  const bytes = new Uint8Array(FRAME_HEADER_BYTES + body.length);
  writeFrameHeader(bytes, 0, announced, kind);
  bytes.set(body, FRAME_HEADER_BYTES);
  return bytes;
}
/** A REQUEST, REPLY or FAILURE frame for request `id`. */
function prefix(kind: number, id: number, bodyBytes = 4): Uint8Array {
  const body = new Uint8Array(Math.max(bodyBytes, 4));
  new DataView(body.buffer).setUint32(0, id >>> 0);
  return frame(kind, body.subarray(0, bodyBytes));
}
/** A VALUE frame holding msgpack 42. */
const VALUE_42 = frame(FrameKind.VALUE, Uint8Array.of(0x2a));
/** The parts, one after another. */
function bytes(...parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(parts.flatMap((part) => [...part]));
}

/** The id of the page's connect() socket number `n` (1-based), as the page told the host. */
function clientId(p: Page, n = 1): number {
  const connects = p.toHost.filter((m) => m.t === 'connect');
  return connects[n - 1]!.id;
}

describe('§6 §10 a hostile page: request frames main will not relay', () => {
  /** A foreign listener that takes no requests: HELLO with LISTENER and PINGS only, then 56 00; it keeps what the client writes. */
  async function foreignListener() {
    const foreign = await foreignListenerAt(HelloFlag.LISTENER | HelloFlag.PINGS, 'req-');
    track(foreign.server);
    return foreign;
  }

  it("to a peer whose HELLO lacks REQUESTS: main says so on 'open', and the page's request() rejects with ERR_DATASOCKET_NO_HANDLER, sending nothing", async () => {
    const foreign = await foreignListener();
    const p = page();
    const client = p.DataSocket.connect(foreign.file);
    const events = record(client as never);
    await until(() => client.state === 'open');
    expect(p.fromHost.find((m) => m.t === 'open')).toMatchObject({ requests: false, pings: true });
    const error = await rejection(client.request('hello?'));
    expect(error.code).toBe(ErrorCode.NO_HANDLER);
    await sleep(50);
    expect(events.log).toEqual(['connect']);
    expect(p.toHost.filter((m) => m.t === 'send')).toEqual([]);
    expect(Buffer.concat(foreign.received).length).toBe(HELLO_BYTES);
  });

  for (const kind of [FrameKind.REQUEST, FrameKind.REPLY, FrameKind.FAILURE]) {
    it(`main refuses a ${kind === FrameKind.REQUEST ? 'REQUEST' : kind === FrameKind.REPLY ? 'REPLY' : 'FAILURE'} frame a page sends to such a peer: ERR_DATASOCKET_INVALID_ARGUMENT, and the peer never sees it`, async () => {
      const foreign = await foreignListener();
      const p = page();
      const client = p.DataSocket.connect(foreign.file);
      const events = record(client as never);
      await until(() => client.state === 'open');
      p.inject({ t: 'send', id: clientId(p), bytes: bytes(prefix(kind, 1), VALUE_42), count: 0 });
      await events.closed;
      expect(events.errors[0]!.code).toBe(ErrorCode.INVALID_ARGUMENT);
      expect(events.errors[0]!.message).toContain('REQUESTS');
      await sleep(30);
      expect(Buffer.concat(foreign.received).length).toBe(HELLO_BYTES);
    });
  }

  const MALFORMED: [string, Uint8Array[]][] = [
    ['two request frames in a row', [bytes(prefix(FrameKind.REQUEST, 1), prefix(FrameKind.REQUEST, 2), VALUE_42)]],
    ['a REPLY right after a REQUEST', [bytes(prefix(FrameKind.REQUEST, 1), prefix(FrameKind.REPLY, 1), VALUE_42)]],
    ['a request frame with a 3-byte body', [bytes(prefix(FrameKind.REQUEST, 1, 3), VALUE_42)]],
    ['a request frame with a 5-byte body', [bytes(prefix(FrameKind.REQUEST, 1, 5), VALUE_42)]],
    ['an empty FAILURE frame', [bytes(frame(FrameKind.FAILURE), VALUE_42)]],
    ['a request frame followed by END', [bytes(prefix(FrameKind.REQUEST, 1), frame(FrameKind.END))]],
    ['a request frame followed by PING', [bytes(prefix(FrameKind.REQUEST, 1), frame(FrameKind.PING), VALUE_42)]],
    ['a request frame ending a send, its value in the next send', [prefix(FrameKind.REQUEST, 1), VALUE_42]],
  ];
  for (const [what, sends] of MALFORMED) {
    it(`refuses ${what} to a peer that takes requests: ERR_DATASOCKET_INVALID_ARGUMENT, the peer gets nothing, the page can connect again`, async () => {
      const seen: string[] = [];
      const listener = track(
        NodeDataSocket.listen((connection) => {
          track(connection);
          connection.on('request', (value: unknown, respond: Respond) => {
            seen.push(`request ${String(value)}`);
            respond(value);
          });
          connection.on('data', (value: unknown) => seen.push(`data ${String(value)}`));
          return true;
        }, uniqueName('hostile')),
      );
      await listening(listener);
      const p = page();
      const client = p.DataSocket.connect(listener.address.name);
      const events = record(client as never);
      await until(() => client.state === 'open');
      for (const chunk of sends) p.inject({ t: 'send', id: clientId(p), bytes: chunk, count: 0 });
      await events.closed;
      expect(events.log).toEqual(['connect', `error:${ErrorCode.INVALID_ARGUMENT}`, 'close']);
      expect(events.errors[0]!.message).toMatch(/malformed frames/);
      const again = p.DataSocket.connect(listener.address.name);
      await expect(again.request('after')).resolves.toBe('after');
      expect(seen).toEqual(['request after']);
    });
  }
});
