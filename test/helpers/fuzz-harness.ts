/**
 * What test/main/socket/fuzz.test.ts (a fast slice) and scripts/fuzz.mjs (the long,
 * resumable campaign, test/helpers/fuzz-campaign.ts) share: fuzz loops run in a
 * watched child process, hostile clients over real sockets, and the listener
 * process they attack.
 */
import { fork, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { authProof } from '../../src/main/socket/handshake.js';
import { encodeHello, HelloFlag, MAGIC } from '../../src/shared/protocol.js';
import { concat } from './bytes.js';
import { frameInput, handshakeInput, hex, LISTENER_TOKEN, serverPlan, split, type ConnectionPlan } from './fuzz-inputs.js';
import type { ListenerMessage, ListenerStats } from './fuzz-listener.js';
import type { RunnerMessage } from './fuzz-runner.js';

const RUNNER = fileURLToPath(new URL('./fuzz-runner.ts', import.meta.url));
const SERVER_RUNNER = fileURLToPath(new URL('./fuzz-server-runner.ts', import.meta.url));
const LISTENER = fileURLToPath(new URL('./fuzz-listener.ts', import.meta.url));

/** The loops a child process runs: the handshake and frame decoders in process, hostile listeners against DataSocket clients. */
export type LoopKind = 'handshake' | 'frames' | 'server';

// ---------------------------------------------------------------------------
// Loops in a child process.

/** How one run of a fuzz loop in a child process went. */
export interface LoopResult {
  violations: { i: number; message: string }[];
  done: Extract<RunnerMessage, { t: 'done' }> | null;
  /** Set when the child died or hung: what happened, and the case it was in. */
  death: { what: string; i: number } | null;
}

/** Where a loop starts and how long it runs; `budgetMs`: the time one input may take; `hangMs`: silence that means a hang. */
export interface LoopOptions {
  seed: number;
  kind: LoopKind;
  from: number;
  count: number;
  budgetMs: number;
  hangMs: number;
  /** --max-old-space-size of the child, in MiB. */
  heapMiB?: number;
}

/** Runs inputs `from`…`from + count - 1` of `kind` in a child process that is watched for crashes and hangs. */
export function runLoop(options: LoopOptions): Promise<LoopResult> {
  const { seed, kind, from, count, budgetMs, hangMs } = options;
  return new Promise((resolve) => {
    const result: LoopResult = { violations: [], done: null, death: null };
    let current = -1;
    let hung = false;
    const child = fork(kind === 'server' ? SERVER_RUNNER : RUNNER, [], {
      execArgv: ['--import', 'tsx', `--max-old-space-size=${options.heapMiB ?? 512}`],
      env: {
        ...process.env,
        FUZZ_SEED: String(seed),
        FUZZ_KIND: kind,
        FUZZ_FROM: String(from),
        FUZZ_COUNT: String(count),
        FUZZ_BUDGET_MS: String(budgetMs),
      },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let watchdog: ReturnType<typeof setTimeout> | undefined;
    const arm = (): void => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => {
        hung = true;
        child.kill('SIGKILL');
      }, hangMs);
    };
    arm();
    child.on('message', (message: RunnerMessage) => {
      arm();
      if (message.t === 'start') current = message.i;
      else if (message.t === 'violation') result.violations.push({ i: message.i, message: message.message });
      else {
        result.done = message;
        child.disconnect();
      }
    });
    child.on('exit', (code, signal) => {
      clearTimeout(watchdog);
      if (hung) result.death = { what: `hung: no progress for ${hangMs} ms`, i: current };
      else if (result.done === null) result.death = { what: `the fuzz process died (exit code ${code}, signal ${signal})`, i: current };
      resolve(result);
    });
  });
}

/** One input of `kind`, readable enough to reproduce it by hand. */
export function describeCase(seed: number, kind: LoopKind, i: number): string {
  if (kind === 'handshake') return describeHandshakeCase(seed, i);
  if (kind === 'frames') return describeFrameCase(seed, i);
  const plan = serverPlan(seed, i);
  return `hostile listener ${plan.kind}, writes ${hex(plan.bytes, 200)}${plan.hangUp ? ', then hangs up' : ''}`;
}

function describeHandshakeCase(seed: number, i: number): string {
  const input = handshakeInput(seed, i);
  return `role ${input.role}, token ${input.token === undefined ? 'none' : JSON.stringify(input.token)}, strategy ${input.strategy}, nonce ${hex(input.nonce)}, chunks of ${split(input.stream, input.cuts).map((c) => c.length).join('+')} bytes: ${hex(input.stream, 200)}`;
}

function describeFrameCase(seed: number, i: number): string {
  const input = frameInput(seed, i);
  return `maxFrameBytes ${input.maxFrameBytes}, segments ${input.strategies.join(',')}, ${split(input.stream, input.cuts).length} chunks: ${hex(input.stream, 300)}`;
}

/** Every problem of a loop, one readable line each (empty when all promises held). */
export function problems(result: LoopResult, options: Pick<LoopOptions, 'seed' | 'kind'>, max = 10): string[] {
  const { seed, kind } = options;
  const where = (i: number): string => `${kind} case #${i} (FUZZ_SEED=${seed})`;
  const lines = result.violations.slice(0, max).map((v) => `${where(v.i)}: ${v.message}\n    input: ${describeCase(seed, kind, v.i)}`);
  if (result.violations.length > max) lines.push(`… and ${result.violations.length - max} more violations`);
  if (result.death) lines.push(`${result.death.what}, in ${where(result.death.i)}\n    input: ${describeCase(seed, kind, result.death.i)}`);
  return lines;
}

/** The loop's outcomes, slowest input and memory, in one line. */
export function summary(result: LoopResult): string {
  const done = result.done;
  if (!done) return 'no summary';
  return `outcomes ${JSON.stringify(done.outcomes)}, slowest case #${done.slowestCase} ${done.slowestMs.toFixed(1)} ms, max rss ${(done.maxRss / 2 ** 20).toFixed(0)} MiB`;
}


// ---------------------------------------------------------------------------
// Hostile clients over a real socket.

/** A raw byte-level client: writes what it is told, reads what comes back. */
export class HostileClient {
  readonly #socket: net.Socket;
  #received = new Uint8Array(0);
  #closed = false;
  #wake: (() => void) | null = null;
  readonly connected: Promise<boolean>;

  constructor(socketPath: string) {
    this.#socket = net.connect({ path: socketPath });
    this.connected = new Promise((resolve) => {
      this.#socket.once('connect', () => resolve(true));
      this.#socket.once('close', () => resolve(false));
    });
    this.#socket.on('data', (chunk: Buffer) => {
      const next = new Uint8Array(this.#received.length + chunk.length);
      next.set(this.#received, 0);
      next.set(chunk, this.#received.length);
      this.#received = next;
      this.#wake?.();
    });
    this.#socket.on('error', () => {});
    this.#socket.on('close', () => {
      this.#closed = true;
      this.#wake?.();
    });
  }

  /** Everything received so far. */
  get received(): Uint8Array {
    return this.#received;
  }

  write(bytes: Uint8Array): void {
    if (!this.#closed) this.#socket.write(bytes);
  }

  /** Resolves once `n` bytes in all were received (true), or the peer closed / time ran out (false). */
  async waitFor(n: number, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.#received.length < n && !this.#closed && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, deadline - Date.now());
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = null;
    }
    return this.#received.length >= n;
  }

  /** Resolves once the peer closed (true) or `timeoutMs` passed (false). */
  async waitClosed(timeoutMs: number): Promise<boolean> {
    await this.waitFor(Number.POSITIVE_INFINITY, timeoutMs);
    return this.#closed;
  }

  destroy(): void {
    this.#socket.destroy();
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Runs one hostile connection; returns what it saw that PROTOCOL.md says it must not. */
export async function attack(plan: ConnectionPlan, paths: { plain: string; token: string }): Promise<string[]> {
  const client = new HostileClient(paths[plan.target]);
  const seen: string[] = [];
  try {
    if (!(await client.connected)) return [`could not connect to the ${plan.target} listener`];
    const withToken = plan.target === 'token';
    const listenerHello = async (): Promise<Uint8Array | null> => {
      if (!(await client.waitFor(24, 3_000))) {
        seen.push(`no listener HELLO (received ${hex(client.received)})`);
        return null;
      }
      const hello = client.received.subarray(0, 24);
      // A DataSocket listener answers pings and takes requests (PROTOCOL.md §3.1).
      const flags = (withToken ? HelloFlag.TOKEN : 0) | HelloFlag.LISTENER | HelloFlag.PINGS | HelloFlag.REQUESTS;
      if (!sameBytes(hello.subarray(0, 8), Uint8Array.of(...MAGIC, 1, 1, flags, 0))) seen.push(`a listener HELLO not as documented: ${hex(hello)}`);
      return hello.slice(8, 24);
    };
    /** Expects exactly `expected` after the first `from` bytes, then the end of the connection. */
    const expectEnd = async (from: number, expected: Uint8Array): Promise<void> => {
      const closed = await client.waitClosed(5_000);
      const tail = client.received.subarray(from);
      if (!sameBytes(tail, expected)) seen.push(`expected ${hex(expected)} then the end, received ${hex(tail)}`);
      if (!closed) seen.push('the listener did not close the connection');
    };
    switch (plan.kind) {
      case 'garbage':
        for (const chunk of split(plan.bytes, plan.cuts)) client.write(chunk);
        await client.waitClosed(100);
        return seen;
      case 'bad-hello':
        client.write(plan.hello);
        if ((await listenerHello()) !== null) await expectEnd(24, Uint8Array.of(0x56, 0x03));
        return seen;
      case 'wrong-token': {
        client.write(encodeHello(0x01, plan.nonce));
        const nonce = await listenerHello();
        if (nonce === null) return seen;
        if (!withToken) {
          await expectEnd(24, Uint8Array.of(0x56, 0x02));
          return seen;
        }
        client.write(authProof('not the token', false, plan.nonce, nonce));
        await expectEnd(24, concat([authProof(LISTENER_TOKEN, true, nonce, plan.nonce), Uint8Array.of(0x56, 0x02)]));
        return seen;
      }
      case 'early-bytes': {
        const hello = encodeHello(withToken ? 0x01 : 0x00, plan.nonce);
        if (!withToken) {
          // One write, so the extra bytes reach the listener with the HELLO, before it can accept.
          client.write(concat([hello, plan.extra]));
          if ((await listenerHello()) !== null) await expectEnd(24, Uint8Array.of(0x56, 0x03));
          return seen;
        }
        client.write(hello);
        const nonce = await listenerHello();
        if (nonce === null) return seen;
        client.write(concat([authProof(LISTENER_TOKEN, false, plan.nonce, nonce), plan.extra]));
        await expectEnd(24, concat([authProof(LISTENER_TOKEN, true, nonce, plan.nonce), Uint8Array.of(0x56, 0x03)]));
        return seen;
      }
      case 'frames': {
        client.write(encodeHello((withToken ? HelloFlag.TOKEN : 0) | (plan.requests ? HelloFlag.REQUESTS : 0), plan.nonce));
        const nonce = await listenerHello();
        if (nonce === null) return seen;
        let expected: Uint8Array = Uint8Array.of(0x56, 0x00);
        if (withToken) {
          client.write(authProof(LISTENER_TOKEN, false, plan.nonce, nonce));
          expected = concat([authProof(LISTENER_TOKEN, true, nonce, plan.nonce), expected]);
        }
        await client.waitFor(24 + expected.length, 3_000);
        const answer = client.received.subarray(24, 24 + expected.length);
        if (!sameBytes(answer, expected)) {
          seen.push(`expected ${hex(expected)} after the HELLO, received ${hex(answer)}`);
          return seen;
        }
        for (const chunk of split(plan.stream, plan.cuts)) client.write(chunk);
        await client.waitClosed(150);
        return seen;
      }
    }
  } finally {
    client.destroy();
  }
}


/** Runs `task` on every item, with at most `width` in flight. */
export async function pool<T>(items: readonly T[], width: number, task: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) {
        const index = next++;
        await task(items[index]!, index);
      }
    }),
  );
}


// ---------------------------------------------------------------------------
// The attacked listener process (fuzz-listener.ts).

/** A fuzz listener process: a plain and a token endpoint that echo every value. */
export class ListenerProcess {
  readonly #child: ChildProcess;
  #waiter: ((stats: ListenerStats) => void) | null = null;
  /** Set once the process exited. */
  exited: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  /** The stack of an exception nobody caught, if one was. */
  uncaught: string | null = null;
  readonly ready: Promise<void>;

  /** Starts it on `paths`; `heapMiB`: its --max-old-space-size. */
  constructor(readonly paths: { plain: string; token: string }, options: { maxFrameBytes: number; heapMiB?: number }) {
    this.#child = fork(LISTENER, [], {
      execArgv: ['--import', 'tsx', '--expose-gc', ...(options.heapMiB === undefined ? [] : [`--max-old-space-size=${options.heapMiB}`])],
      env: { ...process.env, FUZZ_PLAIN_PATH: paths.plain, FUZZ_TOKEN_PATH: paths.token, FUZZ_TOKEN: LISTENER_TOKEN, FUZZ_MAX_FRAME_BYTES: String(options.maxFrameBytes) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.#child.on('error', () => {});
    this.#child.on('exit', (code, signal) => (this.exited = { code, signal }));
    this.ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the listener process did not get ready within 20 s')), 20_000);
      this.#child.on('message', (message: ListenerMessage) => {
        if ('ready' in message) {
          clearTimeout(timer);
          resolve();
        } else if ('uncaught' in message) this.uncaught = message.uncaught;
        else if ('stats' in message) this.#waiter?.(message.stats);
      });
    });
  }

  /** Its counts, and its heap after a full garbage collection. */
  stats(): Promise<ListenerStats> {
    return new Promise((resolve, reject) => {
      if (this.exited !== null) {
        reject(new Error(`the listener process exited: ${JSON.stringify(this.exited)}`));
        return;
      }
      const timer = setTimeout(() => reject(new Error('the listener process did not answer')), 10_000);
      this.#waiter = (s) => {
        clearTimeout(timer);
        this.#waiter = null;
        resolve(s);
      };
      this.#child.send('stats');
    });
  }

  stop(): void {
    if (this.exited === null) this.#child.kill('SIGKILL');
  }
}
