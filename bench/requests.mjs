/**
 * The request figures (issue 8 part 5, SPEC §10, §12), DataSocket against itself in
 * one run, interleaved, over each transport of the run:
 * - the round trip of `request()` → `respond()` beside the round trip of `send()` →
 *   echo `send()` (what bench/run.mjs's `rtt` times), one in flight, the two in turn
 *   on one connection so that both meet the same moments of a busy machine, the pair
 *   pinned to one CPU as the `rtt` figure's is; target: request p50 <= 1.1× the echo's;
 * - requests/s with 1,000 in flight (a reply starts the next request), left to the OS
 *   like the one-way figures;
 * - the small-value rate with a zod 4 `schema` on the receiving side (an object schema
 *   of the small value, bench/small-schema.mjs) beside the same rate without; target:
 *   the schema costs <= 20 % of the rate;
 * - the same rate with DATASOCKET_TRACE set in both processes (SPEC §13, issue 9: every
 *   socket event written to a trace file); target: tracing costs <= 10 % of the rate;
 *   and the requests-in-flight rate traced the same way, beside the untraced one (no target).
 *
 * bench/run.mjs runs it after the main table and the failover figure (fewer values
 * with --quick), prints it as its own small table and saves it as `requests`. Alone,
 * after `npm run build`: `node bench/requests.mjs [--quick]` (BENCH_RUNS,
 * BENCH_TRANSPORTS as for run.mjs) prints it and saves nothing.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { measure, roundTripCpu } from './measure.mjs';
import { formatValue, layColumns } from './report.mjs';

/** The issue's bounds: request p50 over echo p50, and the share of the small-value rate a schema may cost. */
export const REQUEST_RTT_TARGET = 1.1;
export const SCHEMA_COST_TARGET = 0.2;
export const TRACE_COST_TARGET = 0.1;
/** Requests kept waiting at once in the in-flight figure. */
export const IN_FLIGHT = 1000;

/**
 * The measurements, in the order each run takes them, and their [warm-up, measured]
 * counts; the round trips warm up as long as the main table's (the JIT settles late).
 */
const ITEMS = [
  { key: 'roundTrip', figure: 'request', label: 'request/reply, send/echo' },
  { key: 'plain', figure: 'small', label: 'small values' },
  { key: 'schema', figure: 'small', label: 'small values, zod schema', extra: { schema: true } },
  { key: 'traced', figure: 'small', label: 'small values, traced', extra: { trace: true } },
  { key: 'inflight', figure: 'inflight', label: `requests, ${IN_FLIGHT} in flight`, extra: { inFlight: IN_FLIGHT } },
  { key: 'inflightTraced', figure: 'inflight', label: `requests, ${IN_FLIGHT} in flight, traced`, extra: { inFlight: IN_FLIGHT, trace: true } },
];
// roundTrip: half of them requests, half send/echo.
const COUNTS = { roundTrip: [20_000, 200_000], plain: [300_000, 2_000_000], schema: [300_000, 2_000_000], traced: [300_000, 2_000_000], inflight: [50_000, 500_000], inflightTraced: [50_000, 500_000] };
/** --quick: half the warm-up and a tenth of the values, as bench/run.mjs does. */
const QUICK_WARMUP_DIVISOR = 2;
const QUICK_COUNT_DIVISOR = 10;
const MEASUREMENT_TIMEOUT_MS = 60_000;

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Runs the figures `runs` times over `transports`; resolves { inFlight, pinnedToCpu,
 * results: { [transport]: { [key]: { counts, runs: [{ result } | { error }], median } } } },
 * `median` null where every run failed. `log` gets one line per measurement.
 */
export async function measureRequests({ quick, runs, transports, pinCpu, socketDir, log = () => {} }) {
  const counts = Object.fromEntries(
    Object.entries(COUNTS).map(([key, [warmup, count]]) => [key, quick ? [Math.ceil(warmup / QUICK_WARMUP_DIVISOR), Math.ceil(count / QUICK_COUNT_DIVISOR)] : [warmup, count]]),
  );
  const results = Object.fromEntries(
    transports.map((transport) => [
      transport,
      Object.fromEntries(ITEMS.map(({ key }) => [key, { counts: { warmup: counts[key][0], count: counts[key][1] }, runs: [], median: null }])),
    ]),
  );
  let sequence = 0;
  for (let run = 1; run <= runs; run++) {
    for (const transport of transports) {
      // Even runs take the schema and the trace before the plain rate, so the plain rate does not always come first.
      const order = run % 2 === 0 ? [ITEMS[0], ITEMS[3], ITEMS[2], ITEMS[1], ITEMS[5], ITEMS[4]] : ITEMS;
      for (const { key, figure, label, extra } of order) {
        const t0 = Date.now();
        const [warmup, count] = counts[key];
        const outcome = await measure({
          lib: 'datasocket',
          figure,
          transport,
          warmup,
          count,
          socketPath: path.join(socketDir, `request-${++sequence}.sock`),
          pinCpu,
          timeoutMs: MEASUREMENT_TIMEOUT_MS,
          // Each traced measurement writes its own directory (a trace of millions of values is large): removed at once.
          extra: extra?.trace ? { ...extra, trace: path.join(socketDir, `trace-${sequence}`) } : extra,
        });
        if (extra?.trace) fs.rmSync(path.join(socketDir, `trace-${sequence}`), { recursive: true, force: true });
        results[transport][key].runs.push(outcome);
        const r = outcome.result;
        const shown = r === undefined ? `FAILED: ${outcome.error}` : r.rate !== undefined ? formatValue('rate', r.rate) : `${latency(r.p50, r.p99)}, ${latency(r.echoP50, r.echoP99)}`;
        log(`  requests run ${run}/${runs}  ${transport.padEnd(4)}  ${label.padEnd(26)}  ${shown}  [${((Date.now() - t0) / 1000).toFixed(1)} s]`);
      }
    }
  }
  for (const transport of transports) {
    for (const { key } of ITEMS) {
      const entry = results[transport][key];
      const ok = entry.runs.filter((r) => r.result).map((r) => r.result);
      if (ok.length === 0) continue;
      entry.median = Object.fromEntries(Object.keys(ok[0]).map((k) => [k, median(ok.map((r) => r[k]))]));
    }
  }
  return { inFlight: IN_FLIGHT, pinnedToCpu: pinCpu, results };
}

/** p50 / p99, as the tables show a round trip. */
function latency(p50, p99) {
  return `${formatValue('p50', p50)} / ${formatValue('p99', p99)}`;
}

/**
 * Request p50 over echo p50, and the share of the small-value rate the schema cost;
 * undefined without data. Each is the median over the runs of that run's own ratio: the
 * two sides of a ratio are measured together (one connection; back to back), so a
 * run's ratio holds even when the machine's load moves both between runs.
 */
export function requestRatios(cell) {
  const paired = (a, b, of) =>
    a.runs
      .map((run, i) => [run.result, b.runs[i]?.result])
      .filter(([x, y]) => x !== undefined && y !== undefined)
      .map(([x, y]) => of(x, y));
  const rtt = paired(cell.roundTrip, cell.roundTrip, (r) => r.p50 / r.echoP50);
  const kept = paired(cell.schema, cell.plain, (withSchema, without) => withSchema.rate / without.rate);
  // Results saved before tracing existed have no traced rate.
  const keptTraced = cell.traced === undefined ? [] : paired(cell.traced, cell.plain, (traced, without) => traced.rate / without.rate);
  return {
    rtt: rtt.length === 0 ? undefined : median(rtt),
    schemaCost: kept.length === 0 ? undefined : 1 - median(kept),
    traceCost: keptTraced.length === 0 ? undefined : 1 - median(keptTraced),
  };
}

/** The issue's targets, as bench/run.mjs prints its checks. */
export function requestTargets(report) {
  const checks = [];
  for (const [transport, cell] of Object.entries(report.results)) {
    const { rtt, schemaCost, traceCost } = requestRatios(cell);
    checks.push({
      name: `request round-trip p50 <= ${REQUEST_RTT_TARGET}x send/echo (${transport})`,
      pass: rtt !== undefined && rtt <= REQUEST_RTT_TARGET,
      detail: rtt === undefined ? 'no data' : `${rtt.toFixed(2)}x (medians ${formatValue('p50', cell.roundTrip.median.p50)} vs ${formatValue('p50', cell.roundTrip.median.echoP50)})`,
    });
    checks.push({
      name: `zod schema costs <= ${SCHEMA_COST_TARGET * 100} % of the small-value rate (${transport})`,
      pass: schemaCost !== undefined && schemaCost <= SCHEMA_COST_TARGET,
      detail: schemaCost === undefined ? 'no data' : `${(schemaCost * 100).toFixed(1)} % (medians ${formatValue('rate', cell.schema.median.rate)} with vs ${formatValue('rate', cell.plain.median.rate)} without)`,
    });
    checks.push({
      name: `DATASOCKET_TRACE costs <= ${TRACE_COST_TARGET * 100} % of the small-value rate (${transport})`,
      pass: traceCost !== undefined && traceCost <= TRACE_COST_TARGET,
      detail: traceCost === undefined ? 'no data' : `${(traceCost * 100).toFixed(1)} % (medians ${formatValue('rate', cell.traced.median.rate)} traced vs ${formatValue('rate', cell.plain.median.rate)} not)`,
    });
  }
  return checks;
}

/** The figures as a small table for the console, one row per transport. */
export function describeRequests(report) {
  const header = ['requests', 'send/echo p50 / p99', 'request/reply p50 / p99', `requests/s, ${report.inFlight} in flight`, 'small values', 'with zod schema', 'traced'];
  const rows = Object.entries(report.results).map(([transport, cell]) => {
    const { rtt, schemaCost, traceCost } = requestRatios(cell);
    const m = cell.roundTrip.median;
    const rate = (entry) => (entry.median ? formatValue('rate', entry.median.rate) : 'FAILED');
    return [
      transport,
      m ? latency(m.echoP50, m.echoP99) : 'FAILED',
      m ? `${latency(m.p50, m.p99)} (${rtt.toFixed(2)}×)` : 'FAILED',
      `${rate(cell.inflight)}${cell.inflightTraced?.median ? `, traced ${rate(cell.inflightTraced)}` : ''}`,
      rate(cell.plain),
      `${rate(cell.schema)}${schemaCost === undefined ? '' : ` (${(1 - schemaCost).toFixed(2)}×)`}`,
      `${rate(cell.traced)}${traceCost === undefined ? '' : ` (${(1 - traceCost).toFixed(2)}×)`}`,
    ];
  });
  const { line, rule } = layColumns(header, rows);
  const failures = Object.entries(report.results).flatMap(([transport, cell]) =>
    Object.entries(cell).flatMap(([key, entry]) => entry.runs.filter((r) => r.error).map((r) => `  ${key} ${transport}: ${r.error}`)),
  );
  return [
    line(header),
    rule,
    ...rows.map(line),
    `DataSocket only, medians of the runs; requests and send/echo in turn on one connection, ${report.pinnedToCpu === null ? 'placed by the OS' : `pinned to CPU ${report.pinnedToCpu}`}; (×) = request over echo p50, and with schema (traced) over without: the median of each run's own ratio.`,
    ...(failures.length > 0 ? ['Failures:', ...failures] : []),
  ].join('\n');
}

/** A temporary directory for the sockets; removed by the caller. */
export function requestSocketDir() {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'dsreq-'));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const quick = process.argv.includes('--quick') || process.env.BENCH_QUICK === '1' || process.env.BENCH_QUICK === 'true';
  const runs = Number(process.env.BENCH_RUNS || (quick ? 1 : 3));
  const transports = (process.env.BENCH_TRANSPORTS || 'unix,tcp').split(',').map((s) => s.trim());
  console.log(`load average at start: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  const dir = requestSocketDir();
  try {
    const report = await measureRequests({ quick, runs, transports, pinCpu: roundTripCpu(), socketDir: dir, log: console.log });
    console.log('');
    console.log(describeRequests(report));
    console.log('');
    for (const { pass, name, detail } of requestTargets(report)) console.log(`${pass ? 'PASS' : 'FAIL'}  ${name}: ${detail}`);
    console.log(`load average at end: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
