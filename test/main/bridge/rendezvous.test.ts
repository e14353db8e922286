/**
 * §9 in the page: `connectOrListen` through the bridge (the real host and page
 * client over a message channel), meeting Node members and a `datasocket join`
 * process. Main elects for the page (the lock is main's), the policy sees the
 * tries as a listen and a connect.
 */
import { spawn as spawnProcess, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DataSocket as NodeDataSocket, ErrorCode, type DataSocketError, type RendezvousRole } from '../../../src/index.js';
import { socketDirectory } from '../../../src/main/socket/endpoint.js';
import type { PageDataSocket } from '../../../src/renderer/client.js';
import type { HostMessage } from '../../../src/shared/bridge-protocol.js';
import type { Rendezvous } from '../../../src/shared/rendezvous.js';
import type { SocketRequest } from '../../../src/main/bridge/policy.js';
import { bridgedPage, type PageContext } from '../../helpers/bridge.js';
import { ensureBuilt } from '../../helpers/built.js';
import { useCleanup } from '../../helpers/cleanup.js';
import { uniqueName, until } from '../../helpers/sockets.js';

const { track } = useCleanup();
const CLI = fileURLToPath(new URL('../../../dist/main/cli/cli.js', import.meta.url));
const children: ChildProcess[] = [];
// One test runs the built CLI against this source's host: they must speak the same protocol.
beforeAll(ensureBuilt, 60_000);
afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
});

/** A member and what it went through. */
function watch<S>(member: Rendezvous<S & PageDataSocket> | Rendezvous<never>) {
  const roles: RendezvousRole[] = [];
  const links: S[] = [];
  const errors: DataSocketError[] = [];
  const values: unknown[] = [];
  const m = member as unknown as Rendezvous<PageDataSocket>;
  m.on('role', (role) => roles.push(role));
  m.on('connection', (socket) => {
    links.push(socket as unknown as S);
    socket.on('data', (value) => values.push(value));
  });
  m.on('error', (error) => errors.push(error));
  return { roles, links, errors, values };
}

describe('§9 connectOrListen in the page, through main', () => {
  it('a page leads, a Node member follows; values both ways; when the page leaves, the Node member leads and a second page follows it', async () => {
    const name = uniqueName('rv-page');
    const pageA = track(bridgedPage());
    const a = pageA.DataSocket.connectOrListen(() => true, name);
    const seenA = watch(a);
    await until(() => a.role === 'leader');
    const b = NodeDataSocket.connectOrListen(() => true, name);
    track(b);
    const seenB = watch(b as never);
    await until(() => b.role === 'follower' && seenA.links.length === 1);
    expect(seenB.roles).toEqual(['follower']);
    (seenB.links[0] as PageDataSocket).send({ from: 'node' });
    (seenA.links[0] as PageDataSocket).send({ from: 'page' });
    await until(() => seenA.values.length === 1 && seenB.values.length === 1);
    expect(seenA.values).toEqual([{ from: 'node' }]);
    expect(seenB.values).toEqual([{ from: 'page' }]);

    // The page leaves: it stops leading and closes the link it was handed (the app's to close).
    a.close();
    (seenA.links[0] as PageDataSocket).close();
    await until(() => b.role === 'leader');
    expect(seenB.roles).toEqual(['follower', 'electing', 'leader']);
    expect(seenA.roles).toEqual(['leader', 'closed']);

    const pageC = track(bridgedPage());
    const c = pageC.DataSocket.connectOrListen(() => true, name);
    const seenC = watch(c);
    await until(() => c.role === 'follower' && seenB.links.length === 2);
    (seenB.links[1] as PageDataSocket).send('to the page');
    await until(() => seenC.values.length === 1);
    expect(seenC.values).toEqual(['to the page']);
    c.close();
    b.close();
  });

  it('two pages of one main elect between themselves (main holds the lock for the leader)', async () => {
    const name = uniqueName('rv-pages');
    const pages = [track(bridgedPage()), track(bridgedPage())];
    const members = pages.map((p) => p.DataSocket.connectOrListen(() => true, name));
    await until(() => members.every((m) => m.role === 'leader' || m.role === 'follower'));
    expect(members.map((m) => m.role).sort()).toEqual(['follower', 'leader']);
    for (const m of members) m.close();
  });

  it('a page following a `datasocket join` process takes over within 1 s of its SIGKILL', async () => {
    const name = uniqueName('rv-kill');
    const leader = spawnProcess(process.execPath, [CLI, 'join', name], { stdio: ['pipe', 'pipe', 'pipe'] });
    children.push(leader);
    let stderr = '';
    leader.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    await until(() => /leading at/.test(stderr));
    const page = track(bridgedPage());
    const member = page.DataSocket.connectOrListen(() => true, name);
    const seen = watch(member);
    await until(() => member.role === 'follower');
    const killed = Date.now();
    leader.kill('SIGKILL');
    await until(() => member.role === 'leader', 5_000);
    expect(Date.now() - killed).toBeLessThan(1_000);
    expect(seen.roles).toEqual(['follower', 'electing', 'leader']);
    expect(fs.existsSync(path.join(socketDirectory(), `${name}.sock`))).toBe(true);
    member.close();
  });

  it('the policy sees a listen (the try to lead) and a connect (the try to follow)', async () => {
    const name = uniqueName('rv-policy');
    const asked: SocketRequest['action'][] = [];
    const policy = (request: SocketRequest & PageContext): boolean => {
      asked.push(request.action);
      return true;
    };
    const leader = NodeDataSocket.connectOrListen(() => true, name);
    track(leader);
    await until(() => leader.role === 'leader');
    const page = track(bridgedPage({ policy }));
    const member = page.DataSocket.connectOrListen(() => true, name);
    await until(() => member.role === 'follower');
    expect(asked).toEqual(['listen', 'connect']);
    expect(page.toHost.filter((m) => m.t === 'listen').map((m) => (m as { elect?: boolean }).elect)).toEqual([true]);
    member.close();
  });

  it('a policy refusing the listen ends the rendezvous with ERR_DATASOCKET_NOT_ALLOWED', async () => {
    const page = track(bridgedPage({ policy: (request) => request.action !== 'listen' }));
    const member = page.DataSocket.connectOrListen(() => true, uniqueName('rv-refused'));
    const seen = watch(member);
    await until(() => member.role === 'closed');
    expect(seen.errors.map((e) => e.code)).toEqual([ErrorCode.NOT_ALLOWED]);
    expect(seen.roles).toEqual(['closed']);
  });

  it('main refuses a port on an address that is not this machine’s, and port 0 is refused at the call', async () => {
    const page = track(bridgedPage({ policy: () => true }));
    const member = page.DataSocket.connectOrListen(() => true, '192.0.2.1', 7000);
    const seen = watch(member);
    await until(() => member.role === 'closed');
    expect(seen.errors.map((e) => e.code)).toEqual([ErrorCode.INVALID_ARGUMENT]);
    expect(seen.errors[0]!.message).toMatch(/address of this machine/);
    expect(() => page.DataSocket.connectOrListen(() => true, '127.0.0.1', 0)).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }));
  });

  it.each([
    ['a non-function acceptor', (D: ReturnType<typeof bridgedPage>['DataSocket']) => D.connectOrListen('yes' as never, 'app')],
    ['a bad name', (D: ReturnType<typeof bridgedPage>['DataSocket']) => D.connectOrListen(() => true, 'no/such name')],
    ['a non-boolean failover', (D: ReturnType<typeof bridgedPage>['DataSocket']) => D.connectOrListen(() => true, 'app', { failover: 'yes' as never })],
    ['an unknown option', (D: ReturnType<typeof bridgedPage>['DataSocket']) => D.connectOrListen(() => true, 'app', { fallover: true } as never)],
    ['tls in the page', (D: ReturnType<typeof bridgedPage>['DataSocket']) => D.connectOrListen(() => true, 'app', { tls: {} } as never)],
  ])('throws ERR_DATASOCKET_INVALID_ARGUMENT at the call for %s, and tells main nothing', (_what, call) => {
    const page = track(bridgedPage());
    expect(() => call(page.DataSocket)).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }));
    expect(page.toHost).toEqual([]);
  });

  it('a hostile page cannot pass a non-boolean elect: the message is refused', async () => {
    const page = track(bridgedPage());
    // A well-formed listen as the page sends it, then spoiled in one field.
    const member = page.DataSocket.connectOrListen(() => true, uniqueName('rv-hostile'));
    await until(() => member.role === 'leader');
    member.close();
    const listen = page.toHost.find((m) => m.t === 'listen')!;
    page.inject({ ...listen, id: 1000, elect: 'yes' });
    await until(() => page.fromHost.some((m) => m.t === 'rejected'));
    const rejected = page.fromHost.find((m) => m.t === 'rejected') as Extract<HostMessage, { t: 'rejected' }>;
    expect(rejected.error).toMatchObject({ code: ErrorCode.INVALID_ARGUMENT });
    expect(rejected.error.message).toMatch(/'elect'/);
  });
});
