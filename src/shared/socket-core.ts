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
import { keepAliveFor, type ResolvedOptions } from './options.js';
import { FrameKind, readU32 } from './protocol.js';
import { abortReason, checkRequestOptions, failureValue, PendingRequests, type FailureValue, type RequestOptions } from './requests.js';
import { validateValue, type InferOutput, type StandardSchemaV1 } from './standard-schema.js';

/** Where a socket is in its life. */
export type DataSocketState = 'connecting' | 'open' | 'listening' | 'closing' | 'closed';

/** `name` as given (or the peer's host, for an accepted TCP connection); `path` for local sockets; `port` for TCP (the real one for port 0). */
export interface DataSocketAddress {
  readonly name: string;
  readonly port?: number;
  readonly path?: string;
}

/**
 * The events of a DataSocket and their handlers. `receive` is another name for `data`.
 * `T` is the type of received values: `unknown` unless the `schema` option says more.
 */
export interface DataSocketEvents<T = unknown> {
  /** Client: connected and accepted by the listener. Accepted connection: its acceptor said yes. */
  connect: () => void;
  /** Listener: bound; `address` is final. */
  listening: () => void;
  /** One value, whole, per `send()` on the other side, in order (checked by `schema` when one is given). */
  data: (value: T) => void;
  /** Another name for `data` (Sciter's). */
  receive: (value: T) => void;
  /**
   * A request from the peer (`request()` there): answer it with `respond(reply)` — a value
   * or a Promise of one — once; a second call throws ERR_DATASOCKET_INVALID_ARGUMENT. A
   * handler that throws (or whose returned Promise rejects) before answering fails the
   * request with ERR_DATASOCKET_REMOTE; with no handler at all the peer gets
   * ERR_DATASOCKET_NO_HANDLER. A respond() after this socket closed or began closing sends
   * nothing: the requester's request has failed with ERR_DATASOCKET_CLOSED already.
   */
  request: (value: T, respond: (reply: unknown) => void) => void;
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

/** The type of the values a socket made with options `O` receives: its schema's output, else `unknown`. */
export type ValueOf<O> = O extends { schema: infer S } ? (S extends StandardSchemaV1 ? InferOutput<S> : unknown) : unknown;

/** Decides whether to accept an incoming connection; anything but `true` (or a Promise of it, in time) refuses. */
export type Acceptor<S> = (connection: S) => boolean | Promise<boolean>;

/** What carries a socket's bytes. The socket calls it; it reports back through the socket's protected methods. */
export interface Carrier {
  /** True while the carrier wants no more bytes; it calls `resume()` when it does again. */
  readonly blocked: boolean;
  /** Whether the peer's HELLO announced PINGS (it answers a PING with a PONG); read when the socket opens. */
  readonly peerPings?: boolean;
  /** The peer takes requests (its HELLO had REQUESTS). */
  readonly peerRequests?: boolean;
  /** Hands frames over; must report `sent(bytes, count)` for each call, in order, once the bytes reached the OS. */
  transmit(chunks: Uint8Array[], bytes: number, count: number): void;
  /** Closes gracefully once everything transmitted is out. */
  end(): void;
  /** Tears down now; reports nothing afterwards. */
  destroy(): void;
}

/** What kind of DataSocket this is. */
export type Role = 'client' | 'accepted' | 'listener';

/** What a value went as: a `send()`, a request, or a request's reply or failure. */
export type ValueKind = 'data' | 'request' | 'reply' | 'failure';

/**
 * For the library's own trace (SPEC §13, src/main/trace), not for apps: what it sees of each value: one sent (queued,
 * once encoded) or received (decoded, before the schema check). Set only while tracing;
 * otherwise the cost is one null check per value.
 */
export interface ValueTap {
  value(direction: 'in' | 'out', kind: ValueKind, id: number, value: unknown): void;
}

/** REQUEST, REPLY, FAILURE (consecutive frame kinds) by their offset from REQUEST. */
const KIND_OF_PREFIX: readonly ValueKind[] = ['request', 'reply', 'failure'];

const EVENT_NAMES = ['connect', 'listening', 'data', 'request', 'sent', 'drain', 'error', 'clientError', 'close'] as const;

/**
 * A producer sending in a tight loop does not wait for the turn to end once this
 * much is pending: the bytes go to the OS while it goes on producing, so the
 * receiver is never idle. While the carrier is blocked, frames collect and go out
 * in one write when it drains.
 */
const EAGER_FLUSH_BYTES = 64 * 1024;

/** How far past maxBufferedBytes the FAILUREs refusing requests may queue (a failure value is ~70 bytes). */
const FAILURE_RESERVE_BYTES = 4 * 1024;

type Schedule = (task: () => void) => void;
// Node batches until the event loop turns (setImmediate), so an async producer
// still gets one write per turn; the page has no setImmediate and flushes per microtask checkpoint.
const scheduleFlush: Schedule = (globalThis as { setImmediate?: Schedule }).setImmediate ?? queueMicrotask;

/**
 * Keep-alive (SPEC §11) looks at the connection every keepAliveMs / 2: it pings after
 * this many looks in a row found nothing received (keepAliveMs of silence) and fails
 * after twice as many (2 × keepAliveMs). Counting looks, not reading clocks, keeps the
 * receive path to one store per chunk, and a process that stalled (a long task, a
 * throttled page) costs the peer at most one look, never a timeout of its own making.
 */
const PING_AFTER_LOOKS = 2;
const FAIL_AFTER_LOOKS = 4;

/**
 * The shared DataSocket. Node's and the page's `DataSocket` extend it with their
 * own `connect`/`listen` and a carrier; the methods here are the API of SPEC §2.
 */
export abstract class DataSocketCore<T = unknown> extends Emitter<DataSocketEvents<T>> {
  private _state: DataSocketState = 'connecting';
  private readonly _role: Role;
  private readonly _options: ResolvedOptions;
  private _address: DataSocketAddress;
  private _carrier: Carrier | null = null;
  private readonly _writer = new FrameWriter();
  private readonly _encoder: ValueEncoder | null;
  private readonly _decoder: ValueDecoder | null;
  private readonly _reader: FrameReader | null;
  private readonly _limits: EncodeLimits;
  private _inflightBytes = 0;
  /** For each transmit not yet reported sent, the slabs it was the last to use. */
  private readonly _inflightRetired: (readonly Uint8Array[])[] = [];
  private _flushScheduled = false;
  private _needDrain = false;
  private _closeRequested = false;
  private _endAfterFlush = false;
  private _peerEnded = false;
  /** Keep-alive: the periodic look (undefined when off), and what it found so far. */
  private _keepAlive: ReturnType<typeof setInterval> | undefined;
  private _keepAliveMs = 0;
  /** Set by every received chunk, cleared by every look. */
  private _heard = false;
  /** Requests this socket sent and waits on (made on the first request). */
  private _requests: PendingRequests | null = null;
  /** The prefix frame (REQUEST, REPLY, FAILURE) just read, whose value frame comes next; -1 for none. */
  private _prefix = -1;
  private _prefixId = 0;
  /** A REQUEST frame was queued before the connection opened. */
  private _requestQueued = false;
  /** The error the socket failed with: the cause of its pending requests' rejections. */
  private _failure: DataSocketError | undefined = undefined;
  private _silentLooks = 0;
  /** @internal See ValueTap. */
  protected tap: ValueTap | null = null;

  protected constructor(role: Role, options: ResolvedOptions, address: DataSocketAddress) {
    super(EVENT_NAMES, { receive: 'data' });
    this._role = role;
    this._options = options;
    this._address = Object.freeze({ ...address });
    this._limits = { maxFrameBytes: options.maxFrameBytes, budget: 0 };
    const connection = role !== 'listener';
    this._encoder = connection ? new ValueEncoder() : null;
    this._decoder = connection ? new ValueDecoder() : null;
    this._reader = connection ? new FrameReader(options.maxFrameBytes, this._onFrame) : null;
  }

  /** 'connecting' | 'open' | 'listening' | 'closing' | 'closed'. */
  get state(): DataSocketState {
    return this._state;
  }

  /** Open (or listening), and neither closing nor closed. */
  get active(): boolean {
    return this._state === 'open' || this._state === 'listening';
  }

  /** Where this socket is: `{ name, path }` for local sockets, `{ name, port }` for TCP. */
  get address(): DataSocketAddress {
    return this._address;
  }

  /** Bytes queued by `send()` and not yet handed to the OS. */
  get bufferedAmount(): number {
    return this._writer.pendingBytes + this._inflightBytes;
  }

  /**
   * Sends one value. Allowed from the moment `connect()` returns: values sent while
   * connecting are delivered, in order, once the listener accepts. Returns false when
   * `bufferedAmount` reached `highWaterMark` (the value is still queued; wait for `drain`).
   * Throws ERR_DATASOCKET_CLOSED, _UNSERIALIZABLE, _FRAME_TOO_LARGE or _BUFFER_FULL, having sent nothing.
   */
  send(data: unknown): boolean {
    if (this._closeRequested || this._state === 'closing' || this._state === 'closed') {
      throw new DataSocketError(ErrorCode.CLOSED, 'send() on a closed DataSocket');
    }
    if (this._encoder === null) throw invalidArgument('a listening DataSocket cannot send; send on the connections it accepts');
    const limits = this._limits;
    limits.budget = this._options.maxBufferedBytes - this.bufferedAmount;
    this._encoder.encode(data, this._writer, limits);
    if (this.tap !== null) this.tap.value('out', 'data', 0, data);
    if (this._state === 'open') this._kick();
    if (this.bufferedAmount < this._options.highWaterMark) return true;
    this._needDrain = true;
    return false;
  }

  /**
   * Sends `value` as a request and resolves with the peer's reply (SPEC §10). In the same
   * ordered stream as `send()`, and like it allowed before `connect` (queued). Rejects with
   * ERR_DATASOCKET_TIMEOUT at `timeoutMs` (default 30 s), with the signal's reason on abort,
   * ERR_DATASOCKET_CLOSED when the socket closes or fails first (its error as `cause`),
   * ERR_DATASOCKET_NO_HANDLER, ERR_DATASOCKET_REMOTE (the handler's error as `cause`), or
   * ERR_DATASOCKET_INVALID_VALUE for a reply that fails `schema`. A value that cannot be
   * sent (_UNSERIALIZABLE, _FRAME_TOO_LARGE, _BUFFER_FULL) rejects this request only, having sent nothing.
   */
  request<S extends StandardSchemaV1 | undefined = undefined>(value: unknown, options?: RequestOptions<S>): Promise<S extends StandardSchemaV1 ? InferOutput<S> : unknown>;
  request(value: unknown, options?: RequestOptions): Promise<unknown> {
    try {
      const checked = checkRequestOptions(options);
      if (this._encoder === null) throw invalidArgument('a listening DataSocket cannot request; request on the connections it accepts');
      if (this._closeRequested || this._state === 'closing' || this._state === 'closed') {
        throw new DataSocketError(ErrorCode.CLOSED, 'request() on a closed DataSocket');
      }
      if (this._state === 'open' && this._carrier?.peerRequests !== true) {
        throw new DataSocketError(ErrorCode.NO_HANDLER, 'the peer takes no requests (its HELLO did not announce REQUESTS)');
      }
      if (checked.signal?.aborted === true) return Promise.reject(abortReason(checked.signal));
      const requests = (this._requests ??= new PendingRequests());
      const id = requests.nextId();
      const limits = this._limits;
      limits.budget = this._options.maxBufferedBytes - this.bufferedAmount;
      this._encoder.encode(value, this._writer, limits, FrameKind.REQUEST, id);
      if (this.tap !== null) this.tap.value('out', 'request', id, value);
      // A request frame queued before the handshake must not reach a peer that takes none, even if it was aborted since.
      if (this._state !== 'open') this._requestQueued = true;
      const reply = requests.add(id, checked);
      if (this._state === 'open') this._kick();
      return reply;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Closes. A connection flushes what is queued, then ends (the peer sees `close`);
   * before `connect` it aborts instead and queued values are dropped. A listener stops
   * accepting and removes its socket file; its connections stay open. Idempotent.
   */
  close(): void {
    if (this._closeRequested || this._state === 'closed') return;
    this._closeRequested = true;
    switch (this._state) {
      case 'connecting':
        this._teardown();
        queueMicrotask(() => this._emitClose());
        return;
      case 'open':
        this._state = 'closing';
        this._writer.appendEnd();
        this._endAfterFlush = true;
        this._flush();
        return;
      case 'listening':
        this._state = 'closing';
        this._carrier?.end();
        return;
      case 'closing':
        return;
    }
  }

  /** The options this socket was made with, after defaults. */
  protected get options(): ResolvedOptions {
    return this._options;
  }

  /** Attaches what carries the bytes; done before the socket opens, so `close()` can abort it. */
  protected attach(carrier: Carrier): void {
    this._carrier = carrier;
  }

  /** Replaces the address once it is known (listener bound, connection accepted). */
  protected setAddress(address: DataSocketAddress): void {
    this._address = Object.freeze({ ...address });
  }

  /** The carrier connected and the listener accepted: emits `connect`, then sends what was queued. */
  protected opened(): void {
    if (this._state !== 'connecting') return;
    if (this._requestQueued && this._carrier?.peerRequests !== true) {
      this.fail(new DataSocketError(ErrorCode.PROTOCOL, 'requests were queued for a peer that takes none (its HELLO did not announce REQUESTS)'));
      return;
    }
    this._state = 'open';
    this._startKeepAlive();
    this.emit('connect');
    if (this._state === 'open' && this._writer.pendingBytes > 0) this._flush();
  }

  /** A listener is bound: emits `listening`. */
  protected bound(): void {
    if (this._state !== 'connecting') return;
    this._state = 'listening';
    this.emit('listening');
  }

  /** Listener: an incoming connection failed its handshake. */
  protected clientFailed(error: DataSocketError): void {
    if (this._state === 'listening') this.emit('clientError', error);
  }

  /** Bytes arrived from the peer. */
  protected receive(chunk: Uint8Array): void {
    if (this._state === 'closed') return;
    this._heard = true;
    try {
      this._reader!.push(chunk);
    } catch (error) {
      this.fail(error instanceof DataSocketError ? error : new DataSocketError(ErrorCode.PROTOCOL, String(error), { cause: error }));
    }
  }

  /** `count` values (`bytes` bytes) reached the OS. */
  protected sent(bytes: number, count: number): void {
    if (this._closed()) return;
    this._inflightBytes -= bytes;
    // Batches complete in order: the slabs this one finished are no longer read by anyone.
    const retired = this._inflightRetired.shift();
    if (retired !== undefined && retired.length !== 0) this._writer.recycle(retired);
    if (this.listens('sent')) {
      for (let i = 0; i < count && !this._closed(); i++) this.emit('sent');
    }
    // With highWaterMark 0 every send() says wait; 'drain' then comes once everything is out.
    if (this._needDrain && !this._closed() && (this.bufferedAmount < this._options.highWaterMark || this.bufferedAmount === 0)) {
      this._needDrain = false;
      if (!this._closeRequested) this.emit('drain');
    }
  }

  /** The carrier takes bytes again after being blocked. */
  protected resume(): void {
    this._flush();
  }

  /** The carrier is gone. Clean if the peer said goodbye or we closed; otherwise the peer vanished. */
  protected ended(): void {
    if (this._state === 'closed') return;
    if (this._reader?.midFrame || this._prefix !== -1) {
      this.fail(new DataSocketError('ECONNRESET', 'the peer closed the connection in the middle of a frame'));
    } else if (this._role !== 'listener' && this._state === 'open' && !this._peerEnded) {
      this.fail(new DataSocketError('ECONNRESET', 'the connection ended without the peer closing it (did its process exit?)'));
    } else {
      this._teardown();
      this._emitClose();
    }
  }

  /** Fails: emits `error`, then `close`; drops whatever is queued. */
  protected fail(error: DataSocketError): void {
    if (this._state === 'closed') return;
    this._failure = error;
    this._teardown();
    this.emit('error', error);
    this._emitClose();
  }

  /** Closes without `error` and without sending anything more (a refused or dropped connection). */
  protected drop(): void {
    if (this._state === 'closed') return;
    this._teardown();
    this._emitClose();
  }

  // A method, not a field read: handlers run in between and TypeScript must not narrow across them.
  private _closed(): boolean {
    return this._state === 'closed';
  }

  private _teardown(): void {
    this._state = 'closed';
    this._stopKeepAlive();
    this._writer.clear();
    this._reader?.stop();
    const carrier = this._carrier;
    this._carrier = null;
    carrier?.destroy();
  }

  private _emitClose(): void {
    // Requests still waiting get their answer before `close`: none will come.
    this._requests?.closeAll(this._failure);
    this.emit('close');
    this.removeAllHandlers();
  }

  // An idle connection writes at once (a reply should not wait for the turn to end);
  // a busy one batches until the turn ends or enough is pending.
  private _kick(): void {
    if (this._inflightBytes === 0 || this._writer.pendingBytes >= EAGER_FLUSH_BYTES) {
      this._flush();
    } else if (!this._flushScheduled) {
      this._flushScheduled = true;
      scheduleFlush(this._scheduledFlush);
    }
  }

  private readonly _scheduledFlush = (): void => {
    this._flushScheduled = false;
    this._flush();
  };

  private _flush(): void {
    const carrier = this._carrier;
    if (carrier === null || (this._state !== 'open' && this._state !== 'closing') || carrier.blocked) return;
    const writer = this._writer;
    if (writer.pendingBytes > 0) {
      const count = writer.pendingCount;
      const bytes = writer.pendingBytes;
      const batch = writer.take();
      this._inflightBytes += bytes;
      this._inflightRetired.push(batch.retired);
      carrier.transmit(batch.chunks, bytes, count);
    }
    if (this._endAfterFlush && this._carrier === carrier && !carrier.blocked) {
      this._endAfterFlush = false;
      carrier.end();
    }
  }

  private readonly _onFrame = (kind: number, source: Uint8Array, start: number, end: number, owned: boolean): void => {
    if (this._peerEnded) throw new DataSocketError(ErrorCode.PROTOCOL, 'the peer sent a frame after END');
    if (kind >= FrameKind.REQUEST) {
      if (this._prefix !== -1) throw new DataSocketError(ErrorCode.PROTOCOL, `a frame of kind ${kind} where the value of a request frame belongs`);
      if (kind >= FrameKind.PING) {
        this._onControl(kind);
        return;
      }
      // REQUEST, REPLY or FAILURE (the frame reader checked the 4-byte body): its value comes next.
      // A peer without REQUESTS must send none: answering it would send it frames it does not know.
      if (this._carrier?.peerRequests !== true) throw new DataSocketError(ErrorCode.PROTOCOL, 'a request frame from a peer that did not set REQUESTS in its HELLO');
      this._prefix = kind;
      this._prefixId = readU32(source, start);
      return;
    }
    let value = this._decoder!.decode(kind, source, start, end, owned);
    const prefix = this._prefix;
    if (this.tap !== null) this.tap.value('in', prefix === -1 ? 'data' : KIND_OF_PREFIX[prefix - FrameKind.REQUEST]!, this._prefixId, value);
    if (prefix === -1) {
      // T is the schema's output (ValueOf): what the schema returned, or unknown without one.
      this.emit('data', this._checked(value, 'a received value') as T);
      return;
    }
    this._prefix = -1;
    if (prefix === FrameKind.REQUEST) {
      this._onRequest(this._prefixId, this._checked(value, 'a received request'));
    } else if (prefix === FrameKind.REPLY) {
      this._requests?.reply(this._prefixId, value);
    } else {
      // Checked even when this side never requested: a malformed FAILURE is a protocol error, answered or late.
      (this._requests ??= new PendingRequests()).failure(this._prefixId, value);
    }
  };

  /** `value` as the `schema` option delivers it (throws ERR_DATASOCKET_INVALID_VALUE); as it came without one. */
  private _checked(value: unknown, what: string): unknown {
    const schema = this._options.schema;
    return schema === undefined ? value : validateValue(schema, value, what);
  }

  /** A request from the peer: its handlers answer through `respond`, once. */
  private _onRequest(id: number, value: unknown): void {
    let answered = false;
    const failed = (error: unknown): void => {
      if (answered) {
        // Answered already: the error is the app's own, reported as any handler's.
        queueMicrotask(() => {
          throw error;
        });
        return;
      }
      answered = true;
      this._answerFailure(id, ErrorCode.REMOTE, error);
    };
    const respond = (reply: unknown): void => {
      if (answered) throw invalidArgument('respond() was called already for this request: a request is answered once');
      answered = true;
      if (isThenable(reply)) {
        Promise.resolve(reply).then(
          (settled) => this._answer(id, settled),
          (error: unknown) => this._answerFailure(id, ErrorCode.REMOTE, error),
        );
      } else {
        this._answer(id, reply);
      }
    };
    const handlers = this.emitEach('request', (handler) => {
      let returned: unknown;
      try {
        returned = (handler as (this: unknown, v: unknown, r: typeof respond) => unknown).call(this, value, respond);
      } catch (error) {
        failed(error);
        return;
      }
      if (isThenable(returned)) Promise.resolve(returned).then(undefined, failed);
    });
    if (handlers === 0) {
      answered = true;
      this._answerFailure(id, ErrorCode.NO_HANDLER, null);
    }
  }

  /**
   * Sends the reply to request `id`. A reply that cannot be sent (_UNSERIALIZABLE,
   * _FRAME_TOO_LARGE, _BUFFER_FULL) fails that request only: the peer gets
   * ERR_DATASOCKET_REMOTE with the reason as its cause; nothing of the reply is sent.
   */
  private _answer(id: number, reply: unknown): void {
    if (this._state !== 'open') return; // closing or closed: nothing may follow our END; the peer's request fails with the close
    const limits = this._limits;
    limits.budget = this._options.maxBufferedBytes - this.bufferedAmount;
    try {
      this._encoder!.encode(reply, this._writer, limits, FrameKind.REPLY, id);
    } catch (error) {
      this._answerFailure(id, ErrorCode.REMOTE, error);
      return;
    }
    if (this.tap !== null) this.tap.value('out', 'reply', id, reply);
    this._kick();
  }

  /**
   * Fails request `id` at the peer: no handler here, or the handler's error. A failure may
   * use FAILURE_RESERVE_BYTES past maxBufferedBytes (so the reply that did not fit can still
   * be refused); past that, the peer sends requests faster than it reads the answers, and
   * the connection fails with ERR_DATASOCKET_BUFFER_FULL rather than queue without limit.
   */
  private _answerFailure(id: number, code: typeof ErrorCode.NO_HANDLER | typeof ErrorCode.REMOTE, error: unknown): void {
    if (this._state !== 'open') return;
    const limits = { maxFrameBytes: this._options.maxFrameBytes, budget: this._options.maxBufferedBytes + FAILURE_RESERVE_BYTES - this.bufferedAmount };
    // The failure as it is; if that is too large for maxFrameBytes, a fixed one, so the peer still learns of it.
    const tries: FailureValue[] = [failureValue(code, error), { code, name: 'Error', message: 'the request handler failed with an error that cannot be sent' }];
    for (const failure of tries) {
      try {
        this._encoder!.encode(failure, this._writer, limits, FrameKind.FAILURE, id);
        if (this.tap !== null) this.tap.value('out', 'failure', id, failure);
      } catch (refused) {
        if ((refused as DataSocketError).code !== ErrorCode.BUFFER_FULL) continue;
        this.fail(
          new DataSocketError(
            ErrorCode.BUFFER_FULL,
            `answering a request would queue more than maxBufferedBytes (${this._options.maxBufferedBytes}): the peer sends requests faster than it reads the answers`,
          ),
        );
        return;
      }
      this._kick();
      return;
    }
    // A maxFrameBytes too small for even the fixed failure value: nothing can say it; the request meets its deadline.
  }

  // PING, PONG or END (the frame reader lets no other kind this high through).
  private _onControl(kind: number): void {
    if (kind === FrameKind.END) {
      this._peerEnded = true;
      this._onPeerEnd();
    } else if (kind === FrameKind.PING && this._state === 'open') {
      // Closing, this side may have written its END already: nothing may follow it.
      this._writeControl(FrameKind.PONG);
    }
    // A PONG is life, and receive() counted it already.
  }

  /** Queues an empty PING or PONG behind whatever is queued (never inside a frame) and sends it as a value would go. */
  private _writeControl(kind: number): void {
    this._writer.appendControl(kind);
    this._kick();
  }

  /** Starts keep-alive if this connection has it: keepAliveMs above 0, and a peer that answers pings. */
  private _startKeepAlive(): void {
    const ms = keepAliveFor(this._options, this._address.port !== undefined);
    if (ms === 0 || this._carrier?.peerPings !== true) return;
    this._keepAliveMs = ms;
    // Rounded up, so that two looks never come before keepAliveMs.
    this._keepAlive = setInterval(this._look, Math.ceil(ms / 2));
    // In Node, keep-alive alone must not keep a process running.
    (this._keepAlive as { unref?: () => void }).unref?.();
  }

  private _stopKeepAlive(): void {
    if (this._keepAlive === undefined) return;
    clearInterval(this._keepAlive);
    this._keepAlive = undefined;
  }

  private readonly _look = (): void => {
    if (this._state !== 'open') {
      // Closing: END is on its way or came in; the carrier's own close timer bounds the rest.
      this._stopKeepAlive();
      return;
    }
    if (this._heard) {
      this._heard = false;
      this._silentLooks = 0;
      return;
    }
    const looks = ++this._silentLooks;
    if (looks === PING_AFTER_LOOKS) {
      this._writeControl(FrameKind.PING);
    } else if (looks >= FAIL_AFTER_LOOKS) {
      const ms = this._keepAliveMs;
      this.fail(new DataSocketError(ErrorCode.TIMEOUT, `the peer sent nothing, not even a pong, for ${2 * ms} ms (2 × keepAliveMs): it is frozen, asleep or unreachable`));
    }
  };

  // The peer closed on purpose: stop sending, flush what is queued (it still reads until our end), then end.
  private _onPeerEnd(): void {
    if (this._state !== 'open') return;
    this._state = 'closing';
    this._closeRequested = true;
    this._endAfterFlush = true;
    this._flush();
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as { then?: unknown }).then === 'function';
}
