import net from 'node:net';
import { generate } from 'selfsigned';
import { beforeAll, describe, expect, it } from 'vitest';
import { DataSocket, DataSocketError, ErrorCode } from '../../../src/index.js';
import { useCleanup } from '../../helpers/cleanup.js';
import { listenIn } from '../../helpers/peer.js';
import { listening, once, record, sleep, uniqueName, until } from '../../helpers/sockets.js';

const { track, spawn } = useCleanup();

/** A listener in another process; resolves with its address and the peer. */
async function remoteListener(options: Record<string, unknown>, endpoint: { name: string; port?: number } = { name: '127.0.0.1', port: 0 }) {
  const peer = spawn();
  return { peer, at: await listenIn(peer, endpoint, 'yes', options) };
}

/** A TCP relay to a listener on 127.0.0.1 that keeps every byte it passes on, each way. */
async function recordingRelay(targetPort: number) {
  const fromClient: Buffer[] = [];
  const fromListener: Buffer[] = [];
  const server = net.createServer((inbound) => {
    const outbound = net.connect(targetPort, '127.0.0.1');
    inbound.on('data', (d) => fromClient.push(d)).pipe(outbound);
    outbound.on('data', (d) => fromListener.push(d)).pipe(inbound);
    inbound.on('error', () => outbound.destroy());
    outbound.on('error', () => inbound.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as net.AddressInfo).port, fromClient, fromListener, close: () => server.close() };
}

describe('§5 token: a shared secret proven by challenge–response', () => {
  it('connects when both sides hold the same token, over TCP and a local socket', async () => {
    for (const endpoint of [{ name: '127.0.0.1', port: 0 }, { name: uniqueName('tok') }]) {
      const { peer, at } = await remoteListener({ token: 'correct horse battery staple' }, endpoint);
      const client = track(DataSocket.connect(at.name, at.port, { token: 'correct horse battery staple' }));
      await once(client, 'connect');
      client.send({ authed: true });
      expect(await peer.waitFor((e) => e.ev === 'data')).toMatchObject({ value: { authed: true } });
    }
  });

  it("the listener side sees each failed attempt as a 'clientError' with ERR_DATASOCKET_AUTH_FAILED, and stays listening", async () => {
    const listener = track(DataSocket.listen(() => true, '127.0.0.1', 0, { token: 'listener-secret' }));
    const events = record(listener);
    const refused: string[] = [];
    listener.on('clientError', (error) => refused.push(error.code));
    await listening(listener);
    for (const options of [{ token: 'wrong' }, {}]) {
      const client = record(track(DataSocket.connect('127.0.0.1', listener.address.port, options)));
      await client.closed;
      expect(client.errors.map((e) => e.code)).toEqual([ErrorCode.AUTH_FAILED]);
    }
    await until(() => refused.length >= 2);
    expect(refused).toEqual([ErrorCode.AUTH_FAILED, ErrorCode.AUTH_FAILED]);
    expect(events.log).toEqual(['listening']);
    expect(listener.state).toBe('listening');
  });

  const failures: [string, string | undefined, string | undefined][] = [
    ['a wrong token', 'listener-secret', 'client-guess'],
    ['a token on the client only', undefined, 'client-secret'],
    ['a token on the listener only', 'listener-secret', undefined],
  ];
  for (const [what, listenerToken, clientToken] of failures) {
    it(`fails both sides with ERR_DATASOCKET_AUTH_FAILED for ${what}; the acceptor never runs, the listener keeps serving`, async () => {
      const { peer, at } = await remoteListener(listenerToken === undefined ? {} : { token: listenerToken });
      const client = track(DataSocket.connect(at.name, at.port, clientToken === undefined ? {} : { token: clientToken }));
      const events = record(client);
      client.send('must not arrive');
      await events.closed;
      expect(events.log).toEqual([`error:${ErrorCode.AUTH_FAILED}`, 'close']);
      // The listening side fails too: it reports the attempt, and its acceptor never sees it.
      expect(await peer.waitFor((e) => e.ev === 'clientError')).toMatchObject({ id: 'listener', code: ErrorCode.AUTH_FAILED });
      expect(peer.events.some((e) => e.ev === 'accepted')).toBe(false);
      const good = track(DataSocket.connect(at.name, at.port, listenerToken === undefined ? {} : { token: listenerToken }));
      await once(good, 'connect');
      await peer.waitFor((e) => e.ev === 'accepted');
      expect(peer.events.filter((e) => e.ev === 'accepted')).toHaveLength(1);
    });
  }

  it('never sends the token itself: a relay that records every byte never sees it', async () => {
    const token = 'a-very-recognisable-secret-token-1234567890';
    const listener = track(DataSocket.listen(() => true, '127.0.0.1', 0, { token }));
    await listening(listener);
    const relay = track(await recordingRelay(listener.address.port!));
    const client = track(DataSocket.connect('127.0.0.1', relay.port, { token }));
    await once(client, 'connect');
    client.send('hello through the relay');
    await sleep(50);
    const all = Buffer.concat([...relay.fromClient, ...relay.fromListener]);
    expect(all.length).toBeGreaterThan(24 * 2);
    expect(all.includes(Buffer.from(token))).toBe(false);
    expect(all.includes(Buffer.from(token, 'utf16le'))).toBe(false);
  });

  it('a recorded proof cannot be replayed: each connection proves against fresh nonces', async () => {
    const token = 'replay-me';
    const listener = track(DataSocket.listen(() => true, '127.0.0.1', 0, { token }));
    await listening(listener);
    // Record what a real client sends on a first connection...
    const relay = await recordingRelay(listener.address.port!);
    const client = track(DataSocket.connect('127.0.0.1', relay.port, { token }));
    await once(client, 'connect');
    relay.close();
    const recorded = relay.fromClient;
    // ...then replay those client bytes on a new connection: the listener must refuse it.
    const replay = net.connect(listener.address.port!, '127.0.0.1');
    const answer: Buffer[] = [];
    replay.on('data', (d) => answer.push(d));
    replay.on('error', () => {});
    replay.write(Buffer.concat(recorded).subarray(0, 24 + 32));
    await new Promise<void>((resolve) => replay.on('close', () => resolve()));
    const bytes = Buffer.concat(answer);
    // HELLO (24) + the listener's proof (32) + VERDICT 'V' AUTH_FAILED (2).
    expect([...bytes.subarray(bytes.length - 2)]).toEqual([0x56, 2]);
  });
});

describe('§5 tls: TCP with a certificate the test generates', () => {
  let cert: string;
  let key: string;
  beforeAll(async () => {
    const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
      notAfterDate: new Date(Date.now() + 24 * 3600 * 1000),
      keyType: 'ec',
      curve: 'P-256',
      extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }] }],
    });
    cert = pems.cert;
    key = pems.private;
  });

  it('connects over TLS when the client trusts the certificate, and values flow both ways', async () => {
    let server!: DataSocket;
    const listener = track(
      DataSocket.listen(
        (c) => {
          server = track(c);
          return true;
        },
        '127.0.0.1',
        0,
        { tls: { key, cert } },
      ),
    );
    await listening(listener);
    const client = track(DataSocket.connect('localhost', listener.address.port, { tls: { ca: cert } }));
    await once(client, 'connect');
    const got = once(server, 'data');
    client.send({ over: 'tls', bytes: Uint8Array.of(1, 2, 3) });
    expect(await got).toEqual({ over: 'tls', bytes: Uint8Array.of(1, 2, 3) });
    const back = once(client, 'data');
    server.send(new Map([['ok', true]]));
    expect(await back).toEqual(new Map([['ok', true]]));
  });

  it('refuses a server certificate the client does not trust, keeping the TLS error code', async () => {
    const listener = track(DataSocket.listen(() => true, '127.0.0.1', 0, { tls: { key, cert } }));
    await listening(listener);
    const client = track(DataSocket.connect('localhost', listener.address.port));
    const plain = record(client);
    await plain.closed;
    expect(plain.errors[0]!.code).toBe(ErrorCode.PROTOCOL);
    const untrusting = track(DataSocket.connect('localhost', listener.address.port, { tls: {} }));
    const events = record(untrusting);
    await events.closed;
    expect(events.errors[0]!.code).toMatch(/SELF_SIGNED|UNABLE_TO_VERIFY|CERT/);
  });

  it("the listener side sees each failed TLS handshake as a 'clientError' with the TLS error's code, and keeps serving", async () => {
    const listener = track(DataSocket.listen(() => true, '127.0.0.1', 0, { tls: { key, cert }, handshakeTimeoutMs: 500 }));
    const failures: DataSocketError[] = [];
    listener.on('clientError', (error) => failures.push(error));
    await listening(listener);
    const port = listener.address.port!;
    // A client that speaks plain DataSocket, one that does not trust the certificate, one that says nothing.
    for (const options of [{}, { tls: {} }]) {
      const client = record(track(DataSocket.connect('localhost', port, options)));
      await client.closed;
      await until(() => failures.length === (options.tls ? 2 : 1));
    }
    const silent = net.connect(port, '127.0.0.1');
    silent.on('error', () => {});
    await until(() => failures.length === 3, 5_000);
    silent.destroy();
    for (const failure of failures) {
      expect(failure).toBeInstanceOf(DataSocketError);
      expect(failure.code).toMatch(/^(ERR_SSL_|ERR_TLS_|ECONNRESET$)/);
    }
    expect(failures[2]!.code).toBe('ERR_TLS_HANDSHAKE_TIMEOUT');
    const good = track(DataSocket.connect('localhost', port, { tls: { ca: cert } }));
    await once(good, 'connect');
    expect(listener.state).toBe('listening');
  });

  it('unusable tls options throw ERR_DATASOCKET_INVALID_ARGUMENT at the call', () => {
    expect(() => DataSocket.listen(() => true, '127.0.0.1', 0, { tls: { key: 'not a key', cert: 'not a cert' } })).toThrow(
      expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }),
    );
    expect(() => DataSocket.connect('localhost', 1, { tls: { ca: 'x', key: 'not a key', cert: 'nope' } })).toThrow(
      expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }),
    );
  });

  it('combines tls and token', async () => {
    const listener = track(DataSocket.listen(() => true, '127.0.0.1', 0, { tls: { key, cert }, token: 'both' }));
    await listening(listener);
    const ok = track(DataSocket.connect('localhost', listener.address.port, { tls: { ca: cert }, token: 'both' }));
    await once(ok, 'connect');
    const wrong = record(track(DataSocket.connect('localhost', listener.address.port, { tls: { ca: cert }, token: 'nope' })));
    await wrong.closed;
    expect(wrong.errors[0]!.code).toBe(ErrorCode.AUTH_FAILED);
  });
});
