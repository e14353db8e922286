/**
 * The renderer side of bench/relay.mjs, in a worker thread: the page's DataSocket
 * exactly as pages get it — the main-world bundle the preload ships (built by
 * scripts/preload-bundle.mjs, handed over by relay.mjs), installed on this thread's
 * global — over the message port to the host, playing the same roles as the Node one.
 */
import { workerData } from 'node:worker_threads';
import { playRole } from './datasocket-roles.mjs';

const { port, move, mainWorld } = workerData;
/** As the preload posts: a copy (`move` only to price that copy; Electron would lose moved bytes, electron/electron#34905). */
const post = move
  ? (message) => port.postMessage(message, message.t === 'send' && message.bytes.byteOffset === 0 && message.bytes.byteLength === message.bytes.buffer.byteLength ? [message.bytes.buffer] : [])
  : (message) => port.postMessage(message);
const bridge = { post, listen: (receive) => port.on('message', receive) };
new Function('key', 'bridge', 'platform', `${mainWorld}\n__datasocketMainWorld.install(key, bridge, platform);`)('Net', bridge, process.platform);
playRole(globalThis.Net.DataSocket);
