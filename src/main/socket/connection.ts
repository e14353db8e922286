/**
 * One live connection over a net.Socket, after its handshake: hands batches of
 * frames to the OS, reports when they got there, passes received bytes on, and
 * turns every way a socket can end into exactly one report.
 */
import type net from 'node:net';
import { asDataSocketError, ErrorCode, type DataSocketError } from '../../shared/errors.js';
import type { Carrier } from '../../shared/socket-core.js';
import { peerAnswersPings, peerTakesRequests } from './handshake.js';

/** Where a connection reports. */
export interface ConnectionSink {
  /** Bytes from the peer. */
  data(chunk: Uint8Array): void;
  /** A `transmit` call's bytes reached the OS. */
  sent(bytes: number, count: number): void;
  /** The socket drained after being blocked. */
  resume(): void;
  /** The socket closed without an error. */
  ended(): void;
  /** The socket failed. */
  failed(error: DataSocketError): void;
}

/** How long a connection that ended its side waits for the peer to end too. */
const CLOSE_WAIT_MS = 5_000;

/** A carrier over a connected, handshaken socket. */
export class Connection implements Carrier {
  readonly #socket: net.Socket;
  readonly #sink: ConnectionSink;
  /** The peer's HELLO announced PINGS (remembered beside the socket by its handshake). */
  readonly peerPings: boolean;
  /** The peer's HELLO announced REQUESTS. */
  readonly peerRequests: boolean;
  #finished = false;
  #closeTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(socket: net.Socket, sink: ConnectionSink) {
    this.#socket = socket;
    this.#sink = sink;
    this.peerPings = peerAnswersPings(socket);
    this.peerRequests = peerTakesRequests(socket);
    socket.on('data', this.#onData);
    socket.on('drain', this.#onDrain);
    socket.on('error', this.#onError);
    socket.on('close', this.#onClose);
  }

  get blocked(): boolean {
    return this.#socket.writableNeedDrain;
  }

  transmit(chunks: Uint8Array[], bytes: number, count: number): void {
    const socket = this.#socket;
    const done = (error?: Error | null): void => {
      // A failed write also surfaces as the socket's 'error', which is reported there.
      if (!error && !this.#finished) this.#sink.sent(bytes, count);
    };
    const last = chunks.length - 1;
    if (last === 0) {
      socket.write(chunks[0]!, done);
      return;
    }
    socket.cork();
    for (let i = 0; i < last; i++) socket.write(chunks[i]!);
    socket.write(chunks[last]!, done);
    socket.uncork();
  }

  end(): void {
    if (this.#finished) return;
    this.#socket.end();
    // A peer that never ends its side must not keep this connection open forever.
    this.#closeTimer = setTimeout(() => this.#socket.destroy(), CLOSE_WAIT_MS);
    this.#closeTimer.unref?.();
  }

  destroy(): void {
    if (this.#finished) return;
    this.#finish();
    this.#socket.destroy();
  }

  #finish(): void {
    this.#finished = true;
    clearTimeout(this.#closeTimer);
    const socket = this.#socket;
    socket.off('data', this.#onData);
    socket.off('drain', this.#onDrain);
    socket.off('close', this.#onClose);
    // Keep swallowing late errors: an unhandled 'error' would crash the process.
    socket.off('error', this.#onError);
    socket.on('error', ignore);
  }

  readonly #onData = (chunk: Buffer): void => {
    this.#sink.data(chunk);
  };

  readonly #onDrain = (): void => {
    this.#sink.resume();
  };

  readonly #onError = (error: Error): void => {
    if (this.#finished) return;
    this.#finish();
    this.#socket.destroy();
    this.#sink.failed(asDataSocketError(error, ErrorCode.PROTOCOL));
  };

  readonly #onClose = (): void => {
    if (this.#finished) return;
    this.#finish();
    this.#sink.ended();
  };
}

function ignore(): void {}
