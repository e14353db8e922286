/**
 * Bench worker: zeromq 6 (libzmq), as its README shows it, over ipc:// and
 * tcp://. One-way is PUSH → PULL (the PULL side binds, the PUSH side connects
 * and awaits each `send()`, which is how zeromq applies backpressure: the
 * promise waits while the send high-water mark is reached); the receiver reads
 * with `for await (const [msg] of socket)`. Round trip is REQ → REP.
 * zeromq moves bytes, not values: small values are encoded with a default
 * msgpackr `new Packr()` / `new Unpackr()` (the echo side decodes and encodes
 * again, as a service would); the 64 KiB Uint8Array is sent as the message.
 */
import * as zmq from 'zeromq';
import { Packr, Unpackr } from 'msgpackr';
import { createPinger, createReceiver, fail, job, ready, valueFor } from './common.mjs';

const { endpoint } = job;
const binary = job.figure === 'bytes';
const packr = new Packr();
const unpackr = new Unpackr();
const encode = binary ? (bytes) => bytes : (value) => packr.pack(value);
const decode = binary ? (message) => message : (message) => unpackr.unpack(message);

const address = endpoint.address ?? (endpoint.path ? `ipc://${endpoint.path}` : `tcp://${endpoint.host}:${endpoint.port || '*'}`);

async function bind(socket) {
  await socket.bind(address);
  ready({ address: socket.lastEndpoint });
}

switch (job.role) {
  case 'receiver': {
    const onValue = createReceiver();
    const pull = new zmq.Pull();
    await bind(pull);
    for await (const [message] of pull) onValue(decode(message));
    break;
  }
  case 'sender': {
    const push = new zmq.Push();
    push.connect(address);
    const total = job.warmup + job.count;
    for (let i = 0; i < total; i++) await push.send(encode(valueFor(i)));
    break;
  }
  case 'echo': {
    const reply = new zmq.Reply();
    await bind(reply);
    for await (const [message] of reply) await reply.send(packr.pack(unpackr.unpack(message)));
    break;
  }
  case 'pinger': {
    const request = new zmq.Request();
    request.connect(address);
    const pinger = createPinger(async (value) => {
      await request.send(packr.pack(value));
      const [message] = await request.receive();
      pinger.onReply(unpackr.unpack(message));
    });
    pinger.start();
    break;
  }
  default:
    fail(new Error(`unknown role ${job.role}`));
}
