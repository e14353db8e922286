/**
 * The renderer side of bench/relay.mjs, in a worker thread: the page's DataSocket
 * over the message port to the host, playing the same roles as the Node one.
 */
import { workerData } from 'node:worker_threads';
import { createBridgeClient } from '../dist/renderer/client.js';
import { playRole } from './datasocket-roles.mjs';

const { port } = workerData;
const client = createBridgeClient((message) => port.postMessage(message), process.platform);
port.on('message', (message) => client.receive(message));
playRole(client.DataSocket);
