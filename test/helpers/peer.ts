/**
 * Drives an app-instance process (test/fixtures/peer.ts) from a test: send it
 * commands, wait for the events it reports, kill it.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { PeerAcceptor, PeerAnswer, PeerCommand, PeerEvent } from '../fixtures/peer.js';

const PEER = fileURLToPath(new URL('../fixtures/peer.ts', import.meta.url));

/** Request number `i` of the request tests: a value of a few kinds, different for each `i`. */
export function requestValue(i: number): { i: number; text: string; big: bigint } {
  return { i, text: `request ${i}`, big: BigInt(i) * 3n };
}

/** The reply to a request of requestValue: a function of the value, so that each reply tells which request it answers. */
export function computeReply(value: unknown): { i: number; text: string; big: bigint } {
  const { i, text, big } = value as ReturnType<typeof requestValue>;
  return { i: i * 2 + 1, text: text.toUpperCase(), big: big + 1n };
}

/** Whether `reply` is computeReply(`value`). */
export function isReplyTo(value: ReturnType<typeof requestValue>, reply: unknown): boolean {
  const expected = computeReply(value);
  const got = reply as Partial<typeof expected> | null;
  return typeof got === 'object' && got !== null && got.i === expected.i && got.text === expected.text && got.big === expected.big;
}

/** A running peer process and everything it reported so far. */
export class Peer {
  readonly events: PeerEvent[] = [];
  readonly #child: ChildProcess;
  #waiters: { match: (e: PeerEvent) => boolean; resolve: (e: PeerEvent) => void }[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(env: NodeJS.ProcessEnv = {}) {
    this.#child = fork(PEER, [], {
      execArgv: ['--import', 'tsx'],
      serialization: 'advanced',
      env: { ...process.env, ...env },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.#child.on('message', (event: PeerEvent) => {
      this.events.push(event);
      this.#waiters = this.#waiters.filter((w) => {
        if (!w.match(event)) return true;
        w.resolve(event);
        return false;
      });
    });
    // Sending to a peer that was just killed fails with EPIPE; the exit is what the tests look at.
    this.#child.on('error', () => {});
    this.exited = new Promise((resolve) => this.#child.on('exit', (code, signal) => resolve({ code, signal })));
  }

  get pid(): number {
    return this.#child.pid!;
  }

  /** Sends a command; resolves once the peer ran it (rejects if it threw). */
  async run(command: PeerCommand): Promise<void> {
    const done = this.waitFor((e) => (e.ev === 'done' || e.ev === 'threw') && e.op === command.op, 15_000, this.events.length);
    this.#child.send(command);
    const result = await done;
    if (result.ev === 'threw') throw Object.assign(new Error(result.message), { code: result.code });
  }

  /** Resolves with the first event (from index `from` on) that matches. */
  waitFor<E extends PeerEvent>(match: (e: PeerEvent) => e is E, timeoutMs?: number, from?: number): Promise<E>;
  waitFor(match: (e: PeerEvent) => boolean, timeoutMs?: number, from?: number): Promise<PeerEvent>;
  waitFor(match: (e: PeerEvent) => boolean, timeoutMs = 15_000, from = 0): Promise<PeerEvent> {
    const seen = this.events.slice(from).find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w.resolve !== done);
        reject(new Error(`peer ${this.pid}: no matching event within ${timeoutMs} ms; saw ${JSON.stringify(this.events.slice(-8))}`));
      }, timeoutMs);
      const done = (e: PeerEvent): void => {
        clearTimeout(timer);
        resolve(e);
      };
      this.#waiters.push({ match, resolve: done });
    });
  }

  /** Waits for event `ev` of socket `id`. */
  next(ev: PeerEvent['ev'], id: string, timeoutMs?: number): Promise<PeerEvent> {
    return this.waitFor((e) => e.ev === ev && 'id' in e && e.id === id, timeoutMs);
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    this.#child.kill(signal);
  }

  /** Ends the process (it exits when its IPC channel closes). */
  async stop(): Promise<void> {
    if (this.#child.exitCode === null && this.#child.signalCode === null) {
      this.#child.disconnect();
      const timer = setTimeout(() => this.#child.kill('SIGKILL'), 3_000);
      await this.exited;
      clearTimeout(timer);
    }
  }
}

/** Starts a listener in `peer` (its connections answering requests as `answer` says); resolves with where to connect (`port` for TCP). */
export async function listenIn(
  peer: Peer,
  endpoint: { name: string; port?: number },
  acceptor: PeerAcceptor = 'yes',
  options?: Record<string, unknown>,
  answer?: PeerAnswer,
): Promise<{ name: string; port?: number; path?: string }> {
  await peer.run({ op: 'listen', name: endpoint.name, port: endpoint.port, acceptor, options, answer });
  const bound = (await peer.next('listening', 'listener')) as { address: { name: string; port?: number; path?: string } };
  return bound.address;
}
