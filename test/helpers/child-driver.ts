/**
 * What drives a forked test process (a peer, test/helpers/peer.ts; a rendezvous member,
 * test/helpers/member.ts): send it commands over IPC, keep every event it reports, wait
 * for the events a test needs, kill it.
 */
import { fork, type ChildProcess } from 'node:child_process';

/** The events every driven process reports: `done` or `threw` after each command it ran. */
type Ran = { ev: 'done'; op: string } | { ev: 'threw'; op: string; code: string; message: string };

/** A running child process and everything it reported so far. */
export class ChildDriver<Event extends { ev: string }, Command extends { op: string }> {
  readonly events: Event[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  protected readonly child: ChildProcess;
  readonly #label: string;
  #waiters: { match: (e: Event) => boolean; resolve: (e: Event) => void }[] = [];

  /** Forks `modulePath` (with `execArgv`; `env` over this process's); `label` names it in errors. */
  constructor(label: string, modulePath: string, execArgv: string[], env: NodeJS.ProcessEnv = {}) {
    this.#label = label;
    this.child = fork(modulePath, [], {
      execArgv,
      serialization: 'advanced',
      env: { ...process.env, ...env },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.child.on('message', (event: Event) => {
      this.events.push(event);
      this.#waiters = this.#waiters.filter((w) => {
        if (!w.match(event)) return true;
        w.resolve(event);
        return false;
      });
    });
    // Sending to a process that was just killed fails with EPIPE; the exit is what the tests look at.
    this.child.on('error', () => {});
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve({ code, signal })));
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Sends a command; resolves once the process ran it (rejects if it threw). */
  async run(command: Command): Promise<void> {
    const done = this.waitFor((e) => {
      const ran = e as unknown as Partial<Ran>;
      return (ran.ev === 'done' || ran.ev === 'threw') && ran.op === command.op;
    }, 15_000, this.events.length);
    this.child.send(command);
    const result = (await done) as unknown as Ran;
    if (result.ev === 'threw') throw Object.assign(new Error(result.message), { code: result.code });
  }

  /** Resolves with the first event (from index `from` on) that matches; rejects after `timeoutMs`. */
  waitFor<E extends Event>(match: (e: Event) => e is E, timeoutMs?: number, from?: number): Promise<E>;
  waitFor(match: (e: Event) => boolean, timeoutMs?: number, from?: number): Promise<Event>;
  waitFor(match: (e: Event) => boolean, timeoutMs = 15_000, from = 0): Promise<Event> {
    const seen = this.events.slice(from).find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w.resolve !== done);
        reject(new Error(`${this.#label} ${this.pid}: no matching event within ${timeoutMs} ms; saw ${JSON.stringify(this.events.slice(-8))}`));
      }, timeoutMs);
      const done = (e: Event): void => {
        clearTimeout(timer);
        resolve(e);
      };
      this.#waiters.push({ match, resolve: done });
    });
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    this.child.kill(signal);
  }
}
