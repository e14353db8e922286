/**
 * Drives rendezvous members, each a separate Node process (test/fixtures/member.mjs,
 * over the built package): start them, tell them to join, leave or end, wait for
 * what they report, kill them. Call `ensureBuilt()` (./built.ts) before starting any.
 */
import { fileURLToPath } from 'node:url';
import { ChildDriver } from './child-driver.js';

const MEMBER = fileURLToPath(new URL('../fixtures/member.mjs', import.meta.url));

/** What a member is told. */
export type MemberCommand =
  /**
   * Joins `name` (with `port`: TCP) at wall-clock time `at` (ms), or at once; every event
   * of this rendezvous carries `round`. `acceptor: 'no'` refuses every follower.
   * `endWhenClosed`: once the rendezvous closed, drop the channel to the parent and let
   * the process end by itself (it only does if nothing of the library keeps it alive).
   */
  | { op: 'join'; round: string; name: string; port?: number; options?: Record<string, unknown>; at?: number; acceptor?: 'yes' | 'no'; endWhenClosed?: boolean }
  /** Follower: asks the leader to pass `value` on to every other follower. */
  | { op: 'relay'; value: unknown }
  /** `close()` of the rendezvous, then of every socket it handed out (they are the app's). */
  | { op: 'leave' }
  /** Drops the channel to the parent without exiting: the process must end by itself. */
  | { op: 'end' };

/** What a member reports; `t` is wall-clock ms (performance.timeOrigin + performance.now()). */
export type MemberEvent =
  | { ev: 'ready'; pid: number }
  | { ev: 'role'; round: string; role: string; t: number }
  /** Leader: follower `pid` greeted it. */
  | { ev: 'follower'; round: string; pid: number; t: number }
  /** Follower: leader `leader` greeted it on a new link. */
  | { ev: 'linked'; round: string; leader: number; t: number }
  /** Follower: a value follower `from` sent, relayed by the leader. */
  | { ev: 'relayed'; round: string; from: number; value: unknown; t: number }
  | { ev: 'error'; round: string; code: string; message: string; t: number }
  | { ev: 'close'; round: string; t: number }
  | { ev: 'left'; round: string }
  | { ev: 'done'; op: string }
  | { ev: 'threw'; op: string; code: string; message: string };

/** The events of one round (one `join`) of a member. */
export type RoundEvent = Exclude<MemberEvent, { ev: 'ready' | 'done' | 'threw' }>;

/** A running member process and everything it reported so far. */
export class Member extends ChildDriver<MemberEvent, MemberCommand> {
  readonly ready: Promise<void>;

  constructor(env: NodeJS.ProcessEnv = {}) {
    super('member', MEMBER, [], env);
    this.ready = this.waitFor((e) => e.ev === 'ready', 30_000).then(() => undefined);
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Sends a command without waiting (many members are told at once). */
  send(command: MemberCommand): void {
    this.child.send(command);
  }

  /** What this member reported in round `round`, in order. */
  round(round: string): RoundEvent[] {
    return this.events.filter((e): e is RoundEvent => 'round' in e && e.round === round);
  }

  /** The roles it took in round `round`, in order (a member starts electing, without an event). */
  roles(round: string): string[] {
    return this.round(round).flatMap((e) => (e.ev === 'role' ? [e.role] : []));
  }

  /** Ends the process (it exits when its channel closes); killed if it does not within 3 s. */
  async stop(): Promise<void> {
    if (!this.running) return;
    if (this.child.connected) this.child.disconnect();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 3_000);
    await this.exited;
    clearTimeout(timer);
  }
}

/** Starts `count` members at once; resolves when every one of them is ready. */
export async function startMembers(count: number, env?: NodeJS.ProcessEnv): Promise<Member[]> {
  const members = Array.from({ length: count }, () => new Member(env));
  await Promise.all(members.map((m) => m.ready));
  return members;
}
