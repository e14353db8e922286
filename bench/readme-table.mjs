/**
 * Prints the README's performance table (Markdown) from bench/results.json, so the
 * table is the measured one, not retyped: `node bench/readme-table.mjs`. Then the
 * failover figure (bench/failover.mjs), when the results have it, as its own small table.
 */
import fs from 'node:fs';
import { LABELS, METRICS, formatValue } from './report.mjs';

const report = JSON.parse(fs.readFileSync(new URL('./results.json', import.meta.url), 'utf8'));
const { results, transports, libs, figures } = report;
const NAMES = { raw: 'raw net', datasocket: '**DataSocket**', relay: 'DS bridge', 'port-floor': 'port floor', 'node-ipc': 'node-ipc 14', zeromq: 'zeromq 6' };
const TITLES = { small: 'small values (~60 B objects)', bytes: '64 KiB `Uint8Array`', large: '32 MiB `Uint8Array`', rtt: null };
const columns = figures.flatMap((figure) => METRICS[figure].map((metric) => ({ figure, ...metric })));
const title = (c) => TITLES[c.figure] ?? c.title;
console.log(`| library | transport | ${columns.map(title).join(' | ')} |`);
console.log(`|---|---|${columns.map(() => '---').join('|')}|`);
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
