/**
 * Prints the README's performance table (Markdown) from bench/results.json, so the
 * table is the measured one, not retyped: `node bench/readme-table.mjs [results.json]`
 * (another file: a quick run's, say). Then the failover figure (bench/failover.mjs) and
 * the request figures (bench/requests.mjs), when the results have them, as their own
 * small tables.
 */
import fs from 'node:fs';
import { LABELS, METRICS, formatValue } from './report.mjs';
import { requestRatios } from './requests.mjs';

const file = process.argv[2] ?? new URL('./results.json', import.meta.url);
const report = JSON.parse(fs.readFileSync(file, 'utf8'));
const { results, transports, libs, figures } = report;
const NAMES = { raw: 'raw net', datasocket: '**DataSocket**', relay: 'DS bridge', 'port-floor': 'port floor', 'node-ipc': 'node-ipc 14', zeromq: 'zeromq 6' };
const TITLES = { small: 'small values (~60 B objects)', bytes: '64 KiB `Uint8Array`', large: '32 MiB `Uint8Array`', rtt: null };
const columns = figures.flatMap((figure) => METRICS[figure].map((metric) => ({ figure, ...metric })));
const title = (c) => TITLES[c.figure] ?? c.title;
if (columns.length > 0) {
  console.log(`| library | transport | ${columns.map(title).join(' | ')} |`);
  console.log(`|---|---|${columns.map(() => '---').join('|')}|`);
}
for (const transport of transports) {
  for (const lib of libs) {
    const cells = columns.map(({ figure, key }) => {
      const entry = results[figure][transport][lib];
      if (entry.applies === false) return '—';
      if (!entry.median) return 'failed';
      const ratio = entry.ratio ? ` (${entry.ratio[key].toFixed(2)}×)` : '';
      const text = `${formatValue(key, entry.median[key])}${ratio}`;
      return lib === 'datasocket' ? `**${text}**` : text;
    });
    if (cells.every((c) => c === '—')) continue;
    console.log(`| ${NAMES[lib] ?? LABELS[lib]} | ${transport} | ${cells.join(' | ')} |`);
  }
}
if (report.failover) {
  const { transport, members, failovers, median, max, error } = report.failover;
  const cells = error === undefined ? [`**${median.toFixed(0)} ms**`, `${max.toFixed(0)} ms`] : ['failed', 'failed'];
  console.log('');
  console.log('| failover (`connectOrListen`): leader SIGKILLed → every follower re-linked | members | failovers | median | max |');
  console.log('|---|---|---|---|---|');
  console.log(`| ${transport} | ${members} | ${failovers} | ${cells.join(' | ')} |`);
}
if (report.requests) {
  // DataSocket against itself: (×) is request over send/echo p50, and with the schema (the trace) over without — the median of each run's own ratio.
  const { inFlight, results: byTransport } = report.requests;
  const latency = (p50, p99) => `${formatValue('p50', p50)} / ${formatValue('p99', p99)}`;
  const rate = (entry) => (entry.median ? formatValue('rate', entry.median.rate) : 'failed');
  console.log('');
  console.log(`| requests (DataSocket) | send/echo round trip p50 / p99 | request/reply round trip p50 / p99 | requests/s, ${inFlight} in flight | small values | small values, zod \`schema\` | small values, \`DATASOCKET_TRACE\` on |`);
  console.log('|---|---|---|---|---|---|---|');
  for (const [transport, cell] of Object.entries(byTransport)) {
    const { rtt, schemaCost, traceCost } = requestRatios(cell);
    const m = cell.roundTrip.median;
    const cells = [
      m ? latency(m.echoP50, m.echoP99) : 'failed',
      m ? `**${latency(m.p50, m.p99)} (${rtt.toFixed(2)}×)**` : 'failed',
      `**${rate(cell.inflight)}**${cell.inflightTraced?.median ? ` (traced: ${rate(cell.inflightTraced)})` : ''}`,
      rate(cell.plain),
      `**${rate(cell.schema)}${schemaCost === undefined ? '' : ` (${(1 - schemaCost).toFixed(2)}×)`}**`,
      // Runs saved before tracing existed have no traced rate.
      cell.traced ? `**${rate(cell.traced)}${traceCost === undefined ? '' : ` (${(1 - traceCost).toFixed(2)}×)`}**` : 'not measured',
    ];
    console.log(`| ${transport} | ${cells.join(' | ')} |`);
  }
}
