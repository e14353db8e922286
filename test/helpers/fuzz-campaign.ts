/**
 * The long fuzz campaign behind `npm run fuzz` (scripts/fuzz.mjs starts it; the
 * fast slice in npm test is test/main/socket/fuzz.test.ts). Seeded and resumable: it
 * runs rounds of
 *   - hostile frame streams and handshakes, decoded in a watched child process;
 *   - hostile listeners against DataSocket clients, over real sockets;
 *   - hostile clients against a real listener process (heap-limited), over real sockets;
 *   - real sessions, captured from a DataSocket client through a recording relay,
 *     mutated and replayed against that listener;
 * checks after every round that the listener is alive and that its heap after a
 * full GC has not grown, saves its progress, and prints a summary at the end.
 *
 * Arguments: --inputs=<n> (default 1000000), --seed=<n> (default: drawn),
 * --state=<file> (default: <tmpdir>/datasocket-fuzz-<seed>.json; an existing one
 * with the same seed is resumed), --fresh (ignore a saved state).
 * Exits 1 if anything broke a promise; every violation names its seed, kind and case.
 */
import { randomInt } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { DataSocket } from '../../src/index.js';
import { attack, ListenerProcess, pool, problems, runLoop, type LoopKind } from './fuzz-harness.js';
import { connectionPlan, mutatedSession, sessionValues, split } from './fuzz-inputs.js';

type Kind = LoopKind | 'sockets' | 'sessions';

/** Inputs of each kind per round: about 19 000 a round, a million in some 50 rounds. */
const ROUND: Readonly<Record<Kind, number>> = { frames: 12_000, handshake: 6_000, server: 300, sockets: 300, sessions: 200 };
/** The listener's heap after GC may not grow more than this over its first measurement. */
const HEAP_GROWTH_LIMIT = 32 * 2 ** 20;
const MAX_VIOLATIONS = 200;

interface State {
  version: 1;
  seed: number;
  inputs: number;
  done: Record<Kind, number>;
  outcomes: Record<Kind, Record<string, number>>;
  violations: string[];
  heap: { baseline: number; max: number; last: number; connections: number };
  elapsedMs: number;
}

function parseArgs(): { inputs: number; seed: number | undefined; state: string | undefined; fresh: boolean } {
  const args = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string | undefined]));
  const number = (name: string): number | undefined => {
    const text = args.get(name);
    if (text === undefined) return undefined;
    const n = Number(text);
    if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a non-negative integer, not ${text}`);
    return n;
  };
  return { inputs: number('inputs') ?? 1_000_000, seed: number('seed'), state: args.get('state'), fresh: args.has('fresh') };
}

function total(state: State): number {
  return Object.values(state.done).reduce((a, b) => a + b, 0);
}

function add(into: Record<string, number>, from: Readonly<Record<string, number>>): void {
  for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
}

function save(file: string, state: State): void {
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(state, null, 1));
  fs.renameSync(`${file}.tmp`, file);
}

/** Captures what real DataSocket clients write (HELLO, frames, END) through a relay to `target`. */
async function captureSessions(seed: number, target: string, dir: string, count: number): Promise<Uint8Array[]> {
  const sessions: Uint8Array[] = [];
  for (let index = 0; index < count; index++) {
    const recorded: Buffer[] = [];
    const relayPath = path.join(dir, `relay-${index}.sock`);
    const relay = net.createServer((inbound) => {
      const outbound = net.connect({ path: target });
      inbound.on('data', (d: Buffer) => recorded.push(d)).pipe(outbound).pipe(inbound);
      inbound.on('error', () => outbound.destroy());
      outbound.on('error', () => inbound.destroy());
    });
    await new Promise<void>((resolve) => relay.listen(relayPath, resolve));
    const client = DataSocket.connect(relayPath);
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
    });
    for (const value of sessionValues(seed, index)) client.send(value);
    await new Promise<void>((resolve) => {
      client.once('close', () => resolve());
      client.close();
    });
    relay.close();
    sessions.push(new Uint8Array(Buffer.concat(recorded)));
  }
  return sessions;
}

/** Replays one mutated session against `target`; the listener must only survive it. */
async function replay(bytes: Uint8Array, cuts: readonly number[], target: string): Promise<void> {
  const socket = net.connect({ path: target });
  socket.on('error', () => {});
  socket.resume();
  await new Promise<void>((resolve) => {
    socket.once('connect', () => resolve());
    socket.once('close', () => resolve());
  });
  for (const chunk of split(bytes, cuts)) if (!socket.destroyed) socket.write(chunk);
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 150);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  socket.destroy();
}

async function main(): Promise<number> {
  const args = parseArgs();
  const seed = args.seed ?? randomInt(0x1_0000_0000);
  const file = args.state ?? path.join(os.tmpdir(), `datasocket-fuzz-${seed}.json`);
  let state: State;
  if (!args.fresh && fs.existsSync(file)) {
    state = JSON.parse(fs.readFileSync(file, 'utf8')) as State;
    if (state.seed !== seed && args.seed !== undefined) throw new Error(`${file} holds a campaign of seed ${state.seed}, not ${seed}`);
    state.inputs = Math.max(state.inputs, args.inputs);
    console.log(`fuzz: resuming ${file} (seed ${state.seed}) at ${total(state)} of ${state.inputs} inputs`);
  } else {
    const zero = (): Record<Kind, number> => ({ frames: 0, handshake: 0, server: 0, sockets: 0, sessions: 0 });
    state = {
      version: 1,
      seed,
      inputs: args.inputs,
      done: zero(),
      outcomes: { frames: {}, handshake: {}, server: {}, sockets: {}, sessions: {} },
      violations: [],
      heap: { baseline: 0, max: 0, last: 0, connections: 0 },
      elapsedMs: 0,
    };
    console.log(`fuzz: seed ${seed}, ${state.inputs} inputs, state in ${file} (run again with --seed=${seed} to resume)`);
  }

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dscamp-'));
  const paths = { plain: path.join(dir, 'plain.sock'), token: path.join(dir, 'token.sock') };
  const listener = new ListenerProcess(paths, { maxFrameBytes: 1 << 20, heapMiB: 256 });
  await listener.ready;
  const sessions = await captureSessions(state.seed, paths.plain, dir, 16);
  const violate = (line: string): void => {
    if (state.violations.length < MAX_VIOLATIONS) state.violations.push(line);
    console.log(`VIOLATION ${line}`);
  };

  try {
    while (total(state) < state.inputs && state.violations.length < MAX_VIOLATIONS) {
      const started = Date.now();
      for (const kind of ['frames', 'handshake', 'server'] as const) {
        const options = { seed: state.seed, kind, from: state.done[kind], count: ROUND[kind], budgetMs: kind === 'server' ? 15_000 : 5_000, hangMs: 30_000 };
        const result = await runLoop(options);
        for (const line of problems(result, options, MAX_VIOLATIONS)) violate(line);
        if (result.done) add(state.outcomes[kind], result.done.outcomes);
        state.done[kind] += ROUND[kind];
      }

      const plans = Array.from({ length: ROUND.sockets }, (_, k) => state.done.sockets + k);
      await pool(plans, 8, async (i) => {
        const plan = connectionPlan(state.seed, i);
        for (const problem of await attack(plan, paths)) violate(`sockets case #${i} (seed ${state.seed}, ${plan.kind} → ${plan.target}): ${problem}`);
        state.outcomes.sockets[plan.kind] = (state.outcomes.sockets[plan.kind] ?? 0) + 1;
      });
      state.done.sockets += ROUND.sockets;
      const replays = Array.from({ length: ROUND.sessions }, (_, k) => state.done.sessions + k);
      await pool(replays, 8, async (i) => {
        const { bytes, cuts } = mutatedSession(state.seed, i, sessions);
        await replay(bytes, cuts, paths.plain);
      });
      state.outcomes.sessions.replayed = (state.outcomes.sessions.replayed ?? 0) + ROUND.sessions;
      state.done.sessions += ROUND.sessions;

      if (listener.exited !== null || listener.uncaught !== null) {
        violate(`the listener process died (${JSON.stringify(listener.exited)}): ${listener.uncaught ?? ''}`);
        break;
      }
      const stats = await listener.stats();
      state.heap.connections = stats.accepted;
      state.heap.last = stats.heapUsed;
      if (state.heap.baseline === 0) state.heap.baseline = stats.heapUsed;
      state.heap.max = Math.max(state.heap.max, stats.heapUsed);
      if (stats.connectionErrors.NOT_A_DATASOCKET_ERROR || stats.echoFailures.NOT_A_DATASOCKET_ERROR) violate(`the listener reported an error that is not a DataSocketError: ${JSON.stringify(stats)}`);
      if (stats.listenerErrors.length > 0 || stats.listenersClosed > 0) violate(`a listener failed: ${JSON.stringify(stats.listenerErrors)}`);
      if (stats.heapUsed - state.heap.baseline > HEAP_GROWTH_LIMIT) {
        violate(`the listener's heap after GC grew from ${mib(state.heap.baseline)} to ${mib(stats.heapUsed)} over ${stats.accepted} connections`);
      }
      state.elapsedMs += Date.now() - started;
      save(file, state);
      const rate = total(state) / (state.elapsedMs / 1000);
      console.log(
        `fuzz: ${total(state)} / ${state.inputs} inputs (${rate.toFixed(0)}/s), ${state.violations.length} violations, ` +
          `listener heap after GC ${mib(stats.heapUsed)} (first ${mib(state.heap.baseline)}), ${stats.accepted} connections accepted`,
      );
    }
  } finally {
    listener.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }

  console.log(`\nfuzz summary (seed ${state.seed}, state ${file})`);
  console.log(`  ${total(state)} inputs in ${(state.elapsedMs / 60_000).toFixed(1)} min`);
  for (const [kind, n] of Object.entries(state.done)) console.log(`  ${kind.padEnd(9)} ${String(n).padStart(9)}  ${JSON.stringify(state.outcomes[kind as Kind])}`);
  const growth = state.heap.last - state.heap.baseline;
  console.log(
    `  listener heap after GC: first ${mib(state.heap.baseline)}, last ${mib(state.heap.last)}, max ${mib(state.heap.max)}; ` +
      `${(growth / Math.max(1, state.heap.connections)).toFixed(0)} bytes per connection over ${state.heap.connections} connections`,
  );
  console.log(state.violations.length === 0 ? '  no violations' : `  ${state.violations.length} violations:\n${state.violations.map((v) => `  - ${v}`).join('\n')}`);
  return state.violations.length === 0 ? 0 : 1;
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

process.exitCode = await main();
