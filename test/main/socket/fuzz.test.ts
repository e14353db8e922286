/**
 * SPEC §4 under hostile input, a fast slice of the fuzz campaign (`npm run fuzz`
 * runs the long one, scripts/fuzz.mjs). Seeded fuzzing of the handshake state
 * machine (both roles, with and without a token) and of the frame decoder path
 * (FrameReader + ValueDecoder, and DataSocketCore itself), run in a child process
 * that is watched for crashes, hangs and memory blow-ups; hostile listeners
 * against DataSocket clients; then hostile peers against a real listener process,
 * which must stay up, keep serving and keep its heap.
 *
 * Reproduce a run with FUZZ_SEED=<seed> (decimal or 0x…); without it a seed is drawn
 * and printed. FUZZ_SCALE=<n> multiplies the number of cases for longer runs.
 */
import { randomInt } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataSocket } from '../../../src/index.js';
import { ValueDecoder } from '../../../src/shared/codec.js';
import { DataSocketError, ErrorCode } from '../../../src/shared/errors.js';
import { FrameKind } from '../../../src/shared/protocol.js';
import { attack, ListenerProcess, pool, problems, runLoop, summary, type LoopKind } from '../../helpers/fuzz-harness.js';
import { connectionPlan, LISTENER_TOKEN, plainDataProblems, REQUESTS_DELIVERED } from '../../helpers/fuzz-inputs.js';
import { once, tempDir } from '../../helpers/sockets.js';

function seedFromEnv(): number {
  const text = process.env.FUZZ_SEED;
  if (text === undefined || text === '') return randomInt(0x1_0000_0000);
  const seed = Number(text);
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffff_ffff) throw new Error(`FUZZ_SEED must be an integer from 0 to 2^32-1, not ${text}`);
  return seed;
}

const SEED = seedFromEnv();
const SCALE = Math.max(1, Number(process.env.FUZZ_SCALE ?? 1) || 1);
const HANDSHAKE_CASES = 10_000 * SCALE;
const FRAME_CASES = 6_000 * SCALE;
const SERVER_CASES = 150 * SCALE;
const SOCKET_CASES = 200;
/** One input may take this long (generation and checks included) on a loaded two-core machine. */
const CASE_BUDGET_MS = 2_000;
/** No report from the child for this long means it hangs inside one input. */
const HANG_MS = 20_000;

console.log(`fuzz: FUZZ_SEED=${SEED} (set FUZZ_SEED to reproduce; FUZZ_SCALE=${SCALE})`);

function loop(kind: LoopKind, count: number) {
  const options = { seed: SEED, kind, from: 0, count, budgetMs: kind === 'server' ? 10_000 : CASE_BUDGET_MS, hangMs: HANG_MS };
  return runLoop(options).then((result) => {
    console.log(`fuzz ${kind} (FUZZ_SEED=${SEED}): ${summary(result)}`);
    return { result, problems: problems(result, options) };
  });
}

describe('§4 wire protocol: hostile bytes end in a DataSocketError with a code, never a crash, a hang or a memory blow-up', () => {
  it(`ends each of ${HANDSHAKE_CASES} hostile handshakes (both roles, with and without a token) finished, pending or in a DataSocketError`, async () => {
    const { result, problems } = await loop('handshake', HANDSHAKE_CASES);
    expect(problems).toEqual([]);
    // The loop is not vacuous: every ending a handshake can have was reached, often.
    for (const outcome of ['done', 'pending', ErrorCode.PROTOCOL, ErrorCode.AUTH_FAILED, ErrorCode.REJECTED]) {
      expect(result.done!.outcomes[outcome] ?? 0, outcome).toBeGreaterThan(HANDSHAKE_CASES / 100);
    }
  }, 120_000);

  it(`ends each of ${FRAME_CASES} hostile frame streams in plain values or ERR_DATASOCKET_PROTOCOL, through FrameReader + ValueDecoder and DataSocketCore`, async () => {
    const { result, problems } = await loop('frames', FRAME_CASES);
    expect(problems).toEqual([]);
    for (const outcome of ['open', 'ended', 'midframe', ErrorCode.PROTOCOL, REQUESTS_DELIVERED]) {
      expect(result.done!.outcomes[outcome] ?? 0, outcome).toBeGreaterThan(FRAME_CASES / 200);
    }
  }, 120_000);

  it(`ends each of ${SERVER_CASES} DataSocket clients of a hostile listener in a DataSocketError with a code, then one close`, async () => {
    const { result, problems } = await loop('server', SERVER_CASES);
    expect(problems).toEqual([]);
    // Not vacuous: most end in a protocol error, and the clients met several other endings too.
    expect(result.done!.outcomes[ErrorCode.PROTOCOL] ?? 0).toBeGreaterThan(SERVER_CASES / 4);
    expect(Object.keys(result.done!.outcomes).length).toBeGreaterThanOrEqual(3);
  }, 120_000);

  describe('a real listener process under hostile peers', () => {
    let dir: string;
    let listener: ListenerProcess;
    const paths = { plain: '', token: '' };

    beforeAll(async () => {
      dir = tempDir('dsfz-');
      paths.plain = path.join(dir, 'plain.sock');
      paths.token = path.join(dir, 'token.sock');
      listener = new ListenerProcess(paths, { maxFrameBytes: 1 << 20 });
      await listener.ready;
    }, 30_000);

    afterAll(() => {
      listener?.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it(`stays up, keeps serving well-behaved clients and keeps its heap after ${SOCKET_CASES} hostile connections`, async () => {
      const before = await listener.stats();
      const plans = Array.from({ length: SOCKET_CASES }, (_, i) => connectionPlan(SEED, i));
      const seen: string[] = [];
      await pool(plans, 8, async (plan, i) => {
        for (const problem of await attack(plan, paths)) seen.push(`connection #${i} (${plan.kind} → ${plan.target}, FUZZ_SEED=${SEED}): ${problem}`);
      });
      expect(seen).toEqual([]);
      expect(listener.uncaught).toBeNull();
      expect(listener.exited).toBeNull();
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
        expect(await client.request(sent[0], { timeoutMs: 10_000 }), `${endpoint}: a request answered with its own value`).toEqual(sent[0]);
        const closed = once(client, 'close');
        client.close();
        await closed;
      }

      const report = await listener.stats();
      const mib = (n: number): string => `${(n / 2 ** 20).toFixed(1)} MiB`;
      console.log(`fuzz sockets (FUZZ_SEED=${SEED}): ${JSON.stringify({ ...report, rss: mib(report.rss), heapUsed: `${mib(before.heapUsed)} → ${mib(report.heapUsed)}` })}`);
      expect(report.listenerErrors).toEqual([]);
      expect(report.listenersClosed).toBe(0);
      expect(report.accepted).toBeGreaterThanOrEqual(plans.filter((p) => p.kind === 'frames').length + 2);
      expect(report.connectionErrors.NOT_A_DATASOCKET_ERROR).toBeUndefined();
      expect(report.echoFailures.NOT_A_DATASOCKET_ERROR).toBeUndefined();
      expect(report.rss).toBeLessThan(1024 * 1024 * 1024);
      // Every hostile connection is closed by now: nothing of them may stay on the heap.
      expect(report.heapUsed - before.heapUsed).toBeLessThan(8 * 2 ** 20);
      expect(listener.uncaught).toBeNull();
      expect(listener.exited).toBeNull();
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
