/**
 * Bench worker: node-ipc 14, as its README shows it — `serve`/`serveNet` and
 * `connectTo`/`connectToNet` on an `IPCModule`, events sent with `emit(type,
 * data)` in the default `fast` profile (JSON envelope, '\f' delimiter).
 * Logging is off (`silent`) and reconnects are off, nothing else is changed.
 * Backpressure: `emit` returns what `socket.write` returned; on false the
 * sender waits for the socket's 'drain'.
 * The 64 KiB figure sends a Buffer (a view of the Uint8Array, no copy) and the
 * receiver turns the JSON it becomes ({ type: 'Buffer', data: [...] }) back
 * into bytes with `Buffer.from(data)`: JSON is node-ipc's only framed encoding.
 * node-ipc cannot listen on port 0 (0 means its default, 8000), so for TCP this
 * worker finds a free port first.
 */
import net from 'node:net';
import path from 'node:path';
import { IPCModule } from 'node-ipc';
import { createPinger, createReceiver, fail, job, pump, ready } from './common.mjs';

const { endpoint } = job;
const binary = job.figure === 'bytes';
const ID = 'bench';

const ipc = new IPCModule();
ipc.config.silent = true;
ipc.config.maxRetries = 0;
ipc.config.stopRetrying = true;
if (endpoint.path) ipc.config.socketRoot = `${path.dirname(endpoint.path)}/`;

const toWire = binary ? (bytes) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) : (value) => value;
const fromWire = binary ? (data) => Buffer.from(data.data) : (data) => data;

function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.on('error', reject);
    probe.listen(0, endpoint.host, () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

async function serve(setup) {
  const port = endpoint.path ? 0 : await freePort();
  const started = () => {
    ipc.server.on('error', fail);
    setup(ipc.server);
    ready(endpoint.path ? { path: endpoint.path } : { host: endpoint.host, port });
  };
  if (endpoint.path) ipc.serve(endpoint.path, started);
  else ipc.serveNet(endpoint.host, port, started);
  ipc.server.start();
}

function connect(onConnect) {
  const registered = () => {
    const client = ipc.of[ID];
    client.on('error', fail);
    client.on('connect', () => onConnect(client));
  };
  if (endpoint.path) ipc.connectTo(ID, endpoint.path, registered);
  else ipc.connectToNet(ID, endpoint.host, endpoint.port, registered);
}

switch (job.role) {
  case 'receiver': {
    const onValue = createReceiver();
    await serve((server) => server.on('value', (data) => onValue(fromWire(data))));
    break;
  }
  case 'sender':
    connect((client) =>
      pump(
        (value) => client.emit('value', toWire(value)),
        (resume) => client.socket.once('drain', resume),
      ),
    );
    break;
  case 'echo':
    await serve((server) => server.on('ping', (data, socket) => server.emit(socket, 'pong', data)));
    break;
  case 'pinger':
    connect((client) => {
      const pinger = createPinger((value) => client.emit('ping', value));
      client.on('pong', pinger.onReply);
      pinger.start();
    });
    break;
  default:
    fail(new Error(`unknown role ${job.role}`));
}
