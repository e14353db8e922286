/**
 * The fuzz loop, run in a child process by test/main/socket/fuzz.test.ts so that a
 * crash (even a native one), a hang or a memory blow-up in the code under test
 * is seen by the parent instead of taking the test runner down.
 *
 * Configured by environment: FUZZ_SEED, FUZZ_KIND ('handshake' | 'frames'),
 * FUZZ_FROM, FUZZ_COUNT, FUZZ_BUDGET_MS, FUZZ_CORE_EVERY. Reports each case on its
 * IPC channel before running it, every broken promise as it happens, and a summary.
 */
import { performance } from 'node:perf_hooks';
import { FuzzViolation, frameInput, handshakeInput, REQUESTS_DELIVERED, runFrameCase, runHandshakeCase } from './fuzz-inputs.js';

/** What the runner tells its parent. */
export type RunnerMessage =
  | { readonly t: 'start'; readonly i: number }
  | { readonly t: 'violation'; readonly i: number; readonly message: string }
  | { readonly t: 'done'; readonly outcomes: Readonly<Record<string, number>>; readonly slowestMs: number; readonly slowestCase: number; readonly maxRss: number };

/** Resident memory a single case may leave the process at: well above one maxFrameBytes buffer. */
const RSS_LIMIT = 1536 * 1024 * 1024;

function report(message: RunnerMessage): void {
  process.send!(message);
}

function run(): void {
  const seed = Number(process.env.FUZZ_SEED);
  const kind = process.env.FUZZ_KIND;
  const from = Number(process.env.FUZZ_FROM ?? 0);
  const count = Number(process.env.FUZZ_COUNT);
  const budget = Number(process.env.FUZZ_BUDGET_MS ?? 2000);
  const coreEvery = Number(process.env.FUZZ_CORE_EVERY ?? 4);
  if (!Number.isInteger(seed) || !Number.isInteger(count) || (kind !== 'handshake' && kind !== 'frames')) {
    throw new Error(`bad fuzz runner configuration: seed ${process.env.FUZZ_SEED}, kind ${kind}, count ${process.env.FUZZ_COUNT}`);
  }
  const outcomes: Record<string, number> = {};
  let slowestMs = 0;
  let slowestCase = -1;
  let maxRss = 0;
  for (let i = from; i < from + count; i++) {
    report({ t: 'start', i });
    const started = performance.now();
    try {
      if (kind === 'handshake') {
        const outcome = runHandshakeCase(handshakeInput(seed, i));
        outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
      } else {
        const { end, requests } = runFrameCase(frameInput(seed, i), i % coreEvery === 0);
        outcomes[end] = (outcomes[end] ?? 0) + 1;
        // Beside the endings: how many streams delivered a request (to be answered) before theirs.
        if (requests > 0) outcomes[REQUESTS_DELIVERED] = (outcomes[REQUESTS_DELIVERED] ?? 0) + 1;
      }
    } catch (error) {
      const message = error instanceof FuzzViolation ? error.message : `the case threw outside the checks: ${(error as Error)?.stack ?? String(error)}`;
      report({ t: 'violation', i, message });
    }
    const ms = performance.now() - started;
    if (ms > slowestMs) {
      slowestMs = ms;
      slowestCase = i;
    }
    if (ms > budget) report({ t: 'violation', i, message: `took ${ms.toFixed(0)} ms, over the ${budget} ms budget of one input` });
    const rss = process.memoryUsage.rss();
    maxRss = Math.max(maxRss, rss);
    if (rss > RSS_LIMIT) report({ t: 'violation', i, message: `left the process at ${(rss / 2 ** 20).toFixed(0)} MiB resident` });
  }
  report({ t: 'done', outcomes, slowestMs, slowestCase, maxRss });
}

run();
