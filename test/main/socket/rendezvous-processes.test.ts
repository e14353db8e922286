/**
 * SPEC §9 with real processes: every member of a rendezvous is a separate Node process
 * (test/fixtures/member.mjs, over the built package), the way app instances meet. Many
 * start at the same instant, leaders are SIGKILLed, stale socket files are left behind,
 * and each time exactly one member must lead and every other follow it, within the
 * bounds the spec gives.
 *
 * The members share a private per-user directory (XDG_RUNTIME_DIR), so the election
 * key in it is made by members racing for it too. Processes are reused from test to
 * test (starting twenty takes two seconds on two cores); a member leaves its rendezvous
 * before it is handed to the next test.
 */
import fs from 'node:fs';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSocketFile, resolveTarget } from '../../../src/main/socket/endpoint.js';
import { ensureBuilt } from '../../helpers/built.js';
import { useCleanup } from '../../helpers/cleanup.js';
import { startMembers, type Member, type RoundEvent } from '../../helpers/member.js';
import { listenIn } from '../../helpers/peer.js';
import { sleep, tempDir, uniqueName } from '../../helpers/sockets.js';

const { spawn } = useCleanup();

const runtimeDir = tempDir('xdg-');
const ENV = { XDG_RUNTIME_DIR: runtimeDir };
let savedRuntimeDir: string | undefined;
beforeAll(() => {
  ensureBuilt();
  savedRuntimeDir = process.env.XDG_RUNTIME_DIR;
  process.env.XDG_RUNTIME_DIR = runtimeDir;
});

/** SPEC §9: within 1 s of a leader's death there is one new leader and every survivor follows it. */
const FAILOVER_BOUND_MS = 1_000;
/** Far above any election seen here: only a member stuck electing takes this long. */
const STUCK_MS = 10_000;

/** Members no test holds, ready to join; every member started, to stop at the end. */
const idle: Member[] = [];
const started: Member[] = [];

afterAll(async () => {
  await Promise.all(started.map((m) => m.stop()));
  if (savedRuntimeDir === undefined) delete process.env.XDG_RUNTIME_DIR;
  else process.env.XDG_RUNTIME_DIR = savedRuntimeDir;
  fs.rmSync(runtimeDir, { recursive: true, force: true });
});

/** `count` ready members that are in no rendezvous: idle ones first, new ones for the rest. */
async function take(count: number): Promise<Member[]> {
  const taken = idle.splice(0).filter((m) => m.running);
  if (taken.length < count) {
    const fresh = await startMembers(count - taken.length, ENV);
    started.push(...fresh);
    taken.push(...fresh);
  }
  idle.push(...taken.splice(count));
  return taken;
}

/** Makes members leave their rendezvous and keeps the living ones for the next test. */
async function giveBack(members: Member[]): Promise<void> {
  const alive = members.filter((m) => m.running);
  await Promise.all(alive.map((m) => m.run({ op: 'leave' })));
  idle.push(...alive);
}

/** The socket file of a bare name, in this file's per-user directory. */
function socketPathOf(name: string): string {
  const target = resolveTarget({ name, port: undefined });
  if (target.kind !== 'local') throw new Error(`${name} is not a local name`);
  return target.path;
}

/** Wall-clock ms, as the members report it. */
function now(): number {
  return performance.timeOrigin + performance.now();
}

/** Tells every member to join `name` at one shared instant, far enough ahead for every message to arrive. */
function releaseTogether(members: Member[], round: string, name: string, extra: { port?: number; options?: Record<string, unknown>; endWhenClosed?: boolean } = {}): void {
  const at = Date.now() + 150;
  for (const member of members) member.send({ op: 'join', round, name, at, ...extra });
}

/** Where members' roles stand, for failure messages. */
function describeRoles(members: Member[], round: string): string {
  return members.map((m) => `${m.pid}: ${m.roles(round).join(' → ') || 'electing'}`).join('; ');
}

/** Polls `settled` until it holds; fails naming every member's roles after `timeoutMs`. */
async function waitUntil(members: Member[], round: string, settled: () => boolean, what: string, timeoutMs = STUCK_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!settled()) {
    if (Date.now() > deadline) throw new Error(`round ${round}: not ${what} within ${timeoutMs} ms — ${describeRoles(members, round)}`);
    await sleep(5);
  }
}

/** The leader `leader` was greeted by every one of `followers`, and each of them by it, after `since`. */
function linkedAll(leader: Member, followers: Member[], round: string, since = 0): boolean {
  const greeted = new Set(leader.round(round).flatMap((e) => (e.ev === 'follower' && e.t > since ? [e.pid] : [])));
  return followers.every((f) => greeted.has(f.pid) && f.round(round).some((e) => e.ev === 'linked' && e.t > since && e.leader === leader.pid));
}

/** Waits until one member leads and the others all follow it; returns the leader. */
async function settle(members: Member[], round: string): Promise<Member> {
  let leader: Member | undefined;
  await waitUntil(
    members,
    round,
    () => {
      leader = members.find((m) => m.roles(round).includes('leader'));
      return leader !== undefined && linkedAll(leader, members.filter((m) => m !== leader), round);
    },
    'one leader with every other member linked to it',
  );
  return leader!;
}

/**
 * Exactly one leader, which led throughout; every other member followed it from the
 * start and was linked to it once, and the leader was greeted by each of them, once.
 */
function expectOneLeaderFollowedByAll(members: Member[], round: string): Member {
  const leaders = members.filter((m) => m.roles(round).includes('leader'));
  expect(leaders.map((m) => m.pid), describeRoles(members, round)).toHaveLength(1);
  const leader = leaders[0]!;
  const followers = members.filter((m) => m !== leader);
  expect(leader.roles(round)).toEqual(['leader']);
  const greetedBy = leader.round(round).flatMap((e) => (e.ev === 'follower' ? [e.pid] : []));
  expect(greetedBy).toHaveLength(followers.length);
  expect(new Set(greetedBy)).toEqual(new Set(followers.map((f) => f.pid)));
  for (const follower of followers) {
    expect(follower.roles(round), `member ${follower.pid}`).toEqual(['follower']);
    expect(follower.round(round).flatMap((e) => (e.ev === 'linked' ? [e.leader] : []))).toEqual([leader.pid]);
  }
  for (const member of members) expect(member.round(round).filter((e) => e.ev === 'error' || e.ev === 'close')).toEqual([]);
  return leader;
}

/**
 * Kills `leader` and waits for the survivors to settle again: one of them leads, every
 * other is linked to it. Returns the new leader and the time from the kill to the last
 * survivor's link.
 */
async function killLeaderAndSettle(leader: Member, survivors: Member[], round: string): Promise<{ next: Member; ms: number }> {
  // What each survivor reported before the kill, by position: the processes' clocks may differ by a
  // few ms, so a role a member took just before the kill could carry a time just after it.
  const before = new Map(survivors.map((m) => [m, m.events.length]));
  const since = (m: Member): RoundEvent[] => m.events.slice(before.get(m)).filter((e): e is RoundEvent => 'round' in e && e.round === round);
  const killedAt = now();
  leader.kill('SIGKILL');
  let next: Member | undefined;
  const ledSince = (m: Member): boolean => since(m).some((e) => e.ev === 'role' && e.role === 'leader');
  await waitUntil(
    survivors,
    round,
    () => {
      next = survivors.find(ledSince);
      return next !== undefined && linkedAll(next, survivors.filter((m) => m !== next), round, killedAt);
    },
    'failed over',
  );
  const newLeader = next!;
  const followers = survivors.filter((m) => m !== newLeader);
  // Never two listeners: nobody else led after the kill, and each survivor went through exactly one election.
  expect(survivors.filter(ledSince).map((m) => m.pid)).toEqual([newLeader.pid]);
  const rolesSince = (m: Member): string[] => since(m).flatMap((e) => (e.ev === 'role' ? [e.role] : []));
  expect(rolesSince(newLeader)).toEqual(['electing', 'leader']);
  for (const follower of followers) expect(rolesSince(follower), `member ${follower.pid}`).toEqual(['electing', 'follower']);
  const linkedAt = followers.flatMap((f) => f.round(round).flatMap((e) => (e.ev === 'linked' && e.t > killedAt ? [e.t] : [])));
  const ledAt = newLeader.round(round).flatMap((e) => (e.ev === 'role' && e.role === 'leader' && e.t > killedAt ? [e.t] : []));
  return { next: newLeader, ms: Math.max(...ledAt, ...linkedAt) - killedAt };
}

/**
 * How a round of the race ends: every member leaves (the leader last, removing its socket
 * file); or the followers leave and the leader is SIGKILLed; or all twenty are SIGKILLed at
 * once. The last two leave a stale socket file for the next round to race over.
 */
const ENDINGS = ['leave', 'kill the leader', 'kill all', 'leave', 'kill the leader', 'leave'] as const;

describe('§9 election among processes started at the same instant', () => {
  it('20 processes × 20 rounds: each round exactly one leads and 19 follow it, nobody stuck electing, never two leaders — also over the stale files of killed rounds', async () => {
    const name = uniqueName('rdv-race');
    const socketPath = socketPathOf(name);
    let members = await take(20);
    for (let r = 0; r < 20; r++) {
      const round = `race-${r}`;
      releaseTogether(members, round, name);
      await settle(members, round);
      const leader = expectOneLeaderFollowedByAll(members, round);
      const followers = members.filter((m) => m !== leader);
      const ending = ENDINGS[r % ENDINGS.length]!;
      if (ending === 'kill all') {
        for (const member of members) member.kill('SIGKILL');
        await Promise.all(members.map((m) => m.exited));
        members = await take(20);
      } else {
        await Promise.all(followers.map((m) => m.run({ op: 'leave' })));
        if (ending === 'leave') {
          await leader.run({ op: 'leave' });
          expect(fs.existsSync(socketPath)).toBe(false);
        } else {
          leader.kill('SIGKILL');
          await leader.exited;
          expect(isSocketFile(socketPath)).toBe(true);
          members = [...followers, ...(await take(1))];
        }
      }
    }
    await giveBack(members);
  }, 120_000);
});

describe('§9 failover among processes', () => {
  it('10 members, the leader SIGKILLed 10 times in a row: each time one new leader and every survivor re-linked within 1 s, and a value relayed through it', async () => {
    const name = uniqueName('rdv-failover');
    const round = 'failover';
    const started20 = await take(20);
    let members = started20.slice(0, 10);
    const spares = started20.slice(10);
    releaseTogether(members, round, name);
    let leader = await settle(members, round);
    const times: number[] = [];
    for (let i = 0; i < 10; i++) {
      const survivors = members.filter((m) => m !== leader);
      const { next, ms } = await killLeaderAndSettle(leader, survivors, round);
      times.push(ms);
      // A value through the new leader: one survivor sends, every other follower gets it relayed.
      const followers = survivors.filter((m) => m !== next);
      const [sender, ...receivers] = followers;
      const marks = receivers.map((m) => m.events.length);
      await sender!.run({ op: 'relay', value: { failover: i } });
      await Promise.all(
        receivers.map((m, k) => m.waitFor((e) => e.ev === 'relayed' && e.from === sender!.pid && (e.value as { failover: number }).failover === i, 5_000, marks[k])),
      );
      // Ten members again: a new one joins and follows the new leader.
      const joiner = spares[i]!;
      joiner.send({ op: 'join', round, name });
      await waitUntil([joiner], round, () => linkedAll(next, [joiner], round), 'joined');
      expect(joiner.roles(round)).toEqual(['follower']);
      members = [...survivors, joiner];
      leader = next;
    }
    expect(Math.max(...times), `failover times (ms): ${times.map((t) => t.toFixed(0)).join(', ')}`).toBeLessThan(FAILOVER_BOUND_MS);
    await giveBack(members);
  }, 60_000);

  it('ten members started at the instant their leader is SIGKILLed (5 times, a few ms apart): one of them leads, the others follow it, none fails', async () => {
    const name = uniqueName('rdv-dying');
    let members = await take(11);
    for (let r = 0; r < 5; r++) {
      const round = `dying-${r}`;
      const [doomed, ...joining] = members;
      doomed!.send({ op: 'join', round: `${round}-doomed`, name });
      await doomed!.waitFor((e) => e.ev === 'role' && e.round === `${round}-doomed` && e.role === 'leader');
      releaseTogether(joining, round, name);
      // The kill lands from just before to just after the members start (releaseTogether: 150 ms ahead).
      await sleep(146 + 2 * r);
      doomed!.kill('SIGKILL');
      let leader: Member | undefined;
      await waitUntil(
        joining,
        round,
        () => {
          leader = joining.find((m) => m.roles(round).includes('leader'));
          return leader !== undefined && linkedAll(leader, joining.filter((m) => m !== leader), round);
        },
        'led and followed',
      );
      expect(joining.filter((m) => m.roles(round).includes('leader')).map((m) => m.pid)).toEqual([leader!.pid]);
      for (const member of joining) {
        expect(member.round(round).filter((e) => e.ev === 'error' || e.ev === 'close')).toEqual([]);
        expect(member.roles(round).at(-1)).toBe(member === leader ? 'leader' : 'follower');
      }
      await Promise.all(joining.map((m) => m.run({ op: 'leave' })));
      members = [...joining, ...(await take(1))];
    }
    await giveBack(members);
  });

  it('a leader that calls close() and exits by itself is followed by exactly one new leader that every survivor follows', async () => {
    const name = uniqueName('rdv-close');
    const round = 'close';
    const members = await take(5);
    releaseTogether(members, round, name);
    const leader = await settle(members, round);
    const survivors = members.filter((m) => m !== leader);
    const leftAt = now();
    await leader.run({ op: 'leave' });
    await leader.run({ op: 'end' });
    // Nothing of the library keeps a process alive once its rendezvous and sockets are closed.
    expect(await leader.exited).toEqual({ code: 0, signal: null });
    const ledSince = (m: Member): boolean => m.round(round).some((e) => e.ev === 'role' && e.role === 'leader' && e.t > leftAt);
    let next: Member | undefined;
    await waitUntil(
      survivors,
      round,
      () => {
        next = survivors.find(ledSince);
        return next !== undefined && linkedAll(next, survivors.filter((m) => m !== next), round, leftAt);
      },
      'led again',
    );
    expect(survivors.filter(ledSince)).toHaveLength(1);
    await giveBack(survivors);
  });

  it('failover: false — when the leader dies, each follower’s rendezvous closes without electing, and its process ends by itself', async () => {
    const name = uniqueName('rdv-nofail');
    const round = 'no-failover';
    const members = await take(4);
    releaseTogether(members, round, name, { options: { failover: false }, endWhenClosed: true });
    const leader = await settle(members, round);
    const followers = members.filter((m) => m !== leader);
    leader.kill('SIGKILL');
    const exits = await Promise.all(followers.map((m) => Promise.race([m.exited, sleep(5_000).then(() => 'still running')])));
    expect(exits).toEqual(followers.map(() => ({ code: 0, signal: null })));
    for (const follower of followers) {
      expect(follower.roles(round)).toEqual(['follower', 'closed']);
      expect(follower.round(round).map((e) => e.ev)).toEqual(['role', 'linked', 'role', 'close']);
    }
    expect(isSocketFile(socketPathOf(name))).toBe(true);
  });
});

describe('§9 stale socket files and other listeners', () => {
  it('a stale file left by a SIGKILLed plain listener: ten members started together replace it, one leads, nine follow', async () => {
    const name = uniqueName('rdv-stale');
    const peer = spawn(ENV);
    const at = (await listenIn(peer, { name })) as { path: string };
    peer.kill('SIGKILL');
    await peer.exited;
    expect(isSocketFile(at.path)).toBe(true);
    const members = await take(10);
    releaseTogether(members, 'stale-plain', name);
    await settle(members, 'stale-plain');
    expectOneLeaderFollowedByAll(members, 'stale-plain');
    await giveBack(members);
  });

  it('a stale file left by a SIGKILLed lone leader: ten members started together replace it, one leads, nine follow', async () => {
    const name = uniqueName('rdv-stale');
    const [lone] = await take(1);
    lone!.send({ op: 'join', round: 'lone', name });
    // A member reused from another test reported roles before: this round's only.
    await lone!.waitFor((e) => e.ev === 'role' && e.round === 'lone' && e.role === 'leader');
    lone!.kill('SIGKILL');
    await lone!.exited;
    expect(isSocketFile(socketPathOf(name))).toBe(true);
    const members = await take(10);
    releaseTogether(members, 'stale-leader', name);
    await settle(members, 'stale-leader');
    expectOneLeaderFollowedByAll(members, 'stale-leader');
    await giveBack(members);
  });

  it('a live plain listener at the name (DataSocket.listen in another process): ten members started together all follow it', async () => {
    const name = uniqueName('rdv-plain');
    const peer = spawn(ENV);
    await listenIn(peer, { name });
    const members = await take(10);
    releaseTogether(members, 'plain', name);
    await waitUntil(members, 'plain', () => members.every((m) => m.roles('plain').includes('follower')), 'all following');
    for (const member of members) expect(member.roles('plain')).toEqual(['follower']);
    await waitUntil(members, 'plain', () => peer.events.filter((e) => e.ev === 'connect').length === 10, 'all accepted');
    await giveBack(members);
  });
});

describe('§9 over TCP on 127.0.0.1 among processes', () => {
  it('ten members started together on one port: one leads, nine follow; its SIGKILL gives one new leader within 1 s', async () => {
    const port = await freePort();
    const round = 'tcp';
    const members = await take(10);
    releaseTogether(members, round, '127.0.0.1', { port });
    await settle(members, round);
    const leader = expectOneLeaderFollowedByAll(members, round);
    const { ms } = await killLeaderAndSettle(
      leader,
      members.filter((m) => m !== leader),
      round,
    );
    expect(ms).toBeLessThan(FAILOVER_BOUND_MS);
    await giveBack(members.filter((m) => m !== leader));
  });
});

/** A TCP port nothing listens on right now. */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
