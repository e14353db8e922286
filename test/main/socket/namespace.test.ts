/**
 * §13 namespaces in Node and Electron main: bare names resolve inside the `namespace`
 * option or DATASOCKET_NAMESPACE, so two test workers (or a test and a copy of the app
 * a person is running) using the same names never meet. Real sockets, and real
 * processes told their namespace only by their environment.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DataSocket, ErrorCode } from '../../../src/index.js';
import { namespaceOf, resolveTarget, socketDirectory } from '../../../src/main/socket/endpoint.js';
import { useCleanup } from '../../helpers/cleanup.js';
import { restoreDataSocketEnv } from '../../helpers/datasocket-env.js';
import { expectThrows } from '../../helpers/rejection.js';
import { listenIn } from '../../helpers/peer.js';
import { useRuntimeDir } from '../../helpers/runtime-dir.js';
import { once, record, uniqueName, until } from '../../helpers/sockets.js';

const runtimeDir = useRuntimeDir();
const { track, spawn } = useCleanup();

restoreDataSocketEnv();

describe('§13 where a bare name resolves in a namespace', () => {
  it('inside <per-user dir>/<namespace>/<name>.sock; the option wins over DATASOCKET_NAMESPACE, which applies without it', () => {
    delete process.env.DATASOCKET_NAMESPACE;
    const base = socketDirectory();
    expect(base.startsWith(runtimeDir)).toBe(true);
    expect(resolveTarget({ name: 'app', port: undefined })).toMatchObject({ path: path.join(base, 'app.sock'), dir: base });
    expect(resolveTarget({ name: 'app', port: undefined, namespace: 'w1' })).toMatchObject({
      path: path.join(base, 'w1', 'app.sock'),
      dir: path.join(base, 'w1'),
      namespace: 'w1',
    });
    process.env.DATASOCKET_NAMESPACE = 'from-env';
    expect(resolveTarget({ name: 'app', port: undefined })).toMatchObject({ path: path.join(base, 'from-env', 'app.sock') });
    expect(resolveTarget({ name: 'app', port: undefined, namespace: 'w2' })).toMatchObject({ path: path.join(base, 'w2', 'app.sock') });
    process.env.DATASOCKET_NAMESPACE = '';
    expect(resolveTarget({ name: 'app', port: undefined })).toMatchObject({ path: path.join(base, 'app.sock') });
  });

  it('on Windows a bare name in a namespace is the pipe \\\\.\\pipe\\datasocket-<namespace>-<name>; a full pipe name is as given', () => {
    expect(resolveTarget({ name: 'app', port: undefined, namespace: 'w1' }, 'win32')).toMatchObject({ path: '\\\\.\\pipe\\datasocket-w1-app' });
    expect(resolveTarget({ name: 'app', port: undefined }, 'win32')).toMatchObject({ path: '\\\\.\\pipe\\app' });
    expect(resolveTarget({ name: '\\\\.\\pipe\\mine', port: undefined, namespace: 'w1' }, 'win32')).toMatchObject({ path: '\\\\.\\pipe\\mine' });
  });

  it('absolute paths and TCP ports are not namespaced', () => {
    expect(resolveTarget({ name: '/tmp/x.sock', port: undefined, namespace: 'w1' })).toMatchObject({ path: '/tmp/x.sock', dir: undefined });
    expect(resolveTarget({ name: '127.0.0.1', port: 4000, namespace: 'w1' })).toEqual({ kind: 'tcp', name: '127.0.0.1', host: '127.0.0.1', port: 4000 });
  });

  it('a namespace is validated like a bare name, from the option (at the call) and from the environment (naming it)', () => {
    for (const bad of ['', '.', '..', 'a/b', 'a\\b', 'x'.repeat(101), 'sp ace', 'ü']) {
      const error = expectThrows(() => DataSocket.connect('app', { namespace: bad }), ErrorCode.INVALID_ARGUMENT);
      expect(error.message).toContain("'namespace'");
    }
    expectThrows(() => DataSocket.listen(() => true, 'app', { namespace: 7 as unknown as string }), ErrorCode.INVALID_ARGUMENT);
    process.env.DATASOCKET_NAMESPACE = '../escape';
    const fromEnv = expectThrows(() => DataSocket.connect('app'), ErrorCode.INVALID_ARGUMENT);
    expect(fromEnv.message).toContain('DATASOCKET_NAMESPACE');
    expectThrows(() => DataSocket.connectOrListen(() => true, 'app'), ErrorCode.INVALID_ARGUMENT);
    expect(() => namespaceOf('ok-name.1_x', {})).not.toThrow();
    expect(namespaceOf(undefined, { DATASOCKET_NAMESPACE: 'abc' })).toBe('abc');
  });

  it("a socket path that grows too long in a namespace is refused at the call, naming the namespace as what to shorten", () => {
    const error = expectThrows(() => DataSocket.listen(() => true, 'n'.repeat(60), { namespace: 'm'.repeat(60) }), ErrorCode.INVALID_ARGUMENT);
    expect(error.message).toContain('namespace');
  });
});

describe('§13 two namespaces side by side', () => {
  it('a listener and a client with the same name in two namespaces pair up only within their own', async () => {
    const name = uniqueName('ns');
    const values = { a: [] as unknown[], b: [] as unknown[] };
    for (const ns of ['a', 'b'] as const) {
      const listener = track(
        DataSocket.listen(
          (connection) => {
            connection.on('data', (value) => values[ns].push(value));
            return true;
          },
          name,
          { namespace: ns },
        ),
      );
      await once(listener, 'listening');
      expect(listener.address.path).toBe(path.join(socketDirectory(), ns, `${name}.sock`));
    }
    const toA = track(DataSocket.connect(name, { namespace: 'a' }));
    const toB = track(DataSocket.connect(name, { namespace: 'b' }));
    toA.send('for a');
    toB.send('for b');
    await until(() => values.a.length === 1 && values.b.length === 1);
    expect(values).toEqual({ a: ['for a'], b: ['for b'] });
    // No namespace: the same name is somewhere else again, where nobody listens.
    const outside = record(track(DataSocket.connect(name)));
    await outside.closed;
    expect(outside.errors.map((e) => e.code)).toEqual(['ENOENT']);
  });

  it('the namespace directory is made 0700 inside the per-user one; a file in its place is refused, never used', async () => {
    const ns = uniqueName('dir');
    const listener = track(DataSocket.listen(() => true, 'app', { namespace: ns }));
    await once(listener, 'listening');
    const stat = fs.statSync(path.join(socketDirectory(), ns));
    expect(stat.isDirectory() && (stat.mode & 0o777) === 0o700).toBe(true);
    const squatted = uniqueName('file');
    fs.writeFileSync(path.join(socketDirectory(), squatted), 'not a directory');
    const refused = record(track(DataSocket.listen(() => true, 'app', { namespace: squatted })));
    await refused.closed;
    expect(refused.errors.map((e) => e.code)).toEqual(['EACCES']);
  });

  it('connectOrListen elects within a namespace: the same name in two namespaces has two leaders', async () => {
    const name = uniqueName('rv');
    const a = track(DataSocket.connectOrListen(() => true, name, { namespace: 'a' }));
    const b = track(DataSocket.connectOrListen(() => true, name, { namespace: 'b' }));
    const a2 = track(DataSocket.connectOrListen(() => true, name, { namespace: 'a' }));
    await until(() => a.role !== 'electing' && b.role !== 'electing' && a2.role !== 'electing');
    expect([a.role, b.role]).toEqual(['leader', 'leader']);
    expect(a2.role).toBe('follower');
  });

  it('real processes told only DATASOCKET_NAMESPACE listen on one name side by side, and a client process reaches its own', async () => {
    const name = uniqueName('proc');
    const listeners = { a: spawn({ DATASOCKET_NAMESPACE: 'pa' }), b: spawn({ DATASOCKET_NAMESPACE: 'pb' }) };
    const addresses = {
      a: await listenIn(listeners.a, { name }),
      b: await listenIn(listeners.b, { name }),
    };
    expect(addresses.a.path).toBe(path.join(socketDirectory(), 'pa', `${name}.sock`));
    expect(addresses.b.path).toBe(path.join(socketDirectory(), 'pb', `${name}.sock`));
    const client = spawn({ DATASOCKET_NAMESPACE: 'pb' });
    await client.run({ op: 'connect', id: 'c', name });
    await client.next('connect', 'c');
    await client.run({ op: 'send', id: 'c', value: 'hello b' });
    const got = (await listeners.b.waitFor((e) => e.ev === 'data')) as { value: unknown };
    expect(got.value).toBe('hello b');
    // This process, in namespace pa by its environment, reaches the other listener.
    process.env.DATASOCKET_NAMESPACE = 'pa';
    const here = track(DataSocket.connect(name));
    here.send('hello a');
    const gotA = (await listeners.a.waitFor((e) => e.ev === 'data')) as { value: unknown };
    expect(gotA.value).toBe('hello a');
    expect(listeners.b.events.some((e) => e.ev === 'data' && (e as { value: unknown }).value === 'hello a')).toBe(false);
  });
});
