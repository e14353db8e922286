/**
 * Bench worker: the baseline — plain `net` written the simplest good way.
 *
 * Framing: a 4-byte big-endian length, then the body. Small values are encoded
 * with a default msgpackr `new Packr()` / `new Unpackr()`. The 64 KiB figure
 * sends no msgpack: the length header followed by the raw bytes, as-is.
 * Writes are batched per event-loop turn: frames collect in a list and go out
 * in one write from setImmediate (small frames concatenated into one Buffer;
 * 64 KiB frames corked and written header + bytes without a copy, i.e. one
 * writev). Backpressure is the socket's own: `send()` says false once the
 * socket's queue plus the batch reach its writableHighWaterMark (Node's 16 KiB
 * default), as `socket.write()` would; the producer then waits for the batch to
 * go out and, if the socket is backed up, for its 'drain'. (A 1 MiB mark, like
 * DataSocket's, made this baseline slower: the producer then filled 1 MiB, the
 * socket waited, and the two hardly overlapped.)
 * Receiving: chunks of an incomplete frame are kept in a list and concatenated
 * once the frame is whole; complete frames are read in place.
 */
import net from 'node:net';
import { Packr, Unpackr } from 'msgpackr';
import { createPinger, createReceiver, fail, job, pump, ready } from './common.mjs';

const binary = job.figure === 'bytes' || job.figure === 'large';
const packr = new Packr();
const unpackr = new Unpackr();

/** One connection speaking length-prefixed frames. */
class FramedSocket {
  #batch = [];
  #batchBytes = 0;
  #scheduled = false;
  #waiter = null;
  #chunks = [];
  #have = 0;
  #need = 0;

  constructor(socket, onValue) {
    this.socket = socket;
    this.onValue = onValue;
    socket.on('data', (chunk) => this.#receive(chunk));
    socket.on('drain', () => this.#wake());
    socket.on('error', fail);
  }

  /** Queues one value; false once the socket's high-water mark is reached, as `write()` says. */
  send(value) {
    const header = Buffer.allocUnsafe(4);
    const body = binary ? value : packr.pack(value);
    header.writeUInt32BE(body.length, 0);
    this.#batch.push(header, body);
    this.#batchBytes += 4 + body.length;
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#flush);
    }
    return this.#writable();
  }

  /** Calls `resume` once the batch went out and the socket is not backed up. */
  whenWritable(resume) {
    this.#waiter = resume;
  }

  #flush = () => {
    this.#scheduled = false;
    const batch = this.#batch;
    const socket = this.socket;
    if (batch.length === 0) return;
    this.#batch = [];
    if (binary) {
      socket.cork();
      for (const chunk of batch) socket.write(chunk);
      socket.uncork();
    } else {
      socket.write(Buffer.concat(batch, this.#batchBytes));
    }
    this.#batchBytes = 0;
    if (!socket.writableNeedDrain) this.#wake();
  };

  #wake() {
    const resume = this.#waiter;
    if (resume !== null && this.#writable()) {
      this.#waiter = null;
      resume();
    }
  }

  #writable() {
    return this.socket.writableLength + this.#batchBytes < this.socket.writableHighWaterMark;
  }

  #receive(chunk) {
    if (this.#chunks.length > 0) {
      this.#chunks.push(chunk);
      this.#have += chunk.length;
      if (this.#have < this.#need) return;
      chunk = Buffer.concat(this.#chunks, this.#have);
      this.#chunks = [];
    }
    let offset = 0;
    while (chunk.length - offset >= 4) {
      const length = chunk.readUInt32BE(offset);
      const end = offset + 4 + length;
      if (end > chunk.length) break;
      const body = chunk.subarray(offset + 4, end);
      offset = end;
      this.onValue(binary ? body : unpackr.unpack(body));
    }
    if (offset < chunk.length) {
      const rest = chunk.subarray(offset);
      this.#chunks = [rest];
      this.#have = rest.length;
      this.#need = rest.length >= 4 ? 4 + rest.readUInt32BE(0) : 4;
    }
  }
}

const { endpoint } = job;
const listenOn = endpoint.path ?? { host: endpoint.host, port: endpoint.port };

function serve(onConnection) {
  const server = net.createServer((socket) => onConnection(socket));
  server.on('error', fail);
  server.listen(listenOn, () => {
    const address = server.address();
    ready(typeof address === 'string' ? { path: address } : { host: endpoint.host, port: address.port });
  });
}

function dial(onConnect) {
  const socket = endpoint.path ? net.connect(endpoint.path) : net.connect(endpoint.port, endpoint.host);
  if (!endpoint.path) socket.setNoDelay(true);
  socket.once('connect', () => onConnect(socket));
  socket.on('error', fail);
}

switch (job.role) {
  case 'receiver': {
    const onValue = createReceiver();
    serve((socket) => new FramedSocket(socket, onValue));
    break;
  }
  case 'sender':
    dial((socket) => {
      const framed = new FramedSocket(socket, () => fail(new Error('the receiver sent something')));
      pump(
        (value) => framed.send(value),
        (resume) => framed.whenWritable(resume),
      );
    });
    break;
  case 'echo':
    serve((socket) => {
      if (!endpoint.path) socket.setNoDelay(true);
      const framed = new FramedSocket(socket, (value) => framed.send(value));
    });
    break;
  case 'pinger':
    dial((socket) => {
      const framed = new FramedSocket(socket, (value) => pinger.onReply(value));
      const pinger = createPinger((value) => framed.send(value));
      pinger.start();
    });
    break;
  default:
    fail(new Error(`unknown role ${job.role}`));
}
