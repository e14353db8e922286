/**
 * The DataSocket every environment shares: its state machine, events, send
 * queue, backpressure and value codec. What carries the bytes differs — a
 * net.Socket in Node and Electron main, a message port in the page — and is
 * plugged in as a {@link Carrier}; everything a user can observe is decided here,
 * once, so the API behaves the same everywhere.
 *
 * Runs in Node and in the page: no Node or DOM imports.
 */
import { ValueDecoder, ValueEncoder, type EncodeLimits } from './codec.js';
import { Emitter } from './emitter.js';
import { DataSocketError, ErrorCode, invalidArgument } from './errors.js';
import { FrameReader, FrameWriter } from './frames.js';
import type { ResolvedOptions } from './options.js';
import { FrameKind } from './protocol.js';

/** Where a socket is in its life. */
export type DataSocketState = 'connecting' | 'open' | 'listening' | 'closing' | 'closed';

/** `name` as given (or the peer's host, for an accepted TCP connection); `path` for local sockets; `port` for TCP (the real one for port 0). */
export interface DataSocketAddress {
  readonly name: string;
  readonly port?: number;
  readonly path?: string;
}

/** The events of a DataSocket and their handlers. `receive` is another name for `data`. */
export interface DataSocketEvents {
  /** Client: connected and accepted by the listener. Accepted connection: its acceptor said yes. */
  connect: () => void;
  /** Listener: bound; `address` is final. */
  listening: () => void;
  /** One value, whole, per `send()` on the other side, in order. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- values are whatever the peer sent
  data: (value: any) => void;
  /** Another name for `data` (Sciter's). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- values are whatever the peer sent
  receive: (value: any) => void;
  /** One per `send()`, in order, once that value was handed to the OS. */
  sent: () => void;
  /** `send()` returned false earlier, and `bufferedAmount` is below `highWaterMark` again. */
  drain: () => void;
  /** Something failed; `close` follows at once. */
  error: (error: DataSocketError) => void;
  /**
   * Listener only: an incoming connection failed before its acceptor ran (a wrong or
   * missing token, a peer that is not a DataSocket, a handshake timeout). The listener
   * keeps listening; no `close` follows. (Extension, named after Node's http 'clientError'.)
   */
  clientError: (error: DataSocketError) => void;
  /** Exactly once, last. */
  close: () => void;
}

/** Decides whether to accept an incoming connection; anything but `true` (or a Promise of it, in time) refuses. */
export type Acceptor<S> = (connection: S) => boolean | Promise<boolean>;

/** What carries a socket's bytes. The socket calls it; it reports back through the socket's protected methods. */
export interface Carrier {
  /** True while the carrier wants no more bytes; it calls `resume()` when it does again. */
  readonly blocked: boolean;
  /** Hands frames over; must report `sent(bytes, count)` for each call, in order, once the bytes reached the OS. */
  transmit(chunks: Uint8Array[], bytes: number, count: number): void;
  /** Closes gracefully once everything transmitted is out. */
  end(): void;
  /** Tears down now; reports nothing afterwards. */
  destroy(): void;
}

/** What kind of DataSocket this is. */
export type Role = 'client' | 'accepted' | 'listener';

const EVENT_NAMES = ['connect', 'listening', 'data', 'sent', 'drain', 'error', 'clientError', 'close'] as const;

/**
 * A producer sending in a tight loop does not wait for the turn to end once this
 * much is pending: the bytes go to the OS while it goes on producing, so the
 * receiver is never idle. While the carrier is blocked, frames collect and go out
 * in one write when it drains.
 */
const EAGER_FLUSH_BYTES = 64 * 1024;

type Schedule = (task: () => void) => void;
// Node batches until the event loop turns (setImmediate), so an async producer
// still gets one write per turn; the page has no setImmediate and flushes per microtask checkpoint.
const scheduleFlush: Schedule = (globalThis as { setImmediate?: Schedule }).setImmediate ?? queueMicrotask;

/**
 * The shared DataSocket. Node's and the page's `DataSocket` extend it with their
 * own `connect`/`listen` and a carrier; the methods here are the API of SPEC §2.
 */
export abstract class DataSocketCore extends Emitter<DataSocketEvents> {
  #state: DataSocketState = 'connecting';
  readonly #role: Role;
  readonly #options: ResolvedOptions;
  #address: DataSocketAddress;
  #carrier: Carrier | null = null;
  readonly #writer = new FrameWriter();
  readonly #encoder: ValueEncoder | null;
  readonly #decoder: ValueDecoder | null;
  readonly #reader: FrameReader | null;
  readonly #limits: EncodeLimits;
  #inflightBytes = 0;
  /** For each transmit not yet reported sent, the slabs it was the last to use. */
  readonly #inflightRetired: (readonly Uint8Array[])[] = [];
  #flushScheduled = false;
  #needDrain = false;
  #closeRequested = false;
  #endAfterFlush = false;
  #peerEnded = false;

  protected constructor(role: Role, options: ResolvedOptions, address: DataSocketAddress) {
    super(EVENT_NAMES, { receive: 'data' });
    this.#role = role;
    this.#options = options;
    this.#address = Object.freeze({ ...address });
    this.#limits = { maxFrameBytes: options.maxFrameBytes, budget: 0 };
    const connection = role !== 'listener';
    this.#encoder = connection ? new ValueEncoder() : null;
    this.#decoder = connection ? new ValueDecoder() : null;
    this.#reader = connection ? new FrameReader(options.maxFrameBytes, this.#onFrame) : null;
  }

  /** 'connecting' | 'open' | 'listening' | 'closing' | 'closed'. */
  get state(): DataSocketState {
    return this.#state;
  }

  /** Open (or listening), and neither closing nor closed. */
  get active(): boolean {
    return this.#state === 'open' || this.#state === 'listening';
  }

  /** Where this socket is: `{ name, path }` for local sockets, `{ name, port }` for TCP. */
  get address(): DataSocketAddress {
    return this.#address;
  }

  /** Bytes queued by `send()` and not yet handed to the OS. */
  get bufferedAmount(): number {
    return this.#writer.pendingBytes + this.#inflightBytes;
  }

  /**
   * Sends one value. Allowed from the moment `connect()` returns: values sent while
   * connecting are delivered, in order, once the listener accepts. Returns false when
   * `bufferedAmount` reached `highWaterMark` (the value is still queued; wait for `drain`).
   * Throws ERR_DATASOCKET_CLOSED, _UNSERIALIZABLE, _FRAME_TOO_LARGE or _BUFFER_FULL, having sent nothing.
   */
  send(data: unknown): boolean {
    if (this.#closeRequested || this.#state === 'closing' || this.#state === 'closed') {
      throw new DataSocketError(ErrorCode.CLOSED, 'send() on a closed DataSocket');
    }
    if (this.#encoder === null) throw invalidArgument('a listening DataSocket cannot send; send on the connections it accepts');
    const limits = this.#limits;
    limits.budget = this.#options.maxBufferedBytes - this.bufferedAmount;
    this.#encoder.encode(data, this.#writer, limits);
    if (this.#state === 'open') {
      // An idle connection writes at once (a reply should not wait for the turn to end);
      // a busy one batches until the turn ends or enough is pending.
      if (this.#inflightBytes === 0 || this.#writer.pendingBytes >= EAGER_FLUSH_BYTES) {
        this.#flush();
      } else if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        scheduleFlush(this.#scheduledFlush);
      }
    }
    if (this.bufferedAmount < this.#options.highWaterMark) return true;
    this.#needDrain = true;
    return false;
  }

  /**
   * Closes. A connection flushes what is queued, then ends (the peer sees `close`);
   * before `connect` it aborts instead and queued values are dropped. A listener stops
   * accepting and removes its socket file; its connections stay open. Idempotent.
   */
  close(): void {
    if (this.#closeRequested || this.#state === 'closed') return;
    this.#closeRequested = true;
    switch (this.#state) {
      case 'connecting':
        this.#teardown();
        queueMicrotask(() => this.#emitClose());
        return;
      case 'open':
        this.#state = 'closing';
        this.#writer.appendEnd();
        this.#endAfterFlush = true;
        this.#flush();
        return;
      case 'listening':
        this.#state = 'closing';
        this.#carrier?.end();
        return;
      case 'closing':
        return;
    }
  }

  /** The options this socket was made with, after defaults. */
  protected get options(): ResolvedOptions {
    return this.#options;
  }

  /** Attaches what carries the bytes; done before the socket opens, so `close()` can abort it. */
  protected attach(carrier: Carrier): void {
    this.#carrier = carrier;
  }

  /** Replaces the address once it is known (listener bound, connection accepted). */
  protected setAddress(address: DataSocketAddress): void {
    this.#address = Object.freeze({ ...address });
  }

  /** The carrier connected and the listener accepted: emits `connect`, then sends what was queued. */
  protected opened(): void {
    if (this.#state !== 'connecting') return;
    this.#state = 'open';
    this.emit('connect');
    if (this.#state === 'open' && this.#writer.pendingCount > 0) this.#flush();
  }

  /** A listener is bound: emits `listening`. */
  protected bound(): void {
    if (this.#state !== 'connecting') return;
    this.#state = 'listening';
    this.emit('listening');
  }

  /** Listener: an incoming connection failed its handshake. */
  protected clientFailed(error: DataSocketError): void {
    if (this.#state === 'listening') this.emit('clientError', error);
  }

  /** Bytes arrived from the peer. */
  protected receive(chunk: Uint8Array): void {
    if (this.#state === 'closed') return;
    try {
      this.#reader!.push(chunk);
    } catch (error) {
      this.fail(error instanceof DataSocketError ? error : new DataSocketError(ErrorCode.PROTOCOL, String(error), { cause: error }));
    }
  }

  /** `count` values (`bytes` bytes) reached the OS. */
  protected sent(bytes: number, count: number): void {
    if (this.#closed()) return;
    this.#inflightBytes -= bytes;
    // Batches complete in order: the slabs this one finished are no longer read by anyone.
    const retired = this.#inflightRetired.shift();
    if (retired !== undefined && retired.length !== 0) this.#writer.recycle(retired);
    if (this.listens('sent')) {
      for (let i = 0; i < count && !this.#closed(); i++) this.emit('sent');
    }
    // With highWaterMark 0 every send() says wait; 'drain' then comes once everything is out.
    if (this.#needDrain && !this.#closed() && (this.bufferedAmount < this.#options.highWaterMark || this.bufferedAmount === 0)) {
      this.#needDrain = false;
      if (!this.#closeRequested) this.emit('drain');
    }
  }

  /** The carrier takes bytes again after being blocked. */
  protected resume(): void {
    this.#flush();
  }

  /** The carrier is gone. Clean if the peer said goodbye or we closed; otherwise the peer vanished. */
  protected ended(): void {
    if (this.#state === 'closed') return;
    if (this.#reader?.midFrame) {
      this.fail(new DataSocketError('ECONNRESET', 'the peer closed the connection in the middle of a frame'));
    } else if (this.#role !== 'listener' && this.#state === 'open' && !this.#peerEnded) {
      this.fail(new DataSocketError('ECONNRESET', 'the connection ended without the peer closing it (did its process exit?)'));
    } else {
      this.#teardown();
      this.#emitClose();
    }
  }

  /** Fails: emits `error`, then `close`; drops whatever is queued. */
  protected fail(error: DataSocketError): void {
    if (this.#state === 'closed') return;
    this.#teardown();
    this.emit('error', error);
    this.#emitClose();
  }

  /** Closes without `error` and without sending anything more (a refused or dropped connection). */
  protected drop(): void {
    if (this.#state === 'closed') return;
    this.#teardown();
    this.#emitClose();
  }

  // A method, not a field read: handlers run in between and TypeScript must not narrow across them.
  #closed(): boolean {
    return this.#state === 'closed';
  }

  #teardown(): void {
    this.#state = 'closed';
    this.#writer.clear();
    this.#reader?.stop();
    const carrier = this.#carrier;
    this.#carrier = null;
    carrier?.destroy();
  }

  #emitClose(): void {
    this.emit('close');
    this.removeAllHandlers();
  }

  readonly #scheduledFlush = (): void => {
    this.#flushScheduled = false;
    this.#flush();
  };

  #flush(): void {
    const carrier = this.#carrier;
    if (carrier === null || (this.#state !== 'open' && this.#state !== 'closing') || carrier.blocked) return;
    const writer = this.#writer;
    if (writer.pendingBytes > 0) {
      const count = writer.pendingCount;
      const bytes = writer.pendingBytes;
      const batch = writer.take();
      this.#inflightBytes += bytes;
      this.#inflightRetired.push(batch.retired);
      carrier.transmit(batch.chunks, bytes, count);
    }
    if (this.#endAfterFlush && this.#carrier === carrier && !carrier.blocked) {
      this.#endAfterFlush = false;
      carrier.end();
    }
  }

  readonly #onFrame = (kind: number, source: Uint8Array, start: number, end: number, owned: boolean): void => {
    if (this.#peerEnded) throw new DataSocketError(ErrorCode.PROTOCOL, 'the peer sent a frame after END');
    if (kind === FrameKind.END) {
      this.#peerEnded = true;
      this.#onPeerEnd();
      return;
    }
    const value = this.#decoder!.decode(kind, source, start, end, owned);
    this.emit('data', value);
  };

  // The peer closed on purpose: stop sending, flush what is queued (it still reads until our end), then end.
  #onPeerEnd(): void {
    if (this.#state !== 'open') return;
    this.#state = 'closing';
    this.#closeRequested = true;
    this.#endAfterFlush = true;
    this.#flush();
  }
}
