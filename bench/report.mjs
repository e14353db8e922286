/**
 * What bench/run.mjs prints and saves: medians of the runs, ratios to the raw
 * baseline of the same transport, the table, and the issue's targets as
 * PASS/FAIL checks. `results[figure][transport][lib]` holds `runs` (each
 * { result } or { error }); `summarize` adds `median`, `ratio` and `failures`.
 */
import os from 'node:os';

/** How each library is named in the output. */
export const LABELS = {
  raw: 'raw net',
  datasocket: 'DataSocket',
  relay: 'DS bridge',
  'relay-moved': 'DS bridge, bytes moved',
  'port-floor': 'port floor',
  'node-ipc': 'node-ipc',
  zeromq: 'zeromq',
};

/**
 * Whether a library has the figure on that transport. The port floor has no socket: it
 * measures the message-port hops alone, once (under the unix rows), for 64 KiB and round trips.
 */
export function applies(lib, figure, transport) {
  // 32 MiB values: DataSocket against the raw baseline only (the others would take minutes each).
  if (figure === 'large') return lib === 'raw' || lib === 'datasocket';
  return lib !== 'port-floor' || (figure !== 'small' && transport === 'unix');
}

/** The numbers each figure yields, and which way is better. */
export const METRICS = {
  small: [{ key: 'rate', title: 'small values', higherBetter: true }],
  bytes: [{ key: 'mbps', title: '64 KiB one way', higherBetter: true }],
  large: [{ key: 'mbps', title: '32 MiB one way', higherBetter: true }],
  rtt: [
    { key: 'p50', title: 'round trip p50', higherBetter: false },
    { key: 'p99', title: 'round trip p99', higherBetter: false },
  ],
};

/** A number with its unit, as the table shows it. */
export function formatValue(key, value) {
  switch (key) {
    case 'rate':
      return value >= 1e6 ? `${(value / 1e6).toFixed(2)} M/s` : `${(value / 1e3).toFixed(0)} k/s`;
    case 'mbps':
      return `${value.toFixed(0)} MB/s`;
    default:
      return `${value.toFixed(1)} µs`;
  }
}

/** This machine, for the record. */
export function machine() {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model?.trim() ?? 'unknown',
    cores: cpus.length,
    availableParallelism: os.availableParallelism?.() ?? cpus.length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
  };
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Adds `median`, `ratio` (to raw, same transport) and `failures` to every entry. */
export function summarize(results, { figures, transports, libs }) {
  for (const figure of figures) {
    for (const transport of transports) {
      const cell = results[figure][transport];
      for (const lib of libs) {
        const entry = cell[lib];
        entry.applies = applies(lib, figure, transport);
        const ok = entry.runs.filter((run) => run.result).map((run) => run.result);
        entry.failures = entry.runs.filter((run) => run.error).map((run) => run.error);
        entry.median = ok.length === 0 ? null : Object.fromEntries(METRICS[figure].map(({ key }) => [key, median(ok.map((r) => r[key]))]));
      }
      const base = cell.raw?.median;
      for (const lib of libs) {
        const entry = cell[lib];
        entry.ratio = base && entry.median ? Object.fromEntries(METRICS[figure].map(({ key }) => [key, entry.median[key] / base[key]])) : null;
      }
    }
  }
}

/** Prints one row per library × transport, one column per number, then every failure with its error. */
export function printTable(results, { figures, transports, libs }) {
  const columns = figures.flatMap((figure) => METRICS[figure].map((metric) => ({ figure, ...metric })));
  const header = ['library', 'transport', ...columns.map((c) => c.title)];
  const rows = [];
  for (const transport of transports) {
    for (const lib of libs) {
      const row = [LABELS[lib], transport];
      for (const { figure, key } of columns) {
        const entry = results[figure][transport][lib];
        if (!entry.applies) {
          row.push('—');
          continue;
        }
        if (!entry.median) {
          row.push('FAILED');
          continue;
        }
        const ratio = entry.ratio ? ` (${entry.ratio[key].toFixed(2)}×)` : '';
        const flaky = entry.failures.length > 0 ? ` !${entry.failures.length}/${entry.runs.length} runs failed` : '';
        row.push(`${formatValue(key, entry.median[key])}${ratio}${flaky}`);
      }
      rows.push(row);
    }
  }
  const { line, rule } = layColumns(header, rows);
  console.log(line(header));
  console.log(rule);
  rows.forEach((row, i) => {
    if (i > 0 && row[1] !== rows[i - 1][1]) console.log('');
    console.log(line(row));
  });
  console.log('Medians of the runs; (×) = ratio to raw net on the same transport (round trip: lower is better).');
  const failures = [];
  for (const figure of figures) {
    for (const transport of transports) {
      for (const lib of libs) {
        for (const error of results[figure][transport][lib].failures) failures.push(`${LABELS[lib]} ${transport} ${figure}: ${error}`);
      }
    }
  }
  if (failures.length > 0) {
    console.log('\nFailures:');
    for (const failure of failures) console.log(`  ${failure}`);
  }
}

/** The issue's targets for DataSocket, as { name, pass, detail }; only those the run has data for. */
export function targets(results, { figures, transports, libs }) {
  const checks = [];
  const add = (name, pass, detail) => checks.push({ name, pass: Boolean(pass), detail });
  const ours = (figure, transport) => results[figure]?.[transport]?.datasocket;
  const measured = (figure, transport) => figures.includes(figure) && transports.includes(transport) && libs.includes('datasocket');
  const againstRaw = (figure, transport) => measured(figure, transport) && libs.includes('raw');
  const ratioDetail = (ratio) => (ratio === undefined ? 'no data' : `${ratio.toFixed(2)}x raw`);

  for (const transport of transports) {
    if (!againstRaw('small', transport)) continue;
    const ratio = ours('small', transport).ratio?.rate;
    add(`small-value rate >= 0.9x raw (${transport})`, ratio >= 0.9, ratioDetail(ratio));
  }
  if (measured('small', 'unix')) {
    const rate = ours('small', 'unix').median?.rate;
    add('small-value rate >= 1.5 M msgs/s (unix)', rate >= 1.5e6, rate === undefined ? 'no data' : formatValue('rate', rate));
  }
  for (const transport of transports) {
    if (!againstRaw('bytes', transport)) continue;
    const ratio = ours('bytes', transport).ratio?.mbps;
    add(`64 KiB throughput >= 0.85x raw (${transport})`, ratio >= 0.85, ratioDetail(ratio));
  }
  for (const transport of transports) {
    if (!againstRaw('large', transport)) continue;
    const ratio = ours('large', transport).ratio?.mbps;
    add(`32 MiB throughput >= 0.8x raw (${transport})`, ratio >= 0.8, ratioDetail(ratio));
  }
  for (const transport of transports) {
    if (!againstRaw('rtt', transport)) continue;
    const ratio = ours('rtt', transport).ratio?.p50;
    add(`round-trip p50 <= 1.15x raw (${transport})`, ratio <= 1.15, ratioDetail(ratio));
  }
  // The Electron bridge's relay path (page → port → host → socket) against the Node DataSocket directly.
  const bridged = (figure, transport) => figures.includes(figure) && transports.includes(transport) && libs.includes('relay') && libs.includes('datasocket');
  const versusDirect = (figure, transport, key) => {
    const relay = results[figure][transport].relay.median?.[key];
    const direct = ours(figure, transport).median?.[key];
    return relay === undefined || direct === undefined ? undefined : relay / direct;
  };
  const directDetail = (ratio) => (ratio === undefined ? 'no data' : `${ratio.toFixed(2)}x direct DataSocket`);
  for (const transport of transports) {
    if (bridged('small', transport)) {
      const ratio = versusDirect('small', transport, 'rate');
      add(`bridge relay small-value rate >= 0.7x direct (${transport})`, ratio >= 0.7, directDetail(ratio));
    }
  }
  // Against the floor: the hops a relayed value cannot avoid (bench/port-floor.mjs), measured in the same run.
  const floor = (figure, key) => (libs.includes('port-floor') && figures.includes(figure) && transports.includes('unix') ? results[figure].unix['port-floor'].median?.[key] : undefined);
  for (const transport of transports) {
    if (bridged('rtt', transport) && floor('rtt', 'p50') !== undefined) {
      // A relayed round trip crosses four hops; a floor round trip is two.
      const relay = results.rtt[transport].relay.median?.p50;
      const direct = ours('rtt', transport).median?.p50;
      const hops = 2 * floor('rtt', 'p50');
      const bound = direct === undefined ? undefined : direct + 1.2 * hops;
      add(
        `bridge relay round-trip p50 <= direct + 1.2x its four port hops (${transport})`,
        relay !== undefined && bound !== undefined && relay <= bound,
        relay === undefined || bound === undefined ? 'no data' : `${formatValue('p50', relay)} vs ${formatValue('p50', direct)} + 1.2 × ${formatValue('p50', hops)} = ${formatValue('p50', bound)}`,
      );
    }
    if (bridged('bytes', transport) && floor('bytes', 'mbps') !== undefined) {
      const relay = results.bytes[transport].relay.median?.mbps;
      const direct = ours('bytes', transport).median?.mbps;
      const limit = direct === undefined ? undefined : 0.8 * Math.min(direct, floor('bytes', 'mbps'));
      add(
        `bridge relay 64 KiB >= 0.8x min(direct, port floor) (${transport})`,
        relay !== undefined && limit !== undefined && relay >= limit,
        relay === undefined || limit === undefined ? 'no data' : `${formatValue('mbps', relay)} vs 0.8 × min(${formatValue('mbps', direct)}, ${formatValue('mbps', floor('bytes', 'mbps'))}) = ${formatValue('mbps', limit)}`,
      );
    }
  }
  for (const rival of ['node-ipc', 'zeromq']) {
    if (!libs.includes(rival) || !libs.includes('datasocket')) continue;
    for (const transport of transports) {
      const behind = [];
      const rivalFailed = [];
      let compared = 0;
      for (const figure of figures) {
        if (!applies(rival, figure, transport)) continue;
        for (const { key, title, higherBetter } of METRICS[figure]) {
          const mine = ours(figure, transport).median?.[key];
          const theirs = results[figure][transport][rival].median?.[key];
          if (mine === undefined) {
            behind.push(`${title}: DataSocket has no data`);
            continue;
          }
          compared++;
          if (theirs === undefined) {
            // A rival that failed the figure is behind on it.
            rivalFailed.push(title);
            continue;
          }
          if (higherBetter ? !(mine > theirs) : !(mine < theirs)) behind.push(`${title}: ${formatValue(key, mine)} vs ${formatValue(key, theirs)}`);
        }
      }
      const detail =
        behind.length > 0
          ? `behind on ${behind.join('; ')}`
          : `${compared} of ${compared} numbers${rivalFailed.length > 0 ? ` (${rival} failed ${rivalFailed.join(', ')})` : ''}`;
      add(`ahead of ${rival} on every figure (${transport})`, behind.length === 0 && compared > 0, detail);
    }
  }
  return checks;
}

/** Lays out rows under `header` in columns as wide as their widest cell: `line(cells)` for a row, `rule` to go under the header. */
export function layColumns(header, rows) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells) =>
    cells
      .map((c, i) => c.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  return { line, rule: widths.map((w) => '-'.repeat(w)).join('  ') };
}
