/**
 * §9 in the page, through the real preload: `window.Net.DataSocket.connectOrListen` as an
 * app's pages get it — the shipped preload re-bundled by an app's bundler, run in a
 * sandboxed, context-isolated renderer (test/helpers/fake-renderer.ts, which is stricter
 * than Electron's contextBridge), served by the real bridge (electron-bridge.ts over
 * test/helpers/fake-electron.ts) with real sockets. Page code here is script evaluated in
 * the page's main world: the rendezvous, its handlers and the values are the page's own.
 */
import { describe, expect, it, vi } from 'vitest';
import { DataSocket as NodeDataSocket, ErrorCode } from '../../src/index.js';
import type { RendezvousRole } from '../../src/shared/rendezvous.js';
import type { DataSocketCore } from '../../src/shared/socket-core.js';
import type { FakeTab } from '../helpers/fake-electron.js';
import type { RendererDocument, World } from '../helpers/fake-renderer.js';
import { usePreloadPages } from '../helpers/preload-pages.js';
import { sleep, uniqueName, until } from '../helpers/sockets.js';

vi.mock('electron', async () => (await import('../helpers/fake-electron.js')).fakeElectron);

// Bare names, and the election's key, live in <XDG_RUNTIME_DIR>/datasocket: a directory of this file's own.
// After each test, the pages' members leave first.
const { ours, install, loadPage } = usePreloadPages('ds-rendezvous-', () => {
  for (const member of members.splice(0)) member.leave();
});

/** What a page's member went through, as its main-world handlers recorded it (arrays of the page's world). */
interface MemberLog {
  roles: RendezvousRole[];
  /** The role getter, read inside each `role` handler. */
  getter: RendezvousRole[];
  links: DataSocketCore[];
  values: unknown[];
  errors: { code: string; message: string; name: string }[];
  closes: number;
  acceptorCalls: number;
}

/** The page's Rendezvous, as far as the test touches it. */
interface PageRendezvous {
  readonly role: RendezvousRole;
  close(): void;
}

/** Page code: joins the rendezvous `name` and records everything in its own world. */
const JOIN = `(function (name) {
  var log = { roles: [], getter: [], links: [], values: [], errors: [], closes: 0, acceptorCalls: 0 };
  var member = Net.DataSocket.connectOrListen(function (connection) {
    log.acceptorCalls++;
    return true;
  }, name);
  member
    .on('role', function (role) {
      log.roles.push(role);
      log.getter.push(member.role);
    })
    .on('connection', function (link) {
      log.links.push(link);
      link.on('data', function (value) { log.values.push(value); });
    })
    .on('error', function (error) { log.errors.push({ code: error.code, message: error.message, name: error.name }); })
    .on('close', function () { log.closes++; });
  return { member: member, log: log };
})`;

/** A page (a tab's main frame with the app's preload) that joined the rendezvous `name`. */
interface PageMember {
  tab: FakeTab;
  document: RendererDocument;
  world: World;
  member: PageRendezvous;
  log: MemberLog;
  /** The page leaves, as page code would: closes its member and every link it was handed. */
  leave(): void;
}

const members: PageMember[] = [];

/** Opens a tab whose page has `window.Net` from the app's preload. */
async function openPage(): Promise<{ tab: FakeTab; document: RendererDocument; world: World }> {
  const { tab, document } = await loadPage();
  expect(document.preloadError).toBeUndefined();
  return { tab, document, world: document.mainWorld };
}

/** Page code in `page` calls `Net.DataSocket.connectOrListen(() => true, name)`; the member is left after the test. */
function joinIn(page: Awaited<ReturnType<typeof openPage>>, name: string): PageMember {
  const joined = (page.world.evaluate(JOIN) as (name: string) => { member: PageRendezvous; log: MemberLog })(name);
  const member: PageMember = {
    ...page,
    ...joined,
    leave() {
      if (page.document.unloaded) return;
      joined.member.close();
      for (const link of joined.log.links) link.close();
    },
  };
  members.push(member);
  return member;
}

/** A new page that joined the rendezvous `name`. */
async function join(name: string): Promise<PageMember> {
  return joinIn(await openPage(), name);
}

function settled(member: PageMember): boolean {
  return member.member.role === 'leader' || member.member.role === 'follower';
}

/** Two pages that met at `name`, settled: [leader, follower]. */
async function pair(name: string): Promise<[PageMember, PageMember]> {
  const both = [await join(name), await join(name)];
  await until(() => both.every(settled) && both.some((m) => m.log.links.length === 1 && m.member.role === 'leader'), 5_000);
  const leader = both.find((m) => m.member.role === 'leader')!;
  const follower = both.find((m) => m !== leader)!;
  await until(() => follower.log.links.length === 1, 5_000);
  return [leader, follower];
}

describe('§9 connectOrListen through the real preload: pages of a sandboxed renderer find each other', () => {
  it('two pages elect: exactly one leads, the other follows it; each gets one link, and values of the page go both ways over it', async () => {
    install();
    const [leader, follower] = await pair(uniqueName('rv-two'));
    expect(leader.log.roles).toEqual(['leader']);
    expect(follower.log.roles).toEqual(['follower']);
    expect(leader.log.acceptorCalls).toBe(1);
    expect(follower.log.acceptorCalls).toBe(0);
    expect([leader.log.links.length, follower.log.links.length]).toEqual([1, 1]);
    expect([leader.log.links[0]!.state, follower.log.links[0]!.state]).toEqual(['open', 'open']);

    leader.log.links[0]!.send(leader.world.copyIn({ from: 'the leader', bytes: Uint8Array.of(1, 2, 3), when: new Date(5) }));
    follower.log.links[0]!.send(follower.world.copyIn(new Map([['from', 'the follower']])));
    await until(() => leader.log.values.length === 1 && follower.log.values.length === 1, 5_000);
    // copyOut throws for any object that is not of that page's own world.
    expect(follower.world.copyOut(follower.log.values[0])).toStrictEqual({ from: 'the leader', bytes: Uint8Array.of(1, 2, 3), when: new Date(5) });
    expect(leader.world.copyOut(leader.log.values[0])).toStrictEqual(new Map([['from', 'the follower']]));
    expect([leader.log.errors, follower.log.errors]).toEqual([[], []]);
  });

  it('three pages started at once: one leader, two followers, and the leader holds a link to each', async () => {
    install();
    const name = uniqueName('rv-three');
    const pages = await Promise.all([openPage(), openPage(), openPage()]);
    // All three call connectOrListen in the same turn: nobody has led yet.
    const joined = pages.map((page) => joinIn(page, name));
    await until(() => joined.every((j) => j.member.role === 'leader' || j.member.role === 'follower'), 5_000);
    const roles = joined.map((j) => j.member.role);
    expect([...roles].sort()).toEqual(['follower', 'follower', 'leader']);
    const leader = joined.find((j) => j.member.role === 'leader')!;
    await until(() => leader.log.links.length === 2, 5_000);
    for (const j of joined) expect(j.log.errors).toEqual([]);
  });

  for (const [how, away] of [
    [
      'its window closes (webContents destroyed)',
      (m: PageMember) => {
        m.tab.destroy();
        m.document.unload();
      },
    ],
    [
      'its renderer crashes (render-process-gone, then the port closes)',
      async (m: PageMember) => {
        await m.tab.crash({ reason: 'crashed' });
        m.document.unload();
      },
    ],
    [
      'its renderer crashes (the port closes first, render-process-gone after)',
      async (m: PageMember) => {
        m.document.unload();
        await m.tab.crash({ reason: 'killed' });
      },
    ],
  ] as const) {
    it(`the leader page goes away — ${how}: within 1 s the follower page leads, and a new page follows it`, async () => {
      install();
      const name = uniqueName('rv-gone');
      const [leader, follower] = await pair(name);
      const gone = Date.now();
      await away(leader);
      await until(() => follower.member.role === 'leader', 5_000);
      expect(Date.now() - gone).toBeLessThan(1_000);
      expect(follower.log.roles).toEqual(['follower', 'electing', 'leader']);
      expect(follower.log.getter).toEqual(follower.log.roles);
      expect(follower.log.errors).toEqual([]);
      // The old link ended; the rendezvous handed out nothing new for it (nothing is resent).
      expect(follower.log.links.map((l) => l.state)).toEqual(['closed']);

      const late = await join(name);
      await until(() => late.member.role === 'follower' && follower.log.links.length === 2, 5_000);
      follower.log.links[1]!.send(follower.world.copyIn({ to: 'the late page' }));
      await until(() => late.log.values.length === 1, 5_000);
      expect(late.world.copyOut(late.log.values[0])).toStrictEqual({ to: 'the late page' });
    });
  }

  it('the leader page leaves with close() (and closes its link): it ends with role closed and one close, the follower page leads, and a Node member then follows that page', async () => {
    install();
    const name = uniqueName('rv-leave');
    const [leader, follower] = await pair(name);
    leader.leave();
    await until(() => follower.member.role === 'leader', 5_000);
    expect(leader.member.role).toBe('closed');
    expect(leader.log.roles).toEqual(['leader', 'closed']);
    expect(leader.log.closes).toBe(1);

    const node = NodeDataSocket.connectOrListen(() => true, name);
    ours.push(node);
    const fromPage: unknown[] = [];
    node.on('connection', (link) => {
      ours.push(link);
      link.on('data', (value) => fromPage.push(value));
    });
    await until(() => node.role === 'follower' && follower.log.links.length === 2, 5_000);
    follower.log.links[1]!.send(follower.world.copyIn(['to', 'node']));
    await until(() => fromPage.length === 1, 5_000);
    expect(fromPage).toStrictEqual([['to', 'node']]);
  });
});

describe('§9 the page\'s Rendezvous object is a main-world object with the §2 emitter rules', () => {
  /** Runs `body` (page code, given `Net` and `name`) in a fresh page's main world; returns what it returns, copied out. */
  async function inPage<T>(body: string, name = uniqueName('rv-api')): Promise<{ result: T; page: Awaited<ReturnType<typeof openPage>> }> {
    const page = await openPage();
    const run = page.world.evaluate(`(function (name) { ${body} })`) as (name: string) => unknown;
    return { result: run(name) as T, page };
  }

  it('on, once and off return the very rendezvous; role is a getter that reads electing, then the role, then closed', async () => {
    install();
    const { result, page } = await inPage<{ same: boolean; roleAtCall: string; ownRole: boolean; member: PageRendezvous }>(`
      var member = Net.DataSocket.connectOrListen(function () { return true; }, name);
      var f = function () {};
      var results = [member.on('role', f), member.once('close', f), member.off('role'), member.off(f), member.on('error.x', f).on('connection.x', f).off('.x')];
      var descriptor = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(member), 'role');
      return {
        same: results.every(function (r) { return r === member; }),
        roleAtCall: member.role,
        ownRole: Object.prototype.hasOwnProperty.call(member, 'role') || descriptor === undefined || typeof descriptor.get !== 'function' || descriptor.set !== undefined,
        member: member,
      };
    `);
    expect(result.same).toBe(true);
    expect(result.roleAtCall).toBe('electing');
    // A getter on the prototype, without a setter: page code cannot make itself leader.
    expect(result.ownRole).toBe(false);
    await until(() => result.member.role === 'leader', 5_000);
    const set = page.world.evaluate(`(function (member) { 'use strict'; try { member.role = 'follower'; return 'assigned'; } catch (e) { return e instanceof TypeError ? 'TypeError' : String(e); } })`) as (m: PageRendezvous) => string;
    expect(set(result.member)).toBe('TypeError');
    expect(result.member.role).toBe('leader');
    result.member.close();
    result.member.close();
    expect(result.member.role).toBe('closed');
  });

  it("namespaces and off(f): off('.ui'), off('role.x'), off(f) with the very f given to on and once; once runs once", async () => {
    install();
    const name = uniqueName('rv-ns');
    // A member to follow, so that the page below sees role and connection events.
    const leader = await join(name);
    await until(() => leader.member.role === 'leader', 5_000);

    const { result } = await inPage<{ calls: string[]; member: PageRendezvous }>(
      `
      var calls = [];
      var f = function (what) { calls.push('f:' + (typeof what === 'string' ? what : 'link')); };
      var member = Net.DataSocket.connectOrListen(function () { return true; }, name);
      member
        .on('role', f)
        .once('role', f)
        .on('role.x', f)
        .on('role.ui', function (role) { calls.push('ui:' + role); })
        .on('connection.ui', function () { calls.push('ui:connection'); })
        .on('role.y', function (role) { calls.push('y:' + role); })
        .once('connection', function (link) { calls.push('once:connection'); link.close(); })
        .on('close.y', function () { calls.push('y:close'); });
      member.off(f).off('.ui').off('role.x');
      return { calls: calls, member: member };
    `,
      name,
    );
    await until(() => result.member.role === 'follower', 5_000);
    // The once-handler closed the link: the member elects again, the leader still leads, it follows again.
    await until(() => result.calls.filter((c) => c === 'y:follower').length === 2, 5_000);
    result.member.close();
    expect([...result.calls]).toEqual(['y:follower', 'once:connection', 'y:electing', 'y:follower', 'y:closed', 'y:close']);
  });

  it("an event name a rendezvous does not have throws ERR_DATASOCKET_INVALID_ARGUMENT in the page, as a main-world error", async () => {
    install();
    const { result, page } = await inPage<{ code: string; name: string; ofPage: boolean; member: PageRendezvous }>(`
      var member = Net.DataSocket.connectOrListen(function () { return true; }, name);
      try {
        member.on('data', function () {});
        return { code: 'none', name: '', ofPage: false, member: member };
      } catch (error) {
        return { code: error.code, name: error.name, ofPage: error instanceof Error, member: member };
      }
    `);
    expect(result).toMatchObject({ code: ErrorCode.INVALID_ARGUMENT, name: 'DataSocketError', ofPage: true });
    result.member.close();
    await sleep(20);
    expect(page.document.uncaught).toEqual([]);
  });

  it.each([
    ['a non-function acceptor', "Net.DataSocket.connectOrListen('yes', name)"],
    ['a bad name', "Net.DataSocket.connectOrListen(function () { return true; }, 'no/such name')"],
    ['port 0', "Net.DataSocket.connectOrListen(function () { return true; }, '127.0.0.1', 0)"],
    ['a non-boolean failover', "Net.DataSocket.connectOrListen(function () { return true; }, name, { failover: 'yes' })"],
    ['an unknown option', "Net.DataSocket.connectOrListen(function () { return true; }, name, { fallover: true })"],
    ['tls in the page', "Net.DataSocket.connectOrListen(function () { return true; }, name, { tls: {} })"],
  ])('%s throws ERR_DATASOCKET_INVALID_ARGUMENT at the call, in the page', async (_what, call) => {
    install();
    const { result } = await inPage<{ code: string; name: string; ofPage: boolean }>(`
      try {
        ${call};
        return { code: 'none', name: '', ofPage: false };
      } catch (error) {
        return { code: error.code, name: error.name, ofPage: error instanceof Error };
      }
    `);
    expect(result).toEqual({ code: ErrorCode.INVALID_ARGUMENT, name: 'DataSocketError', ofPage: true });
  });
});
