/**
 * Bench worker: the Electron bridge's data path without Electron. This process
 * stands for the main process and runs the real host (../dist/main/bridge/host.js),
 * which owns the socket and relays frame bytes; a worker thread stands for the
 * renderer and runs the page's DataSocket as pages get it (the preload's main-world bundle), which
 * encodes and decodes. They are joined by a worker_threads MessageChannel, so
 * every message is structured-cloned as between a renderer and main:
 * page → port → host → socket → … → socket → host → port → page.
 */
import { MessageChannel, Worker } from 'node:worker_threads';
import { DEFAULT_LIMITS, Host } from '../dist/main/bridge/host.js';
import { defaultPolicy } from '../dist/main/bridge/policy.js';
import { mainWorldSource } from '../scripts/preload-bundle.mjs';
import { fail, job } from './common.mjs';

const { port1: hostPort, port2: pagePort } = new MessageChannel();
const host = new Host((message) => hostPort.postMessage(message), { policy: defaultPolicy, limits: DEFAULT_LIMITS, context: () => ({}) });
hostPort.on('message', (message) => host.receive(message));

const move = process.env.BENCH_RELAY_MOVE === '1';
// The page runs the shipped main-world code; BENCH_MAIN_WORLD_TARGET rebuilds it for another target (to price the lowering).
const mainWorld = await mainWorldSource(process.env.BENCH_MAIN_WORLD_TARGET ? { target: process.env.BENCH_MAIN_WORLD_TARGET } : {});
const page = new Worker(new URL('./relay-page.mjs', import.meta.url), { workerData: { job, port: pagePort, move, mainWorld }, transferList: [pagePort] });
// The page thread reports ready/result/error as any worker does; pass them on.
page.on('message', (message) => process.send?.(message));
page.on('error', fail);
