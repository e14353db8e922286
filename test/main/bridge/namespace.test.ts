/**
 * §13 namespaces through the bridge: a page's bare names resolve in main's namespace
 * (the bridge's `namespace` option, else main's DATASOCKET_NAMESPACE), never one the
 * page picks. The real host and page client over a message channel, real sockets.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DataSocket as NodeDataSocket, ErrorCode } from '../../../src/index.js';
import { socketDirectory } from '../../../src/main/socket/endpoint.js';
import type { SocketRequest } from '../../../src/main/bridge/policy.js';
import { bridgedPage } from '../../helpers/bridge.js';
import { useCleanup } from '../../helpers/cleanup.js';
import { restoreDataSocketEnv } from '../../helpers/datasocket-env.js';
import { useRuntimeDir } from '../../helpers/runtime-dir.js';
import { uniqueName, until } from '../../helpers/sockets.js';

useRuntimeDir();
const { track } = useCleanup();
restoreDataSocketEnv();

describe("§13 a page's sockets live in main's namespace", () => {
  it('two pages served in two namespaces listen on one name side by side; Node clients in each namespace reach their own page', async () => {
    const name = uniqueName('page-ns');
    const seen: SocketRequest[] = [];
    const received = { a: [] as unknown[], b: [] as unknown[] };
    for (const ns of ['a', 'b'] as const) {
      const page = track(bridgedPage({ namespace: ns, policy: (request) => (seen.push(request), true) }));
      const listener = page.DataSocket.listen((connection) => {
        connection.on('data', (value) => received[ns].push(value));
        return true;
      }, name);
      await until(() => listener.state === 'listening');
      expect(listener.address.path).toBe(path.join(socketDirectory(), ns, `${name}.sock`));
    }
    // The policy decides on where the socket really is.
    expect(seen.map((request) => (request.transport === 'local' ? request.path : ''))).toEqual([
      path.join(socketDirectory(), 'a', `${name}.sock`),
      path.join(socketDirectory(), 'b', `${name}.sock`),
    ]);
    track(NodeDataSocket.connect(name, { namespace: 'b' })).send('to b');
    track(NodeDataSocket.connect(name, { namespace: 'a' })).send('to a');
    await until(() => received.a.length === 1 && received.b.length === 1);
    expect(received).toEqual({ a: ['to a'], b: ['to b'] });
  });

  it("without the bridge's option, main's DATASOCKET_NAMESPACE when the socket opens decides", async () => {
    const name = uniqueName('env-ns');
    const page = track(bridgedPage());
    process.env.DATASOCKET_NAMESPACE = 'main-env';
    const listener = page.DataSocket.listen(() => true, name);
    await until(() => listener.state === 'listening');
    expect(listener.address.path).toBe(path.join(socketDirectory(), 'main-env', `${name}.sock`));
    const client = track(NodeDataSocket.connect(name));
    await until(() => client.state === 'open');
  });

  it("a page cannot pick a namespace: the option is refused at the call, and main's invalid environment fails that socket, not main", async () => {
    const page = track(bridgedPage());
    expect(() => page.DataSocket.connect('app', { namespace: 'elsewhere' } as never)).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT, message: expect.stringContaining("main's namespace") }));
    process.env.DATASOCKET_NAMESPACE = 'not/valid';
    const socket = page.DataSocket.connect('app');
    const errors: string[] = [];
    socket.on('error', (error) => errors.push(`${error.code}: ${error.message}`));
    await until(() => socket.state === 'closed');
    expect(errors).toEqual([expect.stringMatching(/^ERR_DATASOCKET_INVALID_ARGUMENT: .*DATASOCKET_NAMESPACE/)]);
  });
});
