/**
 * Bench worker: the floor under the Electron bridge's relay path — the message-port
 * hops alone, with no socket, no codec and no host logic. The main thread stands for
 * main, a worker thread for the renderer, joined by a worker_threads MessageChannel
 * (structured clone, as between a renderer and main), and they exchange messages shaped
 * like the bridge's, with the copies Electron forces: the page's bytes are posted
 * without a transfer list (electron/electron#34905), so every hop copies them.
 *
 * Figures: `bytes` — the page posts 64 KiB bodies to main, at most 1 MiB unacknowledged
 * (main acknowledges each, as the host reports `sent`); `rtt` — the page posts a small
 * body, main posts it back: one round trip is TWO hops, and a relayed round trip
 * between two pages crosses FOUR (page → main, main → page on each side).
 * The listening role runs the one-way measurement itself and the connecting role
 * the round trip; the other role of each pair only stands by.
 */
import { performance } from 'node:perf_hooks';
import { isMainThread, MessageChannel, parentPort, Worker, workerData } from 'node:worker_threads';
import { fail, job, ready } from './common.mjs';

const BODY_BYTES = 64 * 1024 + 5;
const SMALL_BODY_BYTES = 33;
const WINDOW_BYTES = 1024 * 1024;

if (isMainThread) {
  const measuring = (job.figure === 'rtt' ? 'pinger' : 'receiver') === job.role;
  if (job.role === 'receiver' || job.role === 'echo') ready(job.endpoint.path ? { path: job.endpoint.path } : { host: '127.0.0.1', port: 1 });
  if (measuring) runMain();
} else {
  runPage();
}

/** Main's side: acknowledge (one-way) or post back (round trip); pass the page's result on. */
function runMain() {
  const { port1: mainPort, port2: pagePort } = new MessageChannel();
  const page = new Worker(new URL(import.meta.url), { workerData: { job, port: pagePort }, transferList: [pagePort] });
  page.on('error', fail);
  page.on('message', (message) => process.send?.(message));
  let received = 0;
  let t0 = 0;
  const total = job.warmup + job.count;
  mainPort.on('message', (message) => {
    if (job.figure === 'rtt') {
      mainPort.postMessage({ t: 'data', id: message.id, bytes: message.bytes });
      return;
    }
    if (!(message.bytes instanceof Uint8Array) || message.bytes.byteLength !== BODY_BYTES) return fail(new Error('a body arrived garbled'));
    received++;
    mainPort.postMessage({ t: 'sent', id: message.id, bytes: message.bytes.byteLength, count: 1 });
    if (received === job.warmup) t0 = performance.now();
    else if (received === total) {
      const ms = performance.now() - t0;
      process.send?.({ type: 'result', count: job.count, lastId: total - 1, bytes: job.count * 64 * 1024, ms });
    }
  });
}

/** The page's side: post bodies within the window (one-way), or ping one at a time (round trip). */
function runPage() {
  const { port } = workerData;
  const total = job.warmup + job.count;
  if (job.figure === 'rtt') {
    const samples = new Float64Array(job.count);
    let i = 0;
    let t = 0;
    const ping = () => {
      t = performance.now();
      port.postMessage({ t: 'send', id: 1, bytes: new Uint8Array(SMALL_BODY_BYTES).fill(i & 0xff), count: 1 });
    };
    port.on('message', (message) => {
      const dt = performance.now() - t;
      if (message.bytes[0] !== (i & 0xff)) return fail(new Error(`reply ${i} garbled`));
      if (i >= job.warmup) samples[i - job.warmup] = dt;
      if (++i === total) {
        samples.sort();
        const at = (q) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))] * 1000;
        parentPort.postMessage({ type: 'result', count: job.count, lastId: i - 1, p50: at(0.5), p99: at(0.99), mean: (samples.reduce((a, b) => a + b, 0) / samples.length) * 1000 });
        return;
      }
      ping();
    });
    ping();
    return;
  }
  let sent = 0;
  let inflight = 0;
  const body = new Uint8Array(BODY_BYTES);
  const pump = () => {
    while (sent < total && inflight < WINDOW_BYTES) {
      body[0] = sent & 0xff;
      // Posting copies the body (structured clone), as the preload must.
      port.postMessage({ t: 'send', id: 1, bytes: body, count: 1 });
      inflight += BODY_BYTES;
      sent++;
    }
  };
  port.on('message', (message) => {
    inflight -= message.bytes;
    pump();
  });
  pump();
}
