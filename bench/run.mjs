/**
 * `npm run bench`: DataSocket against a raw `net` + msgpackr baseline, node-ipc
 * and zeromq, and the Electron bridge's relay path (bench/relay.mjs), side by side on this machine, sender and receiver in separate
 * processes (child_process.fork of bench/<lib>.mjs, see bench/measure.mjs),
 * over a Unix domain socket and over TCP on 127.0.0.1.
 *
 * Figures: (1) small values one way, msgs/s, counted and timed at the receiver
 * from the end of the warm-up to the last value; (2) 64 KiB Uint8Array one way,
 * MB/s (10^6 bytes); (3) round trip of a small value, one in flight, p50 and
 * p99 in µs after warm-up. Every value is checked on arrival (order, id, shape
 * or length) and a result only counts if its count and last id match.
 * Each measurement runs BENCH_RUNS times (default 3), the libraries interleaved
 * (raw, datasocket, node-ipc, zeromq, raw, …) within each figure so that
 * machine noise hits all alike; the table shows medians and ratios to the raw
 * baseline of the same transport, then the issue's targets as PASS/FAIL lines
 * (bench/report.mjs). Everything, every run included, goes to bench/results.json.
 *
 * Then the failover figure (bench/failover.mjs, SPEC §9): from a rendezvous leader's
 * SIGKILL to every follower re-linked, median and max over 20 failovers with 10
 * members on a local socket; printed as its own line after the table, saved as
 * `failover`, its target checked with the others.
 *
 * Then the request figures (bench/requests.mjs, SPEC §10, §12), DataSocket against itself
 * over each transport: request/reply beside send/echo round trips (in turn on one
 * connection, pinned as above), requests/s with 1,000 in flight, and the small-value rate
 * with a zod schema on the receiver beside the same rate without; printed as their own
 * small table after the failover line, saved as `requests`, their targets checked too.
 *
 * `--quick` (or BENCH_QUICK=1): a tenth of the values after half the warm-up,
 * 1 run unless BENCH_RUNS says otherwise, 5 failovers, results to the temp dir, not
 * bench/results.json. Environment: BENCH_RUNS=n; BENCH_LIBS,
 * BENCH_FIGURES (small,bytes,large,rtt,failover,requests), BENCH_TRANSPORTS (unix,tcp):
 * comma-separated subsets (the request figures run when BENCH_LIBS has datasocket);
 * BENCH_PIN=0: do not pin round-trip pairs to one CPU (see pinCpu).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeFailover, FAILOVER_PLAN, failoverSocketDir, failoverTarget, measureFailover } from './failover.mjs';
import { measure, roundTripCpu } from './measure.mjs';
import { LABELS, METRICS, applies, formatValue, machine, printTable, summarize, targets } from './report.mjs';
import { describeRequests, measureRequests, requestSocketDir, requestTargets } from './requests.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));

const LIBS = ['raw', 'datasocket', 'relay', 'relay-moved', 'port-floor', 'node-ipc', 'zeromq'];
const FIGURES = ['small', 'bytes', 'large', 'rtt'];
const TRANSPORTS = ['unix', 'tcp'];

/**
 * Values per measurement: [warm-up, measured]. The slower libraries get fewer
 * so that a full run stays within minutes; a rate does not depend on the count
 * once warmed up. node-ipc's 64 KiB values travel as ~130 KB of JSON each.
 * The round-trip warm-up is long because the raw baseline's tail took some
 * 10 000 round trips to settle (JIT).
 */
const COUNTS = {
  small: { raw: [300_000, 3_000_000], datasocket: [300_000, 3_000_000], relay: [300_000, 3_000_000], 'relay-moved': [300_000, 3_000_000], 'port-floor': [0, 0], 'node-ipc': [50_000, 500_000], zeromq: [50_000, 700_000] },
  large: { raw: [2, 20], datasocket: [2, 20] },
  bytes: { raw: [3_000, 30_000], datasocket: [3_000, 30_000], relay: [3_000, 30_000], 'relay-moved': [3_000, 30_000], 'port-floor': [3_000, 30_000], 'node-ipc': [100, 1_500], zeromq: [3_000, 30_000] },
  rtt: { raw: [20_000, 100_000], datasocket: [20_000, 100_000], relay: [20_000, 100_000], 'relay-moved': [20_000, 100_000], 'port-floor': [20_000, 100_000], 'node-ipc': [20_000, 100_000], zeromq: [20_000, 100_000] },
};
const QUICK_COUNT_DIVISOR = 10;
const QUICK_WARMUP_DIVISOR = 2;
const MEASUREMENT_TIMEOUT_MS = 60_000;

// `npm run bench -- --quick` (or BENCH_QUICK=1): the same table in a fraction of the time, for a look.
const quick = process.argv.includes('--quick') || process.env.BENCH_QUICK === '1' || process.env.BENCH_QUICK === 'true';
const runs = positiveInteger('BENCH_RUNS', quick ? 1 : 3);
// The failover and request figures are not library × transport cells: they run apart, after the table's.
const figuresAsked = subset('BENCH_FIGURES', [...FIGURES, 'failover', 'requests']);
const withFailover = figuresAsked.includes('failover');
const plan = {
  // relay-moved only prices a copy (see bench/relay-moved.mjs): run it by naming it in BENCH_LIBS.
  libs: subset('BENCH_LIBS', LIBS, LIBS.filter((lib) => lib !== 'relay-moved')),
  figures: figuresAsked.filter((figure) => figure !== 'failover' && figure !== 'requests'),
  transports: subset('BENCH_TRANSPORTS', TRANSPORTS),
};
const withRequests = figuresAsked.includes('requests') && plan.libs.includes('datasocket');

/**
 * Round trips: whether the two processes share a CPU moves the latency by tens
 * of µs here (a cross-CPU wake-up on a VM), and the scheduler decides
 * differently from one run to the next (seen: the same library at 17 or 60 µs).
 * So both processes of a round-trip pair are pinned to the same CPU with
 * taskset, and the figure compares what the libraries cost rather than where
 * they landed. One-way pairs are left to the OS, which spreads them.
 */
const pinCpu = roundTripCpu();

function positiveInteger(name, fallback) {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, not ${JSON.stringify(text)}`);
  return n;
}

function subset(name, all, byDefault = all) {
  const text = process.env[name];
  if (!text) return byDefault;
  const picked = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const item of picked) if (!all.includes(item)) throw new Error(`${name}: unknown '${item}' (one of ${all.join(', ')})`);
  return all.filter((item) => picked.includes(item));
}

function countsFor(figure, lib) {
  const [warmup, count] = COUNTS[figure][lib];
  return quick ? { warmup: Math.ceil(warmup / QUICK_WARMUP_DIVISOR), count: Math.ceil(count / QUICK_COUNT_DIVISOR) } : { warmup, count };
}

const started = new Date();
const info = machine();
const loadBefore = os.loadavg();
const { libs, figures, transports } = plan;
console.log(`electron-datasocket bench — ${started.toISOString()}`);
console.log(`machine: ${info.cpu}, ${info.cores} cores, ${info.memoryGiB} GiB, ${info.platform}; Node ${info.node}`);
console.log(`load average at start: ${loadBefore.map((l) => l.toFixed(2)).join(' ')}`);
console.log(`${quick ? 'QUICK mode (a tenth of the values), ' : ''}${runs} run(s) per measurement; libraries: ${libs.join(', ')}; transports: ${transports.join(', ')}`);
console.log(`round-trip pairs: ${pinCpu === null ? 'placed by the OS' : `pinned together to CPU ${pinCpu}`}`);
console.log('');

const results = {};
for (const figure of figures) {
  results[figure] = {};
  for (const transport of transports) {
    results[figure][transport] = Object.fromEntries(libs.map((lib) => [lib, { counts: applies(lib, figure, transport) ? countsFor(figure, lib) : null, runs: [] }]));
  }
}

const socketDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dsbench-'));
let sequence = 0;
try {
  for (const figure of figures) {
    for (let run = 1; run <= runs; run++) {
      for (const transport of transports) {
        for (const lib of libs) {
          if (!applies(lib, figure, transport)) continue;
          const t0 = Date.now();
          const outcome = await measure({
            lib,
            figure,
            transport,
            ...countsFor(figure, lib),
            socketPath: path.join(socketDir, `${lib}-${++sequence}.sock`),
            pinCpu,
            timeoutMs: MEASUREMENT_TIMEOUT_MS,
          });
          results[figure][transport][lib].runs.push(outcome);
          const shown = outcome.result
            ? METRICS[figure].map(({ key }) => formatValue(key, outcome.result[key])).join(' / ')
            : `FAILED: ${outcome.error}`;
          const seconds = ((Date.now() - t0) / 1000).toFixed(1);
          console.log(`  ${figure.padEnd(5)} run ${run}/${runs}  ${transport.padEnd(4)}  ${LABELS[lib].padEnd(22)}  ${shown}  [${seconds} s]`);
        }
      }
    }
  }
} finally {
  fs.rmSync(socketDir, { recursive: true, force: true });
}

let failover = null;
if (withFailover) {
  const failoverDir = failoverSocketDir();
  const t0 = Date.now();
  try {
    failover = await measureFailover({ ...FAILOVER_PLAN[quick ? 'quick' : 'full'], socketPath: path.join(failoverDir, 'failover.sock') });
  } finally {
    fs.rmSync(failoverDir, { recursive: true, force: true });
  }
  const shown = failover.error === undefined ? `median ${failover.median.toFixed(1)} ms, max ${failover.max.toFixed(1)} ms` : `FAILED: ${failover.error}`;
  console.log(`  failover  ${failover.failovers} SIGKILLs, ${failover.members} members, unix  ${shown}  [${((Date.now() - t0) / 1000).toFixed(1)} s]`);
}

let requests = null;
if (withRequests) {
  const requestDir = requestSocketDir();
  try {
    requests = await measureRequests({ quick, runs, transports, pinCpu, socketDir: requestDir, log: console.log });
  } finally {
    fs.rmSync(requestDir, { recursive: true, force: true });
  }
}

summarize(results, plan);
const finished = new Date();
console.log('');
console.log(`electron-datasocket bench — ${info.cpu}, ${info.cores} cores, Node ${info.node} — ${started.toISOString()}${quick ? ' — QUICK' : ''}`);
console.log('');
// Only the failover or request figures asked for (BENCH_FIGURES): no table, and no table's targets.
if (figures.length > 0) {
  printTable(results, plan);
  console.log('');
}
if (failover !== null) {
  console.log(describeFailover(failover));
  console.log('');
}
if (requests !== null) {
  console.log(describeRequests(requests));
  console.log('');
}
const checks = figures.length > 0 ? targets(results, plan) : [];
if (failover !== null) checks.push(failoverTarget(failover));
if (requests !== null) checks.push(...requestTargets(requests));
for (const { name, pass, detail } of checks) console.log(`${pass ? 'PASS' : 'FAIL'}  ${name}: ${detail}`);
const loadAfter = os.loadavg();
console.log('');
console.log(`took ${((finished - started) / 1000).toFixed(0)} s; load average at end: ${loadAfter.map((l) => l.toFixed(2)).join(' ')}`);

const report = {
  date: started.toISOString(),
  durationS: (finished - started) / 1000,
  machine: info,
  node: process.version,
  loadAverage: { start: loadBefore, end: loadAfter },
  quick,
  runs,
  roundTripPinnedToCpu: pinCpu,
  ...plan,
  units: { rate: 'values/s', mbps: 'MB/s (10^6 bytes)', p50: 'µs', p99: 'µs', mean: 'µs', ms: 'ms (measured window)', failover: 'ms', requests: 'p50, p99, echoP50, echoP99: µs; rate: values/s or requests/s' },
  results,
  failover,
  requests,
  targets: checks,
};
// A quick look never replaces the reference results the README's table comes from.
const file = quick ? path.join(os.tmpdir(), 'electron-datasocket-bench-quick.json') : path.join(here, 'results.json');
fs.writeFileSync(`${file}.tmp`, `${JSON.stringify(report, null, 2)}\n`);
fs.renameSync(`${file}.tmp`, file);
console.log(`results written to ${path.relative(process.cwd(), file) || file}`);
