/**
 * SPEC §9 `connectOrListen` in one process, over real sockets: roles and their events,
 * the links handed out, the acceptor, close(), failover and `failover: false`, the
 * argument checks, TCP, and what a member finds at the name — a stale file, a plain
 * listener, a lock held by someone who never listens, a server that never answers.
 * Races between processes: rendezvous-processes.test.ts.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DataSocket, DataSocketError, ErrorCode, type Rendezvous } from '../../../src/index.js';
import { abstractLockName, electionLockKind } from '../../../src/main/socket/election.js';
import { resolveTarget } from '../../../src/main/socket/endpoint.js';
import { useCleanup } from '../../helpers/cleanup.js';
import { listenIn } from '../../helpers/peer.js';
import { useRuntimeDir } from '../../helpers/runtime-dir.js';
import { once, sleep, tempDir, uniqueName, until } from '../../helpers/sockets.js';
import { expectThrows } from '../../helpers/rejection.js';

const { track, spawn } = useCleanup();

// This file's own per-user directory, shared with the peer processes it starts.
const runtimeDir = useRuntimeDir();
const ENV = { XDG_RUNTIME_DIR: runtimeDir };

type Member = Rendezvous<DataSocket>;

/**
 * Joins `name` and records what the rendezvous emits: `log` in order (`role:<role>`,
 * `connection`, `error:<code>`, `close`), the sockets handed out (each tracked, so the
 * test's end closes them), the errors, and a promise of `close`.
 */
function join(name: string, port?: number, options?: Record<string, unknown>, acceptor: (c: DataSocket) => boolean | Promise<boolean> = () => true) {
  const member = track(DataSocket.connectOrListen(acceptor, name, port, options));
  return { member, ...recorded(member) };
}

function recorded(member: Member) {
  const log: string[] = [];
  const connections: DataSocket[] = [];
  const errors: DataSocketError[] = [];
  let resolveClosed!: () => void;
  const closed = new Promise<void>((resolve) => (resolveClosed = resolve));
  member
    .on('role', (role) => log.push(`role:${role}`))
    .on('connection', (socket) => {
      log.push('connection');
      connections.push(track(socket));
    })
    .on('error', (error) => {
      log.push(`error:${error.code}`);
      errors.push(error);
    })
    .on('close', () => {
      log.push('close');
      resolveClosed();
    });
  return { log, connections, errors, closed };
}

async function untilRole(member: Member, role: string, timeoutMs = 5_000): Promise<void> {
  await until(() => member.role === role, timeoutMs);
}

function socketPathOf(name: string): string {
  const target = resolveTarget({ name, port: undefined });
  if (target.kind !== 'local') throw new Error(`${name} is not a local name`);
  return target.path;
}

/** A TCP port nothing listens on right now. */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A leader at `name` with one follower linked to it; each side's link is open. */
async function leaderAndFollower(name: string, port?: number, followerOptions?: Record<string, unknown>) {
  const leader = join(name, port);
  await untilRole(leader.member, 'leader');
  const follower = join(name, port, followerOptions);
  await until(() => follower.connections.length === 1 && leader.connections.length === 1);
  return { leader, follower };
}

describe('§9 roles, links and their events', () => {
  it('the first member leads (role leader); the next follows (role follower, then connection); values cross the link both ways', async () => {
    const name = uniqueName('rdv');
    const leader = join(name);
    expect(leader.member.role).toBe('electing');
    await untilRole(leader.member, 'leader');
    expect(leader.log).toEqual(['role:leader']);
    const follower = join(name);
    expect(follower.member.role).toBe('electing');
    await until(() => follower.connections.length === 1 && leader.connections.length === 1);
    expect(follower.log).toEqual(['role:follower', 'connection']);
    expect(leader.log).toEqual(['role:leader', 'connection']);
    expect(follower.member.role).toBe('follower');
    const [link] = follower.connections;
    const [served] = leader.connections;
    expect(link!.state).toBe('open');
    expect(served!.state).toBe('open');
    const toLeader = once(served!, 'data');
    link!.send({ from: 'follower', n: 1 });
    expect(await toLeader).toEqual({ from: 'follower', n: 1 });
    const toFollower = once(link!, 'data');
    served!.send({ from: 'leader', bytes: new Uint8Array([1, 2, 3]) });
    expect(await toFollower).toEqual({ from: 'leader', bytes: new Uint8Array([1, 2, 3]) });
  });

  it('a leader hands out every follower its acceptor accepted, one connection each', async () => {
    const name = uniqueName('rdv');
    const leader = join(name);
    await untilRole(leader.member, 'leader');
    const followers = [join(name), join(name), join(name)];
    await until(() => leader.connections.length === 3 && followers.every((f) => f.connections.length === 1));
    for (const follower of followers) expect(follower.log).toEqual(['role:follower', 'connection']);
    expect(leader.log).toEqual(['role:leader', 'connection', 'connection', 'connection']);
  });

  it('a follower its leader’s acceptor refuses: the rendezvous fails with ERR_DATASOCKET_REJECTED, then role closed and close; the leader leads on', async () => {
    const name = uniqueName('rdv');
    let asked = 0;
    const leader = join(name, undefined, undefined, () => {
      asked++;
      return false;
    });
    await untilRole(leader.member, 'leader');
    const refused = join(name);
    await refused.closed;
    expect(refused.log).toEqual([`error:${ErrorCode.REJECTED}`, 'role:closed', 'close']);
    expect(refused.member.role).toBe('closed');
    expect(asked).toBe(1);
    await sleep(50);
    expect(leader.log).toEqual(['role:leader']);
    expect(leader.member.role).toBe('leader');
  });

  it('an acceptor that calls off() on the connection it is given does not keep it from being handed out', async () => {
    const name = uniqueName('rdv');
    const leader = join(name, undefined, undefined, (connection) => {
      connection.off('connect').off('close').off('error');
      return true;
    });
    await untilRole(leader.member, 'leader');
    const follower = join(name);
    await until(() => leader.connections.length === 1 && follower.connections.length === 1);
    expect(leader.log).toEqual(['role:leader', 'connection']);
  });

  it('on, once and off chain and take namespaces, as a socket’s do (§2); an unknown event name throws', async () => {
    const name = uniqueName('rdv');
    const member = track(DataSocket.connectOrListen(() => true, name));
    const seen: string[] = [];
    const other = (role: string): void => void seen.push(`other:${role}`);
    expect(member.on('role.mine', (role) => seen.push(`mine:${role}`)).on('role', other).once('close', () => seen.push('close'))).toBe(member);
    expect(member.off('.mine').off(other)).toBe(member);
    member.on('role', (role) => seen.push(`kept:${role}`));
    await untilRole(member, 'leader');
    member.close();
    expect(seen).toEqual(['kept:leader', 'kept:closed', 'close']);
    expectThrows(() => member.on('data' as 'role', () => {}), ErrorCode.INVALID_ARGUMENT);
  });
});

describe('§9 what only connectOrListen makes', () => {
  it('a Rendezvous cannot be made with new: ERR_DATASOCKET_INVALID_ARGUMENT', async () => {
    const { Rendezvous } = await import('../../../src/index.js');
    expectThrows(() => new (Rendezvous as unknown as new (...args: unknown[]) => unknown)({ lead() {}, follow() {} }, () => true, true, 1000), ErrorCode.INVALID_ARGUMENT);
  });

  it('unusable tls options are refused at the call, as listen refuses them', () => {
    expectThrows(() => DataSocket.connectOrListen(() => true, uniqueName('rdv-tls'), { tls: { key: 'not a key', cert: 'not a cert' } }), ErrorCode.INVALID_ARGUMENT);
  });

  it('a member that closes in its role handler as it becomes a follower: the link it was about to get is closed, not left open at the leader', async () => {
    const name = uniqueName('rdv-role-close');
    const leader = join(name);
    await untilRole(leader.member, 'leader');
    const member = track(DataSocket.connectOrListen(() => true, name));
    let handedOut = 0;
    member.on('role', (role) => {
      if (role === 'follower') member.close();
    });
    member.on('connection', () => handedOut++);
    // The leader got the follower's link and sees it close again.
    await until(() => leader.connections.length === 1 && leader.connections[0]!.state === 'closed');
    expect(handedOut).toBe(0);
    expect(member.role).toBe('closed');
  });
});

describe('§9 close()', () => {
  it('of a leader removes its socket file; a follower elects again and leads once the app closed the connections the leader handed out', async () => {
    const name = uniqueName('rdv');
    const file = socketPathOf(name);
    const { leader, follower } = await leaderAndFollower(name);
    expect(fs.existsSync(file)).toBe(true);
    leader.member.close();
    expect(fs.existsSync(file)).toBe(false);
    expect(leader.log).toEqual(['role:leader', 'connection', 'role:closed', 'close']);
    // The leader's handed-out connection is the app's and still open: the follower's link with it.
    await sleep(100);
    expect(follower.member.role).toBe('follower');
    expect(follower.connections[0]!.state).toBe('open');
    leader.connections[0]!.close();
    await untilRole(follower.member, 'leader');
    expect(follower.log).toEqual(['role:follower', 'connection', 'role:electing', 'role:leader']);
    expect(fs.statSync(file).isSocket()).toBe(true);
    const next = join(name);
    await until(() => next.connections.length === 1 && follower.connections.length === 2);
    expect(next.log).toEqual(['role:follower', 'connection']);
  });

  it('is idempotent: role closed, then close, exactly once — leading, following, or still electing; nothing after', async () => {
    const name = uniqueName('rdv');
    const { leader, follower } = await leaderAndFollower(name);
    const electing = join(uniqueName('rdv'));
    expect(electing.member.role).toBe('electing');
    for (const { member } of [electing, follower, leader]) {
      member.close();
      member.close();
      expect(member.role).toBe('closed');
      member.close();
    }
    await sleep(100);
    expect(electing.log).toEqual(['role:closed', 'close']);
    expect(follower.log).toEqual(['role:follower', 'connection', 'role:closed', 'close']);
    expect(leader.log).toEqual(['role:leader', 'connection', 'role:closed', 'close']);
    // The sockets handed out stay open: they are the app's.
    expect(follower.connections[0]!.state).toBe('open');
    expect(leader.connections[0]!.state).toBe('open');
  });

  it('of a leader whose acceptor is still deciding: a follower accepted afterwards is not left following a member that no longer leads — its link closes and it elects again', async () => {
    const name = uniqueName('rdv');
    let asked!: () => void;
    const acceptorCalled = new Promise<void>((resolve) => (asked = resolve));
    const leader = join(name, undefined, undefined, async () => {
      asked();
      await sleep(150);
      return true;
    });
    await untilRole(leader.member, 'leader');
    const follower = join(name);
    await acceptorCalled;
    leader.member.close();
    // Never handed out through `connection`, that connection is not the app's: nobody else would ever close it.
    await untilRole(follower.member, 'leader');
    expect(leader.log).toEqual(['role:leader', 'role:closed', 'close']);
    expect(follower.log).toEqual(['role:follower', 'connection', 'role:electing', 'role:leader']);
    const next = join(name);
    await until(() => next.connections.length === 1);
    expect(next.log).toEqual(['role:follower', 'connection']);
  });

  it('of a member closed in the turn it was made: it never binds or connects', async () => {
    const name = uniqueName('rdv');
    const electing = join(name);
    electing.member.close();
    await sleep(100);
    expect(electing.log).toEqual(['role:closed', 'close']);
    expect(fs.existsSync(socketPathOf(name))).toBe(false);
  });
});

describe('§9 failover', () => {
  it('failover: false — a follower whose link ends closes its rendezvous without electing, and without an error', async () => {
    const name = uniqueName('rdv');
    const { leader, follower } = await leaderAndFollower(name, undefined, { failover: false });
    leader.member.close();
    leader.connections[0]!.close();
    await follower.closed;
    expect(follower.log).toEqual(['role:follower', 'connection', 'role:closed', 'close']);
    await sleep(50);
    expect(fs.existsSync(socketPathOf(name))).toBe(false);
  });

  it('a follower elects again when the app closes its link itself, and is handed a new link', async () => {
    const name = uniqueName('rdv');
    const { leader, follower } = await leaderAndFollower(name);
    follower.connections[0]!.close();
    await until(() => follower.connections.length === 2 && leader.connections.length === 2);
    expect(follower.log).toEqual(['role:follower', 'connection', 'role:electing', 'role:follower', 'connection']);
    expect(follower.connections[1]!.state).toBe('open');
  });

  it('the app’s off() on its link — off("close"), off("error"), off(f), off(".ns"), off of each event — does not stop failover', async () => {
    const name = uniqueName('rdv');
    const { leader, follower } = await leaderAndFollower(name);
    const link = follower.connections[0]!;
    const mine = (): void => {};
    link.on('close', mine).on('close.app', () => {}).on('error.app', () => {});
    link.off(mine).off('.app').off('close').off('error').off('connect').off('data').off('sent');
    leader.member.close();
    leader.connections[0]!.close();
    await untilRole(follower.member, 'leader');
    expect(follower.log).toEqual(['role:follower', 'connection', 'role:electing', 'role:leader']);
  });

  it('several followers of a leader that goes: exactly one of them leads, the others follow it, each with a new connection', async () => {
    const name = uniqueName('rdv');
    const leader = join(name);
    await untilRole(leader.member, 'leader');
    const followers = [join(name), join(name), join(name), join(name)];
    await until(() => leader.connections.length === 4);
    leader.member.close();
    for (const connection of leader.connections) connection.close();
    await until(() => followers.some((f) => f.member.role === 'leader') && followers.every((f) => f.member.role === 'leader' || f.connections.length === 2));
    const leaders = followers.filter((f) => f.member.role === 'leader');
    expect(leaders).toHaveLength(1);
    expect(leaders[0]!.connections).toHaveLength(1 + 3);
    for (const f of followers.filter((x) => x !== leaders[0])) expect(f.log).toEqual(['role:follower', 'connection', 'role:electing', 'role:follower', 'connection']);
  });
});

describe('§9 arguments', () => {
  it('throws ERR_DATASOCKET_INVALID_ARGUMENT at once for a bad acceptor, name, port, non-local host, failover or option', () => {
    const name = uniqueName('rdv');
    const bad: (() => unknown)[] = [
      () => DataSocket.connectOrListen(undefined as never, name),
      () => DataSocket.connectOrListen('yes' as never, name),
      () => DataSocket.connectOrListen(() => true, ''),
      () => DataSocket.connectOrListen(() => true, 'a b'),
      () => DataSocket.connectOrListen(() => true, '..'),
      () => DataSocket.connectOrListen(() => true, 'rel/path'),
      () => DataSocket.connectOrListen(() => true, 'x'.repeat(101)),
      () => DataSocket.connectOrListen(() => true, 42 as never),
      () => DataSocket.connectOrListen(() => true, '127.0.0.1', 0),
      () => DataSocket.connectOrListen(() => true, '127.0.0.1', -1),
      () => DataSocket.connectOrListen(() => true, '127.0.0.1', 70_000),
      () => DataSocket.connectOrListen(() => true, '127.0.0.1', 1.5),
      () => DataSocket.connectOrListen(() => true, '8.8.8.8', 4000),
      () => DataSocket.connectOrListen(() => true, 'example.com', 4000),
      () => DataSocket.connectOrListen(() => true, '0.0.0.0', 4000),
      () => DataSocket.connectOrListen(() => true, name, { failover: 'yes' } as never),
      () => DataSocket.connectOrListen(() => true, name, { failover: 1 } as never),
      () => DataSocket.connectOrListen(() => true, name, { nope: 1 } as never),
      () => DataSocket.connectOrListen(() => true, name, { failover: true, nope: 1 } as never),
      () => DataSocket.connectOrListen(() => true, name, { handshakeTimeoutMs: -5 }),
    ];
    for (const [i, make] of bad.entries()) {
      let thrown: unknown;
      try {
        track(make() as Member);
      } catch (error) {
        thrown = error;
      }
      expect(thrown, `case ${i}: ${make.toString()}`).toBeInstanceOf(DataSocketError);
      expect((thrown as DataSocketError).code, `case ${i}`).toBe(ErrorCode.INVALID_ARGUMENT);
    }
    expect(fs.existsSync(socketPathOf(name))).toBe(false);
  });
});

describe('§9 over TCP on 127.0.0.1', () => {
  it('on a fixed port: the first binds it and leads, the next follows, and when the leader goes the follower binds it and leads', async () => {
    const port = await freePort();
    const { leader, follower } = await leaderAndFollower('127.0.0.1', port);
    const toLeader = once(leader.connections[0]!, 'data');
    follower.connections[0]!.send('over tcp');
    expect(await toLeader).toBe('over tcp');
    leader.member.close();
    leader.connections[0]!.close();
    await untilRole(follower.member, 'leader');
    expect(follower.log).toEqual(['role:follower', 'connection', 'role:electing', 'role:leader']);
    const next = join('127.0.0.1', port);
    await until(() => next.connections.length === 1 && follower.connections.length === 2);
    expect(next.log).toEqual(['role:follower', 'connection']);
    expect(next.connections[0]!.address).toEqual({ name: '127.0.0.1', port });
  });
});

describe('§9 what a member finds at the name', () => {
  it('a stale socket file (its listener SIGKILLed in another process): the first member replaces it and leads', async () => {
    const name = uniqueName('rdv-stale');
    const peer = spawn(ENV);
    const at = (await listenIn(peer, { name })) as { path: string };
    peer.kill('SIGKILL');
    await peer.exited;
    expect(fs.statSync(at.path).isSocket()).toBe(true);
    const leader = join(name);
    await untilRole(leader.member, 'leader');
    const follower = join(name);
    await until(() => follower.connections.length === 1);
    expect(leader.log).toEqual(['role:leader', 'connection']);
  });

  it('a live DataSocket.listen at the name: members follow it; when it goes, exactly one of them leads and the other follows', async () => {
    const name = uniqueName('rdv-plain');
    const accepted: DataSocket[] = [];
    const listener = track(
      DataSocket.listen((c) => {
        accepted.push(track(c));
        return true;
      }, name),
    );
    await once(listener, 'listening');
    const members = [join(name), join(name)];
    await until(() => members.every((m) => m.connections.length === 1) && accepted.length === 2);
    for (const m of members) expect(m.log).toEqual(['role:follower', 'connection']);
    listener.close();
    for (const c of accepted) c.close();
    await until(() => members.some((m) => m.member.role === 'leader') && members.some((m) => m.connections.length === 2));
    expect(members.map((m) => m.member.role).sort()).toEqual(['follower', 'leader']);
  });

  it.runIf(electionLockKind() === 'abstract-socket')(
    'the lock held by someone who never listens, and no leader to follow: the member fails with ERR_DATASOCKET_TIMEOUT after handshakeTimeoutMs',
    async () => {
      const name = uniqueName('rdv-held');
      fs.mkdirSync(path.dirname(socketPathOf(name)), { recursive: true, mode: 0o700 });
      const lock = net.createServer();
      await new Promise<void>((resolve) => lock.listen(abstractLockName(socketPathOf(name)), resolve));
      try {
        const started = Date.now();
        const stuck = join(name, undefined, { handshakeTimeoutMs: 400 });
        await stuck.closed;
        const elapsed = Date.now() - started;
        expect(stuck.log).toEqual([`error:${ErrorCode.TIMEOUT}`, 'role:closed', 'close']);
        expect(stuck.errors[0]!.message).toContain('ENOENT');
        expect(elapsed).toBeGreaterThanOrEqual(390);
        expect(elapsed).toBeLessThan(2_000);
      } finally {
        lock.close();
      }
    },
  );

  it('a file that is not a socket holds the name: the member ends at once with EEXIST, not after a timeout', async () => {
    const name = uniqueName('rdv-file');
    const file = socketPathOf(name);
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    fs.writeFileSync(file, 'not a socket');
    try {
      const started = Date.now();
      const member = join(name);
      await member.closed;
      expect(member.log).toEqual(['error:EEXIST', 'role:closed', 'close']);
      expect(member.errors[0]!.message).toMatch(/is not a socket/);
      expect(Date.now() - started).toBeLessThan(2_000);
      expect(fs.readFileSync(file, 'utf8')).toBe('not a socket');
    } finally {
      fs.rmSync(file, { force: true });
    }
  });

  it('a socket directory that cannot be made (XDG_RUNTIME_DIR is a file): the rendezvous ends with the OS code; nothing is thrown', async () => {
    const saved = process.env.XDG_RUNTIME_DIR;
    const notADir = path.join(tempDir('xdg-file-'), 'file');
    fs.writeFileSync(notADir, '');
    process.env.XDG_RUNTIME_DIR = notADir;
    try {
      const member = join(uniqueName('rdv-nodir'));
      await member.closed;
      expect(member.log).toEqual([`error:${member.errors[0]!.code}`, 'role:closed', 'close']);
      expect(member.errors[0]!.code).toMatch(/^E[A-Z]+$/);
    } finally {
      process.env.XDG_RUNTIME_DIR = saved;
    }
  });

  it('a leader that dies after accepting, before its HELLO (a bare close): the member tries again and does not end — here it leads once the name is free', async () => {
    const name = uniqueName('rdv-prehello');
    const file = socketPathOf(name);
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    let accepted = 0;
    // Stands in for a leader killed between accept() and its HELLO: the connection closes bare, once.
    // It reads the member's HELLO and ends without one of its own: the connect sees ERR_DATASOCKET_PROTOCOL.
    const dying = net.createServer((s) => {
      s.once('data', () => {
        accepted++; // a member's connect (the stale-file probe sends nothing)
        s.end();
        dying.close();
      });
    });
    await new Promise<void>((resolve) => dying.listen(file, resolve));
    const member = join(name);
    await untilRole(member.member, 'leader');
    expect(accepted).toBe(1);
    expect(member.log).toEqual(['role:leader']);
  });

  it('a squatter that closes every connection bare, without a HELLO: the member does not try forever — it ends within handshakeTimeoutMs', async () => {
    const name = uniqueName('rdv-squat');
    const file = socketPathOf(name);
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    let accepted = 0;
    const squatter = net.createServer((s) => {
      accepted++;
      s.destroy();
    });
    await new Promise<void>((resolve) => squatter.listen(file, resolve));
    try {
      const started = Date.now();
      const member = join(name, undefined, { handshakeTimeoutMs: 500 });
      await member.closed;
      // The bare close reaches the connect as EPIPE or ECONNRESET (its HELLO hit a closed socket)
      // or as ERR_DATASOCKET_PROTOCOL (closed without a HELLO): retried either way, never for ever.
      const [error] = member.errors;
      expect(member.log).toEqual([`error:${error!.code}`, 'role:closed', 'close']);
      expect([ErrorCode.TIMEOUT, ErrorCode.PROTOCOL]).toContain(error!.code);
      expect(error!.message).toMatch(/ECONNRESET|EPIPE|ERR_DATASOCKET_PROTOCOL|DataSocket/);
      expect(accepted).toBeGreaterThan(1);
      expect(Date.now() - started).toBeLessThan(2_500);
    } finally {
      squatter.close();
    }
  });

  it('a server at the name that never answers the handshake: the member does not stay electing — it fails within handshakeTimeoutMs with the connect’s ERR_DATASOCKET_PROTOCOL', async () => {
    const name = uniqueName('rdv-silent');
    const file = socketPathOf(name);
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    const held: net.Socket[] = [];
    const silent = net.createServer((s) => held.push(s));
    await new Promise<void>((resolve) => silent.listen(file, resolve));
    try {
      const started = Date.now();
      const member = join(name, undefined, { handshakeTimeoutMs: 400 });
      await member.closed;
      expect(member.log).toEqual([`error:${ErrorCode.PROTOCOL}`, 'role:closed', 'close']);
      expect(Date.now() - started).toBeLessThan(2_000);
    } finally {
      for (const s of held) s.destroy();
      silent.close();
    }
  });
});
