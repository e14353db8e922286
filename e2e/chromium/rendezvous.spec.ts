/**
 * §9 in the page: `window.Net.DataSocket.connectOrListen` in real Chromium, with the
 * shipped preload and main-world bundle. Three app instances of one user session
 * (harness processes sharing one runtime dir, so one socket directory and one election
 * key, as instances of one app do), one page each, find each other by a bare name:
 * exactly one page leads, the others follow; the leader's page closed hands over
 * within 1 s. A `datasocket join` process (the built CLI) is a member too, and a
 * SIGKILL of it hands over to the page that followed it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from '@playwright/test';
import { ErrorCode } from '../../src/shared/errors.js';
import { test } from '../../src/testing/index.js';
import { AppPage } from './helpers/app-page.js';
import { useAppPages } from './helpers/app-pages.js';
import type { MemberSnapshot } from './helpers/page-driver.js';

const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist/main/cli/cli.js');

/** Waits until every member `id` of `pages` leads or follows; returns their snapshots, in order. */
async function settled(pages: AppPage[], id: string, timeoutMs = 5_000): Promise<MemberSnapshot[]> {
  const snapshots = (): Promise<MemberSnapshot[]> => Promise.all(pages.map((p) => p.member(id)));
  await expect
    .poll(async () => (await snapshots()).every((m) => m.role === 'leader' || m.role === 'follower'), { timeout: timeoutMs })
    .toBe(true);
  return snapshots();
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

test.describe('§9 connectOrListen in the page: pages of app instances find each other', () => {
  const world = useAppPages({ A: {}, B: {}, C: {} }, { oneSession: true });

  test('two pages of two instances elect: exactly one leads, the other follows it, and values go both ways over the link', async () => {
    const { A, B } = world.page;
    // A fixed name: the three instances of this test share a runtime dir, but no other test shares its namespace.
    const name = 'rv-pair';
    expect(await A.join('m', name)).toBe('electing');
    expect(await B.join('m', name)).toBe('electing');
    const [a, b] = await settled([A, B], 'm');
    expect([a!.role, b!.role].sort()).toEqual(['follower', 'leader']);
    const [leader, follower] = a!.role === 'leader' ? [A, B] : [B, A];
    await leader.untilMember('m', 'connection');
    await follower.untilMember('m', 'connection');
    expect((await leader.member('m')).log).toEqual(['role:leader', 'connection']);
    expect((await follower.member('m')).log).toEqual(['role:follower', 'connection']);
    expect((await leader.member('m')).acceptorCalls).toBe(1);
    // The follower's link is a socket file in the one session's socket directory.
    expect((await follower.snapshot('m@1')).address.path).toBe(world.app.A.socketFile(name));

    await leader.send('m@1', 'from the leader');
    await follower.send('m@1', { from: 'the follower' });
    await follower.until('m@1', 'data');
    await leader.until('m@1', 'data');
    expect((await follower.snapshot('m@1')).values).toEqual(['from the leader']);
    expect((await leader.snapshot('m@1')).values).toEqual([{ ref: 0, proto: 'Object', tag: 'Object', object: [['from', 'the follower']] }]);
  });

  test('three pages joining at once: exactly one leader, and it holds a link to each of the two followers', async () => {
    const pages = [world.page.A, world.page.B, world.page.C];
    for (let round = 1; round <= 3; round++) {
      // One name per round: the members of the earlier rounds are still there.
      const name = `rv-race${round}`;
      const id = `r${round}`;
      await Promise.all(pages.map((p) => p.join(id, name)));
      const members = await settled(pages, id);
      expect(members.map((m) => m.role).sort()).toEqual(['follower', 'follower', 'leader']);
      const leader = pages[members.findIndex((m) => m.role === 'leader')]!;
      await leader.untilMember(id, 'connection', 2);
      expect((await leader.member(id)).acceptorCalls).toBe(2);
      for (const m of await Promise.all(pages.map((p) => p.member(id)))) expect(m.log.filter((e) => e.startsWith('error'))).toEqual([]);
    }
  });

  test('over TCP on 127.0.0.1 with a fixed port: the bind elects, one page leads, the other follows', async () => {
    const { A, B } = world.page;
    const port = await freePort();
    await A.join('t', '127.0.0.1', port);
    await B.join('t', '127.0.0.1', port);
    const [a, b] = await settled([A, B], 't');
    expect([a!.role, b!.role].sort()).toEqual(['follower', 'leader']);
    const [leader, follower] = a!.role === 'leader' ? [A, B] : [B, A];
    await follower.untilMember('t', 'connection');
    expect((await follower.snapshot('t@1')).address).toMatchObject({ name: '127.0.0.1', port });
    await follower.send('t@1', 'over TCP');
    await leader.untilMember('t', 'connection');
    await leader.until('t@1', 'data');
    expect((await leader.snapshot('t@1')).values).toEqual(['over TCP']);
  });

  test("the leader's page closed: within 1 s exactly one of the other two pages leads and the third follows it", async () => {
    const pages = await Promise.all((['A', 'B', 'C'] as const).map((k) => AppPage.open(world.context[k], world.app[k])));
    try {
      const name = 'rv-close';
      for (const p of pages) await p.join('m', name);
      const members = await settled(pages, 'm');
      const leaderIndex = members.findIndex((m) => m.role === 'leader');
      const leader = pages[leaderIndex]!;
      await leader.untilMember('m', 'connection', 2);
      const survivors = pages.filter((p) => p !== leader);

      const closedAt = Date.now();
      await leader.page.close();

      // Until one leads and the other has followed it anew: the third page's 'follower' alone can still be its link to the old leader.
      const roleHistories = async () => (await Promise.all(survivors.map((p) => p.member('m')))).map((m) => m.log.filter((e) => e.startsWith('role:')).join(' ')).sort();
      await expect
        .poll(roleHistories, { timeout: 5_000 })
        .toEqual(['role:follower role:electing role:follower', 'role:follower role:electing role:leader']);
      const after = await Promise.all(survivors.map((p) => p.member('m')));
      const newLeader = after.find((m) => m.role === 'leader')!;
      const follower = after.find((m) => m.role === 'follower')!;
      expect(newLeader.log.slice(0, 3)).toEqual(['role:follower', 'connection', 'role:electing']);
      expect(newLeader.log.filter((e) => e.startsWith('role:'))).toEqual(['role:follower', 'role:electing', 'role:leader']);
      expect(newLeader.roleTimes.at(-1)! - closedAt).toBeLessThan(1_000);
      // The third page lost its link with the old leader, elected again and follows the new one over a new link.
      expect(follower.log.filter((e) => e.startsWith('role:'))).toEqual(['role:follower', 'role:electing', 'role:follower']);
      expect(follower.links).toEqual(['m@1', 'm@2']);
      const [newLeaderPage, followerPage] = after[0] === newLeader ? survivors : [survivors[1]!, survivors[0]!];
      // The new leader's first link was the one to the old leader; the follower's comes second.
      expect((await newLeaderPage!.untilMember('m', 'connection', 2)).links).toEqual(['m@1', 'm@2']);
      await followerPage!.send('m@2', 'to the new leader');
      await newLeaderPage!.until('m@2', 'data');
      expect((await newLeaderPage!.snapshot('m@2')).values).toEqual(['to the new leader']);
      for (const p of survivors) expect(p.pageErrors).toEqual([]);
    } finally {
      await Promise.all(pages.filter((p) => !p.page.isClosed()).map((p) => p.page.close()));
    }
  });

  test('a page following a `datasocket join` process: values both ways, and when the process is SIGKILLed the page leads within 1 s', async () => {
    const { A } = world.page;
    const name = 'rv-cli';
    let stderr = '';
    const stdout: string[] = [];
    // process.env holds the test's namespace and trace directory: the CLI resolves the name where the pages do, and traces.
    const cli: ChildProcess = spawn(process.execPath, [CLI, 'join', name], {
      env: { ...process.env, XDG_RUNTIME_DIR: world.app.A.runtimeDir },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    try {
      cli.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      let partial = '';
      cli.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
        const lines = (partial + chunk).split('\n');
        partial = lines.pop()!;
        stdout.push(...lines);
      });
      await expect.poll(() => stderr, { timeout: 10_000 }).toMatch(/leading at/);

      await A.join('m', name);
      await A.untilMember('m', 'connection');
      expect((await A.member('m')).log).toEqual(['role:follower', 'connection']);
      await expect.poll(() => stderr).toMatch(/follower 1 joined/);
      await A.send('m@1', { from: 'the page', n: [1, 2] });
      await expect.poll(() => stdout).toEqual(['{"from":"the page","n":[1,2]}']);
      cli.stdin!.write('{"from":"the process"}\n');
      await A.until('m@1', 'data');
      expect((await A.snapshot('m@1')).values).toEqual([{ ref: 0, proto: 'Object', tag: 'Object', object: [['from', 'the process']] }]);

      const killedAt = Date.now();
      cli.kill('SIGKILL');
      const member = await A.untilMember('m', 'role:leader', 1, 5_000);
      expect(member.log.filter((e) => e.startsWith('role:'))).toEqual(['role:follower', 'role:electing', 'role:leader']);
      expect(member.roleTimes.at(-1)! - killedAt).toBeLessThan(1_000);
      // It leads for real: a page of another instance follows it.
      await world.page.B.join('m', name);
      await world.page.B.untilMember('m', 'role:follower');
      await A.untilMember('m', 'connection', 2);
    } finally {
      cli.kill('SIGKILL');
    }
  });

  test('bad arguments throw ERR_DATASOCKET_INVALID_ARGUMENT in the page, at the call, and nothing is opened', async () => {
    const outcomes = await world.page.A.run((d) => {
      const D = d.DataSocket as unknown as { connectOrListen(...args: unknown[]): { close(): void } };
      const yes = (): boolean => true;
      const cases: [string, unknown[]][] = [
        ['a non-function acceptor', ['yes', 'app']],
        ['a bad name', [yes, 'no/such name']],
        ['port 0', [yes, '127.0.0.1', 0]],
        ['a port out of range', [yes, '127.0.0.1', 70_000]],
        ['a non-boolean failover', [yes, 'app', { failover: 'yes' }]],
        ['an unknown option', [yes, 'app', { fallover: true }]],
        ['tls in the page', [yes, 'app', { tls: {} }]],
      ];
      return cases.map(([what, args]) => {
        try {
          D.connectOrListen(...args).close();
          return { what, code: 'none', name: '', isError: false };
        } catch (error) {
          const e = error as { code?: string; name?: string };
          return { what, code: e.code, name: e.name, isError: error instanceof Error };
        }
      });
    }, null);
    for (const outcome of outcomes) expect(outcome, outcome.what).toEqual({ what: outcome.what, code: ErrorCode.INVALID_ARGUMENT, name: 'DataSocketError', isError: true });
  });
});
