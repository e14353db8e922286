/**
 * The other direction of the fuzz: hostile listeners (serverPlan in
 * fuzz-inputs.ts) against real DataSocket clients, over real Unix sockets, run
 * in a child process by fuzz-harness.ts's runLoop so that a crash or a hang is
 * seen by the parent. Each client must end as PROTOCOL.md says a client may: a
 * DataSocketError with a code, then one `close`, having delivered only plain data.
 *
 * Configured and reporting as fuzz-runner.ts (FUZZ_SEED, FUZZ_FROM, FUZZ_COUNT, FUZZ_BUDGET_MS).
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { DataSocket, DataSocketError } from '../../src/index.js';
import { plainDataProblems, serverPlan, split } from './fuzz-inputs.js';
import type { RunnerMessage } from './fuzz-runner.js';

/** Clients at once. */
const WIDTH = 8;
/** How long a client may stay open on a listener that says nothing more before the case closes it. */
const OPEN_MS = 300;
/** A client that closes waits this long for the peer's end (PROTOCOL.md §4.4), then some slack. */
const CLOSE_WAIT_MS = 5_000 + 2_000;

function report(message: RunnerMessage): void {
  process.send!(message);
}

/** Runs one hostile listener against one client; returns how the client ended, or throws a violation message. */
async function runCase(seed: number, index: number, dir: string): Promise<string> {
  const plan = serverPlan(seed, index);
  const socketPath = path.join(dir, `${index % 1000}.sock`);
  fs.rmSync(socketPath, { force: true });
  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    // Read (and drop) what the client sends, so that its end is seen and answered.
    socket.resume();
    for (const chunk of split(plan.bytes, plan.cuts)) socket.write(chunk);
    if (plan.hangUp) socket.end();
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  const log: string[] = [];
  const problems: string[] = [];
  const client = DataSocket.connect(socketPath, { handshakeTimeoutMs: 500, maxFrameBytes: 1 << 20 });
  const closed = new Promise<void>((resolve) => {
    client.on('connect', () => log.push('connect'));
    client.on('data', (value: unknown) => {
      log.push('data');
      problems.push(...plainDataProblems(value).slice(0, 2));
    });
    client.on('request', (value: unknown, respond) => {
      log.push('request');
      problems.push(...plainDataProblems(value).slice(0, 2));
      respond(value);
    });
    client.on('error', (error: unknown) => {
      if (!(error instanceof DataSocketError) || typeof error.code !== 'string' || error.code === '') {
        problems.push(`an error that is not a DataSocketError with a code: ${String(error)}`);
        log.push('error:?');
      } else log.push(`error:${error.code}`);
    });
    client.on('close', () => {
      log.push('close');
      resolve();
    });
  });
  const quiet = setTimeout(() => client.close(), OPEN_MS);
  const hung = new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), OPEN_MS + CLOSE_WAIT_MS).unref());
  const ended = await Promise.race([closed.then(() => 'closed' as const), hung]);
  clearTimeout(quiet);
  server.close();
  if (ended === 'hung') throw new Error(`the client did not close within ${OPEN_MS + CLOSE_WAIT_MS} ms (events: ${log.join(' ')})`);
  // Events after close would land in the log behind it.
  await new Promise((resolve) => setImmediate(resolve));
  if (log.filter((e) => e === 'close').length !== 1 || log[log.length - 1] !== 'close') problems.push(`close was not once and last: ${log.join(' ')}`);
  if (log.filter((e) => e.startsWith('error:')).length > 1) problems.push(`more than one error: ${log.join(' ')}`);
  if ((log.includes('data') || log.includes('request')) && !log.includes('connect')) problems.push(`data or a request before connect: ${log.join(' ')}`);
  if (problems.length > 0) throw new Error(problems.join('; '));
  return log.find((e) => e.startsWith('error:'))?.slice(6) ?? (log.includes('connect') ? 'open' : 'closed');
}

async function run(): Promise<void> {
  const seed = Number(process.env.FUZZ_SEED);
  const from = Number(process.env.FUZZ_FROM ?? 0);
  const count = Number(process.env.FUZZ_COUNT);
  const budget = Number(process.env.FUZZ_BUDGET_MS ?? 10_000);
  if (!Number.isInteger(seed) || !Number.isInteger(count)) throw new Error(`bad fuzz server runner configuration: seed ${process.env.FUZZ_SEED}, count ${process.env.FUZZ_COUNT}`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dsfs-'));
  const outcomes: Record<string, number> = {};
  let slowestMs = 0;
  let slowestCase = -1;
  let maxRss = 0;
  let next = from;
  await Promise.all(
    Array.from({ length: WIDTH }, async () => {
      while (next < from + count) {
        const i = next++;
        report({ t: 'start', i });
        const started = performance.now();
        try {
          const outcome = await runCase(seed, i, dir);
          outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
        } catch (error) {
          report({ t: 'violation', i, message: (error as Error)?.message ?? String(error) });
        }
        const ms = performance.now() - started;
        if (ms > slowestMs) {
          slowestMs = ms;
          slowestCase = i;
        }
        if (ms > budget) report({ t: 'violation', i, message: `took ${ms.toFixed(0)} ms, over the ${budget} ms budget of one input` });
        maxRss = Math.max(maxRss, process.memoryUsage.rss());
      }
    }),
  );
  fs.rmSync(dir, { recursive: true, force: true });
  report({ t: 'done', outcomes, slowestMs, slowestCase, maxRss });
}

process.on('uncaughtException', (error) => {
  report({ t: 'violation', i: -1, message: `uncaught: ${(error as Error)?.stack ?? String(error)}` });
  process.exit(70);
});
await run();
