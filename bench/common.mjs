/**
 * Shared by every bench worker: the values each figure sends, the checks made on
 * what arrives, the clocks, and the messages a worker sends to bench/run.mjs.
 *
 * A worker is forked with one JSON argument (its job): { lib, role, figure,
 * transport, endpoint, warmup, count } (bench/requests.mjs adds `inFlight`, and
 * `schema` for a receiver that checks values with one). Roles: `receiver` (one-way, counts and
 * times), `sender` (one-way, sends warmup + count values respecting
 * backpressure), `echo` (round trip, sends back each value) and `pinger` (round
 * trip, one value in flight, times each one); for DataSocket's requests also
 * `responder` (answers each request with its value, and echoes as `echo` does) and
 * `requester` (one round trip in flight, a request and a send/echo in turn, timed as
 * `pinger` times; or `inFlight` requests, counted). Listening roles report
 * { type: 'ready', endpoint }; the measuring role reports { type: 'result', … };
 * any failure reports { type: 'error', message } and exits 1.
 */
import { performance } from 'node:perf_hooks';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';

/** The job this worker was forked for (a page thread of bench/relay.mjs gets it as workerData). */
export const job = isMainThread ? JSON.parse(process.argv[2] ?? '{}') : workerData.job;

/** Size of the one-way binary figures' values (bench/measure.mjs checks the total against it): 64 KiB, and 32 MiB for `large`. */
const BYTES_SIZE = job.figure === 'large' ? 32 * 1024 * 1024 : 64 * 1024;

/** The small value of figures 1 and 3 (56 bytes with a default msgpackr Packr); `id` changes. */
function smallValue(id) {
  return { id, name: 'user-name', active: true, score: 12.5, tags: ['a', 'b'] };
}

/**
 * A fresh 64 KiB Uint8Array whose first 4 bytes carry `id` (big-endian) and whose
 * last byte is a marker. Fresh, because some libraries keep a reference to what
 * they send until it is written (raw's writev; zeromq may avoid a copy), so one
 * buffer cannot be reused.
 */
function bytesValue(id) {
  const bytes = new Uint8Array(BYTES_SIZE);
  bytes[0] = id >>> 24;
  bytes[1] = (id >>> 16) & 0xff;
  bytes[2] = (id >>> 8) & 0xff;
  bytes[3] = id & 0xff;
  bytes[BYTES_SIZE - 1] = 0x5a;
  return bytes;
}

function idOfBytes(bytes) {
  return ((bytes[0] << 24) | (bytes[1] << 16) | (bytes[2] << 8) | bytes[3]) >>> 0;
}

/** The value number `id` of this job's figure. */
export function valueFor(id) {
  return job.figure === 'bytes' || job.figure === 'large' ? bytesValue(id) : smallValue(id);
}

function send(message) {
  if (isMainThread) process.send?.(message);
  else parentPort.postMessage(message);
}

/** Tells the orchestrator where to connect. */
export function ready(endpoint) {
  send({ type: 'ready', endpoint });
}

let failed = false;

/** Reports a failure and exits; only the first one counts. */
export function fail(error) {
  if (failed) return;
  failed = true;
  const message = error instanceof Error ? `${error.name}: ${error.message}${error.code ? ` (${error.code})` : ''}` : String(error);
  if (!isMainThread) parentPort.postMessage({ type: 'error', message });
  else if (process.send) process.send({ type: 'error', message }, () => process.exit(1));
  else {
    console.error(message);
    process.exit(1);
  }
}

process.on('uncaughtException', fail);
process.on('unhandledRejection', fail);
// A worker lives until the orchestrator ends it (a sender that is done must not
// exit and take unsent bytes with it), or until the orchestrator goes away.
setInterval(() => {}, 1 << 30);
process.on('disconnect', () => process.exit(0));

/**
 * Receiving side of the one-way figures. Checks every value (order, id, shape or
 * length) so that a broken run cannot report a rate; the clock starts at the last
 * warm-up value and stops at the last value.
 */
export function createReceiver() {
  const total = job.warmup + job.count;
  const bytesFigure = job.figure === 'bytes' || job.figure === 'large';
  let expected = 0;
  let t0 = 0;
  let received = 0;
  return function onValue(value) {
    if (bytesFigure) {
      if (!(value instanceof Uint8Array) || value.byteLength !== BYTES_SIZE || value[BYTES_SIZE - 1] !== 0x5a) {
        return fail(new Error(`value ${expected}: expected a ${BYTES_SIZE}-byte Uint8Array, got ${describe(value)}`));
      }
      const id = idOfBytes(value);
      if (id !== expected) return fail(new Error(`value ${expected}: got id ${id} (lost or reordered)`));
      received += value.byteLength;
    } else if (value === null || typeof value !== 'object' || value.id !== expected) {
      return fail(new Error(`value ${expected}: got ${describe(value)} (lost, reordered or garbled)`));
    }
    expected++;
    if (expected === job.warmup) {
      t0 = performance.now();
      received = 0;
    } else if (expected === total) {
      const ms = performance.now() - t0;
      if (!bytesFigure && (value.name !== 'user-name' || value.tags?.[1] !== 'b' || value.score !== 12.5 || value.active !== true)) {
        return fail(new Error(`the last value arrived garbled: ${JSON.stringify(value)}`));
      }
      send({ type: 'result', count: job.count, lastId: expected - 1, bytes: received, ms });
    } else if (expected > total) {
      fail(new Error(`more values than sent (${expected})`));
    }
  };
}

/**
 * Sending side of the one-way figures: `trySend(value)` returns false when the
 * library says stop; `waitWritable(resume)` must call `resume` once it may go on.
 */
export function pump(trySend, waitWritable) {
  const total = job.warmup + job.count;
  let i = 0;
  const loop = () => {
    while (i < total) {
      if (!trySend(valueFor(i++))) {
        if (i < total) waitWritable(loop);
        return;
      }
    }
  };
  loop();
}

/**
 * Pinging side of the round-trip figures: one value in flight; `sendPing(value)`
 * sends, and the worker calls `onReply(value)` with what came back. With
 * `sendRequest(value)` too (DataSocket's `request` figure), the round trips alternate
 * — odd ones by `sendRequest` — so that both ways are timed on one connection at the
 * same moments, whatever the machine does meanwhile; the result is then the
 * requests' figures, with the pings' as `echo`.
 */
export function createPinger(sendPing, sendRequest) {
  const total = job.warmup + job.count;
  const samples = new Float64Array(job.count);
  let i = 0;
  let t = 0;
  const next = () => {
    t = performance.now();
    if (sendRequest !== undefined && i % 2 === 1) sendRequest(smallValue(i));
    else sendPing(smallValue(i));
  };
  const onReply = (value) => {
    const dt = performance.now() - t;
    if (value === null || typeof value !== 'object' || value.id !== i || value.name !== 'user-name') {
      return fail(new Error(`reply ${i}: got ${describe(value)}`));
    }
    if (i >= job.warmup) samples[i - job.warmup] = dt;
    if (++i === total) {
      const done = { type: 'result', count: job.count, lastId: i - 1 };
      if (sendRequest === undefined) {
        send({ ...done, ...latencies(samples) });
      } else {
        const byRequest = samples.filter((_, k) => (job.warmup + k) % 2 === 1);
        const byPing = samples.filter((_, k) => (job.warmup + k) % 2 === 0);
        send({ ...done, ...latencies(byRequest), echo: latencies(byPing) });
      }
      return;
    }
    next();
  };
  return { start: next, onReply };
}

/** p50, p99 and mean of round-trip times in ms, in µs. */
function latencies(samples) {
  samples.sort();
  const at = (q) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))] * 1000;
  return { p50: at(0.5), p99: at(0.99), mean: (samples.reduce((a, b) => a + b, 0) / samples.length) * 1000 };
}

/**
 * Requesting side of the in-flight figure: keeps `job.inFlight` requests waiting at
 * all times, `request(value)` returning a Promise of the reply; checks that each reply
 * is the one of its request. The clock starts at the last warm-up reply and stops at
 * the last reply.
 */
export function createFlight(request) {
  const total = job.warmup + job.count;
  let sent = 0;
  let replied = 0;
  let t0 = 0;
  const one = () => {
    const id = sent++;
    request(smallValue(id)).then((value) => {
      if (value === null || typeof value !== 'object' || value.id !== id || value.name !== 'user-name') {
        return fail(new Error(`reply to request ${id}: got ${describe(value)}`));
      }
      replied++;
      if (replied === job.warmup) t0 = performance.now();
      if (replied === total) {
        send({ type: 'result', count: job.count, lastId: total - 1, ms: performance.now() - t0 });
        return;
      }
      if (sent < total) one();
    }, fail);
  };
  return {
    start() {
      for (let i = 0; i < job.inFlight && sent < total; i++) one();
    },
  };
}

/** A short description of an unexpected value, for error messages. */
function describe(value) {
  if (value instanceof Uint8Array) return `${value.constructor.name}(${value.byteLength})`;
  try {
    const text = JSON.stringify(value);
    return text === undefined ? String(value) : text.length > 120 ? `${text.slice(0, 120)}…` : text;
  } catch {
    return String(value);
  }
}
