/**
 * SPEC §4 under hostile input. Seeded fuzzing of the handshake state machine (both
 * roles, with and without a token) and of the frame decoder path (FrameReader +
 * ValueDecoder, and DataSocketCore itself), run in a child process that is watched
 * for crashes, hangs and memory blow-ups; then hostile peers against a real
 * listener process, which must stay up and keep serving.
 *
 * Reproduce a run with FUZZ_SEED=<seed> (decimal or 0x…); without it a seed is drawn
 * and printed. FUZZ_SCALE=<n> multiplies the number of cases for longer runs.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomInt } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataSocket } from '../../src/index.js';
import { authProof } from '../../src/main/handshake.js';
import { ValueDecoder } from '../../src/shared/codec.js';
import { DataSocketError, ErrorCode } from '../../src/shared/errors.js';
import { encodeHello, FrameKind, MAGIC } from '../../src/shared/protocol.js';
import {
  connectionPlan,
  frameInput,
  handshakeInput,
  hex,
  LISTENER_TOKEN,
  plainDataProblems,
  split,
  type ConnectionPlan,
} from '../helpers/fuzz-inputs.js';
import type { ListenerMessage, ListenerStats } from '../helpers/fuzz-listener.js';
import type { RunnerMessage } from '../helpers/fuzz-runner.js';
import { once, tempDir } from '../helpers/sockets.js';
import { concat } from '../helpers/bytes.js';

const RUNNER = fileURLToPath(new URL('../helpers/fuzz-runner.ts', import.meta.url));
const LISTENER = fileURLToPath(new URL('../helpers/fuzz-listener.ts', import.meta.url));

function seedFromEnv(): number {
  const text = process.env.FUZZ_SEED;
  if (text === undefined || text === '') return randomInt(0x1_0000_0000);
  const seed = Number(text);
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffff_ffff) throw new Error(`FUZZ_SEED must be an integer from 0 to 2^32-1, not ${text}`);
  return seed;
}

const SEED = seedFromEnv();
const SCALE = Math.max(1, Number(process.env.FUZZ_SCALE ?? 1) || 1);
const HANDSHAKE_CASES = 20_000 * SCALE;
const FRAME_CASES = 20_000 * SCALE;
const SOCKET_CASES = 200;
/** One input may take this long (generation and checks included) on a loaded two-core machine. */
const CASE_BUDGET_MS = 2_000;
/** No report from the child for this long means it hangs inside one input. */
const HANG_MS = 20_000;

console.log(`fuzz: FUZZ_SEED=${SEED} (set FUZZ_SEED to reproduce; FUZZ_SCALE=${SCALE})`);

// ---------------------------------------------------------------------------
// The child-process loop.

interface LoopResult {
  violations: { i: number; message: string }[];
  done: Extract<RunnerMessage, { t: 'done' }> | null;
  /** Set when the child died or hung: what happened, and the case it was in. */
  death: { what: string; i: number } | null;
}

function runLoop(kind: 'handshake' | 'frames', count: number): Promise<LoopResult> {
  return new Promise((resolve) => {
    const result: LoopResult = { violations: [], done: null, death: null };
    let current = -1;
    let hung = false;
    const child = fork(RUNNER, [], {
      execArgv: ['--import', 'tsx', '--max-old-space-size=512'],
      env: {
        ...process.env,
        FUZZ_SEED: String(SEED),
        FUZZ_KIND: kind,
        FUZZ_FROM: '0',
        FUZZ_COUNT: String(count),
        FUZZ_BUDGET_MS: String(CASE_BUDGET_MS),
      },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let watchdog: ReturnType<typeof setTimeout> | undefined;
    const arm = (): void => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => {
        hung = true;
        child.kill('SIGKILL');
      }, HANG_MS);
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
      if (hung) result.death = { what: `hung: no progress for ${HANG_MS} ms`, i: current };
      else if (result.done === null) result.death = { what: `the fuzz process died (exit code ${code}, signal ${signal})`, i: current };
      resolve(result);
    });
  });
}

function describeHandshakeCase(i: number): string {
  const input = handshakeInput(SEED, i);
  return `role ${input.role}, token ${input.token === undefined ? 'none' : JSON.stringify(input.token)}, strategy ${input.strategy}, nonce ${hex(input.nonce)}, chunks of ${split(input.stream, input.cuts).map((c) => c.length).join('+')} bytes: ${hex(input.stream, 200)}`;
}

function describeFrameCase(i: number): string {
  const input = frameInput(SEED, i);
  return `maxFrameBytes ${input.maxFrameBytes}, segments ${input.strategies.join(',')}, ${split(input.stream, input.cuts).length} chunks: ${hex(input.stream, 300)}`;
}

/** Every problem of a loop, one readable line each (empty when all promises held). */
function problems(result: LoopResult, describeCase: (i: number) => string): string[] {
  const lines = result.violations.slice(0, 10).map((v) => `case #${v.i} (FUZZ_SEED=${SEED}): ${v.message}\n    input: ${describeCase(v.i)}`);
  if (result.violations.length > 10) lines.push(`… and ${result.violations.length - 10} more violations`);
  if (result.death) lines.push(`${result.death.what}, in case #${result.death.i} (FUZZ_SEED=${SEED})\n    input: ${describeCase(result.death.i)}`);
  return lines;
}

function summary(result: LoopResult): string {
  const done = result.done;
  if (!done) return 'no summary';
  return `outcomes ${JSON.stringify(done.outcomes)}, slowest case #${done.slowestCase} ${done.slowestMs.toFixed(1)} ms, max rss ${(done.maxRss / 2 ** 20).toFixed(0)} MiB`;
}

// ---------------------------------------------------------------------------
// A hostile client over a real socket.

/** A raw byte-level client: writes what it is told, reads what comes back. */
class RawClient {
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
async function attack(plan: ConnectionPlan, paths: { plain: string; token: string }): Promise<string[]> {
  const client = new RawClient(paths[plan.target]);
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
      if (!sameBytes(hello.subarray(0, 8), Uint8Array.of(...MAGIC, 1, 1, withToken ? 0x03 : 0x02, 0))) seen.push(`a listener HELLO not as documented: ${hex(hello)}`);
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
        client.write(encodeHello(withToken ? 0x01 : 0x00, plan.nonce));
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


/** Runs `tasks` with at most `width` in flight. */
async function pool<T>(items: readonly T[], width: number, task: (item: T, index: number) => Promise<void>): Promise<void> {
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

describe('§4 wire protocol: hostile bytes end in a DataSocketError with a code, never a crash, a hang or a memory blow-up', () => {
  it(`ends each of ${HANDSHAKE_CASES} hostile handshakes (both roles, with and without a token) finished, pending or in a DataSocketError`, async () => {
    const result = await runLoop('handshake', HANDSHAKE_CASES);
    console.log(`fuzz handshake (FUZZ_SEED=${SEED}): ${summary(result)}`);
    expect(problems(result, describeHandshakeCase)).toEqual([]);
    // The loop is not vacuous: every ending a handshake can have was reached, often.
    for (const outcome of ['done', 'pending', ErrorCode.PROTOCOL, ErrorCode.AUTH_FAILED, ErrorCode.REJECTED]) {
      expect(result.done!.outcomes[outcome] ?? 0, outcome).toBeGreaterThan(HANDSHAKE_CASES / 100);
    }
  }, 120_000);

  it(`ends each of ${FRAME_CASES} hostile frame streams in values or ERR_DATASOCKET_PROTOCOL, through FrameReader + ValueDecoder and DataSocketCore`, async () => {
    const result = await runLoop('frames', FRAME_CASES);
    console.log(`fuzz frames (FUZZ_SEED=${SEED}): ${summary(result)}`);
    expect(problems(result, describeFrameCase)).toEqual([]);
    for (const outcome of ['open', 'ended', 'midframe', ErrorCode.PROTOCOL]) {
      expect(result.done!.outcomes[outcome] ?? 0, outcome).toBeGreaterThan(FRAME_CASES / 200);
    }
  }, 120_000);

  describe('a real listener process under hostile peers', () => {
    let dir: string;
    let child: ChildProcess;
    let exited: { code: number | null; signal: NodeJS.Signals | null } | null = null;
    let uncaught: string | null = null;
    let statsWaiter: ((stats: ListenerStats) => void) | null = null;
    const paths = { plain: '', token: '' };

    beforeAll(async () => {
      dir = tempDir('dsfz-');
      paths.plain = path.join(dir, 'plain.sock');
      paths.token = path.join(dir, 'token.sock');
      child = fork(LISTENER, [], {
        execArgv: ['--import', 'tsx'],
        env: { ...process.env, FUZZ_PLAIN_PATH: paths.plain, FUZZ_TOKEN_PATH: paths.token, FUZZ_TOKEN: LISTENER_TOKEN, FUZZ_MAX_FRAME_BYTES: String(1 << 20) },
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      child.on('exit', (code, signal) => (exited = { code, signal }));
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('the listener process did not get ready within 20 s')), 20_000);
        child.on('message', (message: ListenerMessage) => {
          if ('ready' in message) {
            clearTimeout(timer);
            resolve();
          } else if ('uncaught' in message) uncaught = message.uncaught;
          else if ('stats' in message) statsWaiter?.(message.stats);
        });
      });
    }, 30_000);

    afterAll(() => {
      if (exited === null) child.kill('SIGKILL');
      fs.rmSync(dir, { recursive: true, force: true });
    });

    function stats(): Promise<ListenerStats> {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('the listener process did not answer')), 5_000);
        statsWaiter = (s) => {
          clearTimeout(timer);
          statsWaiter = null;
          resolve(s);
        };
        child.send('stats');
      });
    }

    it(`stays up and keeps serving well-behaved clients after ${SOCKET_CASES} hostile connections`, async () => {
      const plans = Array.from({ length: SOCKET_CASES }, (_, i) => connectionPlan(SEED, i));
      const seen: string[] = [];
      await pool(plans, 8, async (plan, i) => {
        for (const problem of await attack(plan, paths)) seen.push(`connection #${i} (${plan.kind} → ${plan.target}, FUZZ_SEED=${SEED}): ${problem}`);
      });
      expect(seen).toEqual([]);
      expect(uncaught).toBeNull();
      expect(exited).toBeNull();

      // Well-behaved clients on both endpoints still get their values echoed.
      for (const [endpoint, options] of [
        [paths.plain, {}],
        [paths.token, { token: LISTENER_TOKEN }],
      ] as const) {
        const client = DataSocket.connect(endpoint, options);
        const sent = [{ after: 'the storm', list: [1, 2n, new Date(5), new Map([['k', new Set([1])]])] }, new Float64Array([1.5, -2])];
        const echoed = new Promise<unknown[]>((resolve, reject) => {
          const values: unknown[] = [];
          const timer = setTimeout(() => reject(new Error(`${endpoint}: echoed ${values.length} of ${sent.length} values within 10 s`)), 10_000);
          client.on('data', (value: unknown) => {
            values.push(value);
            if (values.length < sent.length) return;
            clearTimeout(timer);
            resolve(values);
          });
          client.on('error', (error) => reject(error));
        });
        for (const value of sent) client.send(value);
        expect(await echoed).toEqual(sent);
        const closed = once(client, 'close');
        client.close();
        await closed;
      }

      const report = await stats();
      console.log(`fuzz sockets (FUZZ_SEED=${SEED}): ${JSON.stringify({ ...report, rss: `${(report.rss / 2 ** 20).toFixed(0)} MiB` })}`);
      expect(report.listenerErrors).toEqual([]);
      expect(report.listenersClosed).toBe(0);
      expect(report.accepted).toBeGreaterThanOrEqual(plans.filter((p) => p.kind === 'frames').length + 2);
      expect(report.connectionErrors.NOT_A_DATASOCKET_ERROR).toBeUndefined();
      expect(report.echoFailures.NOT_A_DATASOCKET_ERROR).toBeUndefined();
      expect(report.rss).toBeLessThan(1024 * 1024 * 1024);
      expect(uncaught).toBeNull();
      expect(exited).toBeNull();
    }, 90_000);
  });
});

// ---------------------------------------------------------------------------
// Inputs that once broke §3 (decoding gave a received value a foreign object):
// msgpackr's Error reader looked names up on a plain object, and a nested 0xc1
// decoded to msgpackr's internal marker. Kept as regressions; the checks look at
// every own property, so an Error's cause and errors too.

/** Decodes a VALUE body; a protocol error is a fine answer to hostile bytes, anything else must be plain data. */
function decodeHostile(body: string): string[] {
  const bytes = Uint8Array.from(body.split(' '), (b) => parseInt(b, 16));
  let value: unknown;
  try {
    value = new ValueDecoder().decode(FrameKind.VALUE, bytes, 0, bytes.length, false);
  } catch (error) {
    expect(error).toBeInstanceOf(DataSocketError);
    expect((error as DataSocketError).code).toBe(ErrorCode.PROTOCOL);
    return [];
  }
  return plainDataProblems(value);
}

describe('§3 values: hostile inputs the fuzz found decode to plain data or a protocol error', () => {
  it("an Error extension named 'valueOf' decodes to a plain Error, not msgpackr's table of Error constructors", () => {
    // d4 65 00 = Error; then ['valueOf', '']: msgpackr calls errors['valueOf'](…) on its plain lookup object.
    expect(decodeHostile('d4 65 00 92 a7 76 61 6c 75 65 4f 66 a0')).toEqual([]);
  });

  it("an Error extension named '__lookupGetter__' decodes to a plain Error, not Object.prototype's __proto__ getter", () => {
    // ['__lookupGetter__', '__proto__']
    expect(decodeHostile('d4 65 00 92 b0 5f 5f 6c 6f 6f 6b 75 70 47 65 74 74 65 72 5f 5f a9 5f 5f 70 72 6f 74 6f 5f 5f')).toEqual([]);
  });

  it("a 0xc1 byte inside a value is a protocol error, not msgpackr's C1 marker object", () => {
    // [0xc1]
    expect(decodeHostile('91 c1')).toEqual([]);
  });

  // Found in issue 10: the walk that looked for the marker followed Object.keys(), which does not list an Error's cause or errors.
  it("0xc1 as an Error's cause is a protocol error, not msgpackr's C1 marker object", () => {
    // Error('', { cause: 0xc1 })
    expect(decodeHostile('d4 65 00 93 a5 45 72 72 6f 72 a0 c1')).toEqual([]);
  });

  it("0xc1 inside AggregateError.errors is a protocol error, not msgpackr's C1 marker object", () => {
    // AggregateError([0xc1], '')
    expect(decodeHostile('d4 65 00 94 ae 41 67 67 72 65 67 61 74 65 45 72 72 6f 72 a0 d4 00 00 91 c1')).toEqual([]);
  });
});
