import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DataSocket, DataSocketError, ErrorCode } from '../../../src/index.js';
import { useCleanup } from '../../helpers/cleanup.js';
import { listening, once, record, sleep, uniqueName, until } from '../../helpers/sockets.js';
import { expectThrows } from '../../helpers/rejection.js';

const { track } = useCleanup();

function accepting(name = uniqueName('api'), onConnection: (c: DataSocket) => void = () => {}): DataSocket {
  return track(
    DataSocket.listen((connection) => {
      track(connection);
      onConnection(connection);
      return true;
    }, name),
  );
}

describe('§2 connect and listen', () => {
  it('a listener starts connecting, then is listening with its final address', async () => {
    const name = uniqueName();
    const listener = accepting(name);
    expect(listener.state).toBe('connecting');
    expect(listener.active).toBe(false);
    await once(listener, 'listening');
    expect(listener.state).toBe('listening');
    expect(listener.active).toBe(true);
    expect(listener.address.name).toBe(name);
    expect(listener.address.path).toMatch(new RegExp(`${name}\\.sock$`));
  });

  it('a TCP listener on port 0 reports the real port, and a client reaches it', async () => {
    const listener = track(DataSocket.listen(() => true, '127.0.0.1', 0));
    await once(listener, 'listening');
    const port = listener.address.port!;
    expect(port).toBeGreaterThan(0);
    const client = track(DataSocket.connect('127.0.0.1', port));
    expect(client.state).toBe('connecting');
    expect(client.address).toEqual({ name: '127.0.0.1', port });
    await once(client, 'connect');
    expect(client.state).toBe('open');
    expect(client.active).toBe(true);
  });

  it('a client gets connect only after the acceptor said yes, and the accepted connection gets connect too', async () => {
    const order: string[] = [];
    let accepted!: DataSocket;
    const listener = track(
      DataSocket.listen(async (connection) => {
        accepted = track(connection);
        expect(connection.state).toBe('connecting');
        connection.on('connect', () => order.push('accepted:connect'));
        order.push('acceptor');
        await sleep(50);
        order.push('acceptor:yes');
        return true;
      }, uniqueName()),
    );
    await listening(listener);
    const client = track(DataSocket.connect(listener.address.name));
    client.on('connect', () => order.push('client:connect'));
    await once(client, 'connect');
    expect(order.filter((e) => e !== 'accepted:connect')).toEqual(['acceptor', 'acceptor:yes', 'client:connect']);
    expect(order).toContain('accepted:connect');
    expect(accepted.state).toBe('open');
  });

  it('values sent while connecting arrive, in order, after acceptance', async () => {
    const got: unknown[] = [];
    const listener = accepting(uniqueName(), (c) => c.on('data', (v) => got.push(v)));
    await listening(listener);
    const client = track(DataSocket.connect(listener.address.name));
    for (let i = 0; i < 100; i++) expect(client.send({ i })).toBe(true);
    expect(client.bufferedAmount).toBeGreaterThan(0);
    await once(client, 'connect');
    await until(() => got.length >= 100);
    expect(got).toEqual(Array.from({ length: 100 }, (_, i) => ({ i })));
  });

  it('accepted connections can send from inside the acceptor; it arrives after the client connects', async () => {
    const listener = track(
      DataSocket.listen((connection) => {
        track(connection).send('welcome');
        return true;
      }, uniqueName()),
    );
    await listening(listener);
    const client = track(DataSocket.connect(listener.address.name));
    const events = record(client);
    expect(await once(client, 'data')).toBe('welcome');
    expect(events.log.slice(0, 2)).toEqual(['connect', 'data']);
  });

  it('allows options in place of the port: connect(name, options)', async () => {
    const name = uniqueName();
    await listening(track(DataSocket.listen(() => true, name, { token: 't0ken' })));
    const client = track(DataSocket.connect(name, { token: 't0ken' }));
    const events = record(client);
    await once(client, 'connect');
    // The token was taken as an option: a listener that requires one let this client in.
    expect(events.errors).toEqual([]);
    expect(client.address).toMatchObject({ name });
    expect(client.address.port).toBeUndefined();
  });

  it('connects to an IPv6 loopback host written with brackets', async (ctx) => {
    const listener = track(DataSocket.listen(() => true, '::1', 0));
    const events = record(listener);
    await Promise.race([once(listener, 'listening'), events.closed]);
    if (listener.state !== 'listening') {
      expect(events.errors[0]!.code).toBe('EADDRNOTAVAIL');
      ctx.skip(); // this machine has no IPv6 loopback
    }
    const client = track(DataSocket.connect('[::1]', listener.address.port));
    await once(client, 'connect');
    expect(client.address).toEqual({ name: '[::1]', port: listener.address.port });
  });
});

describe('§2 wrong arguments throw ERR_DATASOCKET_INVALID_ARGUMENT at the call', () => {
  const bad: [string, () => unknown][] = [
    ['a name that is not a string', () => DataSocket.connect(42 as unknown as string)],
    ['an empty name', () => DataSocket.connect('')],
    ['a name with a slash that is not absolute', () => DataSocket.connect('a/b')],
    ['a name with spaces', () => DataSocket.connect('my app')],
    ['a name with a NUL', () => DataSocket.connect('/tmp/a\0b')],
    ['a port below 1 for connect', () => DataSocket.connect('127.0.0.1', 0)],
    ['a negative port', () => DataSocket.listen(() => true, '127.0.0.1', -1)],
    ['a port above 65535', () => DataSocket.connect('127.0.0.1', 65536)],
    ['a fractional port', () => DataSocket.connect('127.0.0.1', 80.5)],
    ['a port given as a string', () => DataSocket.connect('127.0.0.1', '80' as unknown as number)],
    ['an unknown option', () => DataSocket.connect('x', { maxFrameByte: 1 } as never)],
    ['a negative maxFrameBytes', () => DataSocket.connect('x', { maxFrameBytes: -1 })],
    ['maxFrameBytes above the u32 frame limit', () => DataSocket.connect('x', { maxFrameBytes: 2 ** 32 })],
    ['a string timeout', () => DataSocket.connect('x', { handshakeTimeoutMs: '5' as unknown as number })],
    ['an empty token', () => DataSocket.connect('x', { token: '' })],
    ['a token that is not a string', () => DataSocket.connect('x', { token: 5 as unknown as string })],
    ['tls that is not an object', () => DataSocket.connect('x', 1, { tls: true as never })],
    ['options that are not an object', () => DataSocket.connect('x', 1, 'fast' as never)],
    ['an acceptor that is not a function', () => DataSocket.listen(true as never, uniqueName())],
    ['a host with a slash', () => DataSocket.connect('a/b', 80)],
    ['new DataSocket() instead of connect/listen', () => new (DataSocket as unknown as new () => unknown)()],
  ];
  for (const [what, call] of bad) {
    it(`refuses ${what}`, () => {
      expectThrows(call, ErrorCode.INVALID_ARGUMENT);
    });
  }

  it('refuses unknown event names and non-function handlers', () => {
    const socket = track(DataSocket.connect(uniqueName()));
    socket.on('error', () => {});
    expectThrows(() => socket.on('recieve' as 'data', () => {}), ErrorCode.INVALID_ARGUMENT);
    expectThrows(() => socket.on('data', 'f' as never), ErrorCode.INVALID_ARGUMENT);
    expectThrows(() => socket.on('data.' as 'data', () => {}), ErrorCode.INVALID_ARGUMENT);
    expectThrows(() => socket.on('.ns' as 'data', () => {}), ErrorCode.INVALID_ARGUMENT);
    expectThrows(() => socket.off(3 as never), ErrorCode.INVALID_ARGUMENT);
  });

  it('refuses send on a listener', async () => {
    const listener = accepting();
    expectThrows(() => listener.send(1), ErrorCode.INVALID_ARGUMENT);
  });
});

describe('§2 events: on, once, off with namespaces', () => {
  async function pair(): Promise<{ client: DataSocket; server: DataSocket }> {
    let server!: DataSocket;
    const listener = accepting(uniqueName(), (c) => (server = c));
    await listening(listener);
    const client = track(DataSocket.connect(listener.address.name));
    await once(client, 'connect');
    await until(() => server?.state === 'open');
    return { client, server };
  }

  it('on/once/off return the same socket, so calls chain', async () => {
    const { client } = await pair();
    const f = (): void => {};
    expect(client.on('data', f)).toBe(client);
    expect(client.once('data', f)).toBe(client);
    expect(client.off(f)).toBe(client);
    expect(client.off('data')).toBe(client);
    expect(client.on('data.ns', f).off('.ns').on('close', f)).toBe(client);
  });

  it("'receive' is another name for 'data'", async () => {
    const { client, server } = await pair();
    const got = once(client, 'receive');
    server.send('via receive');
    expect(await got).toBe('via receive');
  });

  it('off(name), off(name.ns), off(.ns) and off(f) remove exactly what they say', async () => {
    const { client, server } = await pair();
    const calls: string[] = [];
    const plain = (): number => calls.push('plain');
    const chat = (): number => calls.push('chat');
    const chat2 = (): number => calls.push('chat2');
    const other = (): number => calls.push('other');
    const roundTrip = async (): Promise<string[]> => {
      calls.length = 0;
      const done = once(client, 'data');
      server.send('x');
      await done;
      return [...calls].sort();
    };
    client.on('data', plain).on('data.chat', chat).on('data.chat', chat2).on('data.other', other);
    expect(await roundTrip()).toEqual(['chat', 'chat2', 'other', 'plain']);
    client.off('data.chat');
    expect(await roundTrip()).toEqual(['other', 'plain']);
    client.on('data.chat', chat).on('sent.chat', chat);
    client.off('.chat');
    expect(await roundTrip()).toEqual(['other', 'plain']);
    client.on('data.x', plain).on('close.x', plain);
    client.off(plain);
    expect(await roundTrip()).toEqual(['other']);
    client.off('data');
    expect(await roundTrip()).toEqual([]);
  });

  it('once fires a single time; off(f) also removes a once handler', async () => {
    const { client, server } = await pair();
    let n = 0;
    const f = (): void => {
      n++;
    };
    client.once('data', f);
    let seen = 0;
    client.on('data', () => seen++);
    server.send(1);
    server.send(2);
    await until(() => seen >= 2);
    expect(n).toBe(1);
    client.once('data', f).off(f);
    server.send(3);
    await until(() => seen >= 3);
    expect(n).toBe(1);
  });

  it('a handler that throws does not stop the socket: later handlers and values still arrive', async () => {
    const { client, server } = await pair();
    const errors: unknown[] = [];
    const onUncaught = (error: unknown): void => {
      errors.push(error);
    };
    // vitest reports uncaught errors as failures; take them over for this test.
    const previous = process.listeners('uncaughtException');
    process.removeAllListeners('uncaughtException');
    process.on('uncaughtException', onUncaught);
    try {
      const got: unknown[] = [];
      client.on('data', () => {
        throw new Error('handler bug');
      });
      client.on('data', (v) => got.push(v));
      server.send(1);
      server.send(2);
      await until(() => got.length >= 2);
      await sleep(10);
      expect(got).toEqual([1, 2]);
      expect(errors.map((e) => (e as Error).message)).toEqual(['handler bug', 'handler bug']);
      expect(client.state).toBe('open');
    } finally {
      process.removeListener('uncaughtException', onUncaught);
      for (const l of previous) process.on('uncaughtException', l);
    }
  });
});

describe('§2 send, sent, backpressure', () => {
  it("emits one 'sent' per send(), after the bytes reached the OS, with the queue only shrinking", async () => {
    const listener = accepting();
    await listening(listener);
    const client = track(DataSocket.connect(listener.address.name));
    const buffered: number[] = [];
    client.on('sent', () => buffered.push(client.bufferedAmount));
    for (let i = 0; i < 500; i++) client.send({ i });
    const queued = client.bufferedAmount;
    expect(buffered).toEqual([]);
    await once(client, 'connect');
    await until(() => buffered.length >= 500);
    await sleep(20);
    expect(buffered).toHaveLength(500);
    expect(buffered.every((b, i) => b <= (i === 0 ? queued : buffered[i - 1]!))).toBe(true);
    expect(client.bufferedAmount).toBe(0);
  });

  it('send() returns false at the high-water mark, still queues, and drain follows', async () => {
    const got: number[] = [];
    const listener = accepting(uniqueName(), (c) => c.on('data', (v) => got.push((v as Uint8Array).length)));
    await listening(listener);
    const client = track(DataSocket.connect(listener.address.name, { highWaterMark: 1000 }));
    expect(client.send(new Uint8Array(400))).toBe(true);
    expect(client.send(new Uint8Array(400))).toBe(true);
    expect(client.send(new Uint8Array(400))).toBe(false);
    expect(client.bufferedAmount).toBe(3 * 405);
    await once(client, 'drain');
    expect(client.bufferedAmount).toBeLessThan(1000);
    await until(() => got.length >= 3);
    expect(got).toEqual([400, 400, 400]);
  });

  it("with highWaterMark 0 every send() returns false, and 'drain' comes once everything is out", async () => {
    const listener = accepting();
    await listening(listener);
    const client = track(DataSocket.connect(listener.address.name, { highWaterMark: 0 }));
    await once(client, 'connect');
    expect(client.send('a')).toBe(false);
    expect(client.send('b')).toBe(false);
    await once(client, 'drain');
    expect(client.bufferedAmount).toBe(0);
  });

  it('a send past maxBufferedBytes throws ERR_DATASOCKET_BUFFER_FULL, queues nothing, and the socket stays open', async () => {
    const got: number[] = [];
    const listener = accepting(uniqueName(), (c) => c.on('data', (v) => got.push((v as Uint8Array).length)));
    await listening(listener);
    const client = track(DataSocket.connect(listener.address.name, { maxBufferedBytes: 2000 }));
    client.send(new Uint8Array(1500));
    const before = client.bufferedAmount;
    expectThrows(() => client.send(new Uint8Array(1000)), ErrorCode.BUFFER_FULL);
    expect(client.bufferedAmount).toBe(before);
    expect(client.state).toBe('connecting');
    await once(client, 'connect');
    await until(() => client.bufferedAmount === 0);
    client.send(new Uint8Array(1000));
    await until(() => got.length >= 2);
    expect(got).toEqual([1500, 1000]);
  });

  it('a value above maxFrameBytes throws ERR_DATASOCKET_FRAME_TOO_LARGE and is not sent', async () => {
    const got: unknown[] = [];
    const listener = accepting(uniqueName(), (c) => c.on('data', (v) => got.push(v)));
    await listening(listener);
    const client = track(DataSocket.connect(listener.address.name, { maxFrameBytes: 100 }));
    expectThrows(() => client.send('x'.repeat(200)), ErrorCode.FRAME_TOO_LARGE);
    client.send('small');
    await once(client, 'connect');
    await until(() => got.length >= 1);
    await sleep(20);
    expect(got).toEqual(['small']);
  });

  it('unserializable values throw synchronously and nothing is sent', async () => {
    const got: unknown[] = [];
    const listener = accepting(uniqueName(), (c) => c.on('data', (v) => got.push(v)));
    await listening(listener);
    const client = track(DataSocket.connect(listener.address.name));
    await once(client, 'connect');
    expectThrows(() => client.send({ f: () => 1 }), ErrorCode.UNSERIALIZABLE);
    expectThrows(() => client.send(Symbol('s')), ErrorCode.UNSERIALIZABLE);
    client.send({ f: 'fine' });
    await until(() => got.length >= 1);
    await sleep(20);
    expect(got).toEqual([{ f: 'fine' }]);
  });

  it('a peer receiving a frame above its own maxFrameBytes closes that connection with ERR_DATASOCKET_PROTOCOL; the listener keeps serving', async () => {
    let first!: DataSocket;
    const listener = track(
      DataSocket.listen(
        (c) => {
          first ??= c;
          track(c);
          return true;
        },
        uniqueName(),
        { maxFrameBytes: 1000 },
      ),
    );
    await listening(listener);
    const client = track(DataSocket.connect(listener.address.name, { maxFrameBytes: 10_000 }));
    const clientEvents = record(client);
    await once(client, 'connect');
    await until(() => first !== undefined);
    const serverEvents = record(first);
    client.send(new Uint8Array(5000));
    await serverEvents.closed;
    expect(serverEvents.log).toEqual([`error:${ErrorCode.PROTOCOL}`, 'close']);
    await clientEvents.closed;
    expect(listener.state).toBe('listening');
    const second = track(DataSocket.connect(listener.address.name));
    await once(second, 'connect');
  });
});

describe('§2 close', () => {
  it('a client flushes what is queued, then ends; the peer gets every value, then close without error', async () => {
    let server!: DataSocket;
    const got: unknown[] = [];
    const listener = accepting(uniqueName(), (c) => {
      server = c;
      c.on('data', (v) => got.push(v));
    });
    await listening(listener);
    const client = track(DataSocket.connect(listener.address.name));
    const clientEvents = record(client);
    await once(client, 'connect');
    for (let i = 0; i < 1000; i++) client.send(i);
    client.close();
    expect(client.state).toBe('closing');
    expect(client.active).toBe(false);
    expectThrows(() => client.send(1), ErrorCode.CLOSED);
    client.close();
    await clientEvents.closed;
    const serverEvents = record(server);
    await serverEvents.closed;
    expect(got).toHaveLength(1000);
    expect(got[999]).toBe(999);
    expect(serverEvents.errors).toEqual([]);
    expect(clientEvents.errors).toEqual([]);
    expect(clientEvents.log.filter((e) => e === 'close')).toHaveLength(1);
    expect(client.state).toBe('closed');
  });

  it('close() before connect aborts: queued values are dropped and close comes without error', async () => {
    const got: unknown[] = [];
    let acceptorCalls = 0;
    const listener = track(
      DataSocket.listen(async (c) => {
        acceptorCalls++;
        track(c).on('data', (v) => got.push(v));
        await sleep(100);
        return true;
      }, uniqueName()),
    );
    await listening(listener);
    const client = track(DataSocket.connect(listener.address.name));
    const events = record(client);
    client.send('dropped');
    client.close();
    expect(client.state).toBe('closed');
    await events.closed;
    expect(events.log).toEqual(['close']);
    await sleep(200);
    expect(got).toEqual([]);
    expect(acceptorCalls).toBeLessThanOrEqual(1);
  });

  it('a listener stops accepting and removes its socket file; its connections stay open', async () => {
    let server!: DataSocket;
    const listener = accepting(uniqueName(), (c) => (server = c));
    await listening(listener);
    const file = listener.address.path!;
    expect(fs.existsSync(file)).toBe(true);
    const client = track(DataSocket.connect(listener.address.name));
    await once(client, 'connect');
    const events = record(listener);
    listener.close();
    await events.closed;
    expect(events.log).toEqual(['close']);
    expect(listener.state).toBe('closed');
    expect(fs.existsSync(file)).toBe(false);
    await until(() => server?.state === 'open');
    const got = once(client, 'data');
    server.send('still here');
    expect(await got).toBe('still here');
    const late = track(DataSocket.connect(listener.address.name));
    const lateEvents = record(late);
    await lateEvents.closed;
    expect(lateEvents.errors.map((e) => e.code)).toEqual(['ENOENT']);
  });

  it('error is always followed by exactly one close, and nothing comes after close', async () => {
    const client = track(DataSocket.connect(uniqueName('nobody')));
    const events = record(client);
    let after = 0;
    await events.closed;
    client.on('data', () => after++).on('error', () => after++).on('close', () => after++);
    await sleep(50);
    expect(events.log).toEqual(['error:ENOENT', 'close']);
    expect(after).toBe(0);
    expect(events.errors[0]).toBeInstanceOf(DataSocketError);
    expect(events.errors[0]!.syscall).toBe('connect');
  });

  it('an error nobody listens to is not thrown: the socket just closes', async () => {
    const client = track(DataSocket.connect('127.0.0.1', 1));
    await once(client, 'close');
    expect(client.state).toBe('closed');
  });

  it('the peer closing without END (its process gone) reads as ECONNRESET then close', async () => {
    const net = await import('node:net');
    const { Handshake } = await import('../../../src/main/socket/handshake.js');
    let resolveAccepted!: (c: DataSocket) => void;
    const accepted = new Promise<DataSocket>((resolve) => (resolveAccepted = resolve));
    const listener = accepting(uniqueName(), resolveAccepted);
    await listening(listener);
    // A raw client that completes the handshake, then closes its socket without an END frame.
    const raw = net.connect(listener.address.path!);
    const handshake = new Handshake('client', undefined, (b) => raw.write(b));
    raw.on('connect', () => handshake.start());
    raw.on('data', (chunk) => {
      if (handshake.push(chunk).done) raw.end();
    });
    const server = await accepted;
    const events = record(server);
    await events.closed;
    expect(events.log.slice(-2)).toEqual(['error:ECONNRESET', 'close']);
    expect(events.errors).toHaveLength(1);
  });
});
