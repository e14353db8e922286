/**
 * One measurement for bench/run.mjs: forks the listening worker
 * (bench/<lib>.mjs as `receiver`, `echo` or `responder`), then, once it reports
 * where it listens, the connecting one (`sender`, `pinger` or `requester`); waits
 * for the measuring side's result, checks that its count and last id are the ones
 * sent, and ends both processes before resolving, so that measurements never overlap.
 * A worker's error, an early exit or a timeout resolves as { error } with what
 * the worker said, never as a number.
 */
import { fork, spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

/**
 * The CPU round-trip pairs are pinned to (bench/run.mjs says why): the last one, or
 * null with BENCH_PIN=0 or without taskset.
 */
export function roundTripCpu() {
  if (process.env.BENCH_PIN === '0') return null;
  return spawnSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' }).status === 0 ? os.cpus().length - 1 : null;
}

/** Bytes in one value of the `bytes` and `large` figures (bench/common.mjs sends the same). */
const BYTES_SIZE = { bytes: 64 * 1024, large: 32 * 1024 * 1024 };

/**
 * Each figure's roles: the listening one, the connecting one, which of them measures, and
 * whether the pair is a round trip (pinned to one CPU, see bench/run.mjs). `request` and
 * `inflight` are DataSocket's requests (bench/requests.mjs): requests and send/echo round
 * trips in turn, one in flight, timed like `rtt`; and many requests in flight, counted
 * like a one-way rate.
 */
const ROLES = {
  small: { listen: 'receiver', connect: 'sender', measuring: 'receiver', roundTrip: false },
  bytes: { listen: 'receiver', connect: 'sender', measuring: 'receiver', roundTrip: false },
  large: { listen: 'receiver', connect: 'sender', measuring: 'receiver', roundTrip: false },
  rtt: { listen: 'echo', connect: 'pinger', measuring: 'pinger', roundTrip: true },
  request: { listen: 'responder', connect: 'requester', measuring: 'requester', roundTrip: true },
  inflight: { listen: 'responder', connect: 'requester', measuring: 'requester', roundTrip: false },
};

/**
 * Runs `lib` for `figure` over `transport` and resolves { result } or { error }.
 * `pinCpu`: a CPU number to pin round-trip pairs to (with taskset), or null.
 * `extra`: more fields for both workers' job (e.g. { schema: true }, { inFlight: 1000 }).
 */
export function measure({ lib, figure, transport, warmup, count, socketPath, pinCpu, timeoutMs, extra = {} }) {
  const { listen: listenRole, connect: connectRole, measuring: measuringRole, roundTrip } = ROLES[figure];
  const endpoint = transport === 'unix' ? { path: socketPath } : { host: '127.0.0.1', port: 0 };
  const script = path.join(here, `${lib}.mjs`);
  const pinned = roundTrip && pinCpu !== null;

  return new Promise((resolve) => {
    const children = [];
    let settled = false;

    const finish = (outcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const running = children.filter((child) => child.exitCode === null && child.signalCode === null);
      const exits = running.map((child) => new Promise((done) => child.once('exit', done)));
      for (const child of running) child.kill('SIGKILL');
      Promise.all(exits).then(() => resolve(outcome));
    };

    const output = () =>
      children
        .map((child) => oneLine(child.tail))
        .filter(Boolean)
        .map((line) => ` | ${line}`)
        .join('');

    const start = (role, at) => {
      const job = JSON.stringify({ ...extra, lib, role, figure, transport, endpoint: at, warmup, count });
      const child = fork(script, [job], {
        ...(pinned ? { execPath: 'taskset', execArgv: ['-c', String(pinCpu), process.execPath] } : { execArgv: [] }),
        stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      });
      child.tail = '';
      const keep = (chunk) => {
        child.tail = (child.tail + chunk).slice(-2000);
      };
      child.stdout.setEncoding('utf8').on('data', keep);
      child.stderr.setEncoding('utf8').on('data', keep);
      child.on('error', (error) => finish({ error: `${role}: ${error.message}` }));
      child.on('exit', (code, signal) => {
        if (!settled) finish({ error: `${role} exited (${signal ?? `code ${code}`}) before a result${output()}` });
      });
      child.on('message', (message) => {
        if (message.type === 'error') finish({ error: `${role}: ${message.message}` });
        else if (message.type === 'ready' && role === listenRole) start(connectRole, message.endpoint);
        else if (message.type === 'result' && role === measuringRole) finish(check(message, warmup, count, figure));
      });
      children.push(child);
    };

    const timer = setTimeout(() => finish({ error: `no result within ${timeoutMs / 1000} s${output()}` }), timeoutMs);
    start(listenRole, endpoint);
  });
}

/** The most telling line of a worker's output: its first error line, else its end. */
function oneLine(text) {
  const error = text.split('\n').find((line) => /\b\w*Error\b|error:/i.test(line));
  return (error ?? text).replace(/\s+/g, ' ').trim().slice(-300);
}

/** Turns a worker's report into figures, or an error if it does not add up. */
function check(message, warmup, count, figure) {
  const expectedLast = warmup + count - 1;
  if (message.count !== count || message.lastId !== expectedLast) {
    return { error: `wrong count: ${message.count} values up to id ${message.lastId}, expected ${count} up to ${expectedLast}` };
  }
  if (figure === 'rtt') {
    if (!(message.p50 > 0) || !(message.p99 >= message.p50)) return { error: `implausible latencies ${JSON.stringify(message)}` };
    return { result: { p50: message.p50, p99: message.p99, mean: message.mean, count } };
  }
  if (figure === 'request') {
    const { echo } = message;
    if (!(message.p50 > 0) || !(message.p99 >= message.p50) || !(echo?.p50 > 0) || !(echo.p99 >= echo.p50)) return { error: `implausible latencies ${JSON.stringify(message)}` };
    return { result: { p50: message.p50, p99: message.p99, mean: message.mean, echoP50: echo.p50, echoP99: echo.p99, echoMean: echo.mean, count } };
  }
  if (!(message.ms > 0)) return { error: `implausible time ${message.ms} ms` };
  if (figure === 'bytes' || figure === 'large') {
    if (message.bytes !== count * BYTES_SIZE[figure]) return { error: `received ${message.bytes} bytes, expected ${count * BYTES_SIZE[figure]}` };
    return { result: { mbps: message.bytes / message.ms / 1000, ms: message.ms, count } };
  }
  return { result: { rate: count / (message.ms / 1000), ms: message.ms, count } };
}
