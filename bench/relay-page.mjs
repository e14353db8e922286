/**
 * The renderer side of bench/relay.mjs, in a worker thread: the page's DataSocket
 * over the message port to the host, playing the same roles as the Node one.
 */
import { workerData } from 'node:worker_threads';
import { createBridgeClient } from '../dist/renderer/client.js';
import { playRole } from './datasocket-roles.mjs';

const { port, move } = workerData;
/** As the preload posts: a copy (`move` only to price that copy; Electron would lose moved bytes, electron/electron#34905). */
const post = move
  ? (message) => port.postMessage(message, message.t === 'send' && message.bytes.byteOffset === 0 && message.bytes.byteLength === message.bytes.buffer.byteLength ? [message.bytes.buffer] : [])
  : (message) => port.postMessage(message);
const client = createBridgeClient(post, process.platform);
port.on('message', (message) => client.receive(message));
playRole(client.DataSocket);
