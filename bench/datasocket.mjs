/**
 * Bench worker: this library, from the built package (../dist/index.js), with
 * default options — the way its README shows it. One-way: the receiver listens
 * and counts `data` events; the sender sends until `send()` returns false, then
 * waits for `drain`. Round trip: the echo side sends back each value it gets.
 * Small values and the 64 KiB Uint8Array both go through `send()` as they are.
 */
import { DataSocket } from '../dist/index.js';
import { createPinger, createReceiver, fail, job, pump, ready } from './common.mjs';

const { endpoint } = job;

function listen(onConnection) {
  const accept = (connection) => {
    connection.on('error', fail);
    onConnection(connection);
    return true;
  };
  const listener = endpoint.path ? DataSocket.listen(accept, endpoint.path) : DataSocket.listen(accept, endpoint.host, endpoint.port);
  listener.on('error', fail);
  listener.on('listening', () => ready(endpoint.path ? { path: endpoint.path } : { host: endpoint.host, port: listener.address.port }));
}

function connect(onConnect) {
  const socket = endpoint.path ? DataSocket.connect(endpoint.path) : DataSocket.connect(endpoint.host, endpoint.port);
  socket.on('error', fail);
  socket.on('connect', () => onConnect(socket));
  return socket;
}

switch (job.role) {
  case 'receiver': {
    const onValue = createReceiver();
    listen((connection) => connection.on('data', onValue));
    break;
  }
  case 'sender':
    connect((socket) =>
      pump(
        (value) => socket.send(value),
        (resume) => socket.once('drain', resume),
      ),
    );
    break;
  case 'echo':
    listen((connection) => connection.on('data', (value) => connection.send(value)));
    break;
  case 'pinger': {
    const socket = connect(() => pinger.start());
    const pinger = createPinger((value) => socket.send(value));
    socket.on('data', pinger.onReply);
    break;
  }
  default:
    fail(new Error(`unknown role ${job.role}`));
}
