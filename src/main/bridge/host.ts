/**
 * Serves one page (one renderer frame) over a message port: opens the real
 * sockets it asks for, as far as the policy and limits allow, and relays frame
 * bytes both ways without ever decoding a value. Transport-agnostic: the
 * Electron adapter, the tests and the Chromium stand-in all feed it messages
 * and give it a function to post replies with.
 */
import type net from 'node:net';
import { asDataSocketError, DataSocketError, ErrorCode, toPlainError, type PlainError } from '../../shared/errors.js';
import { FrameScanner } from '../../shared/frames.js';
import type { ResolvedOptions } from '../../shared/options.js';
import { FRAME_HEADER_BYTES, FrameKind, writeFrameHeader } from '../../shared/protocol.js';
import { decideWithin } from '../../shared/decide.js';
import type { ClientMessage, HostMessage, WireAddress, WireOptions } from '../../shared/bridge-protocol.js';
import { clientMessageSchema } from './bridge-schema.js';
import { Connection } from '../socket/connection.js';
import { dial, type Dialing } from '../socket/dial.js';
import { listenElected } from '../socket/election.js';
import { addressOf, isLocalHost, resolveTarget, type Target } from '../socket/endpoint.js';
import { listen, type Listening, type PendingConnection } from '../socket/listener.js';
import type { SocketPolicy, SocketRequest } from './policy.js';
import { PageTraces } from '../trace/page-traces.js';

/** Limits per page. */
export interface HostLimits {
  /** Sockets (listeners, connections, pending ones) a page may hold at once. Default 64. */
  sockets: number;
  /** Bytes a page may have on their way to the OS across all its sockets. Default 64 MiB. */
  queuedBytes: number;
}

export const DEFAULT_LIMITS: Readonly<HostLimits> = Object.freeze({ sockets: 64, queuedBytes: 64 * 1024 * 1024 });

/**
 * Why a host stops serving its page. A crash drops connections (peers see ECONNRESET);
 * anything else closes them cleanly: a navigation, a renderer that exited cleanly
 * ('exited'), a destroyed webContents, the app quitting, the bridge disposed, or a
 * port that closed with nothing else said.
 */
export type DisposeReason = 'navigated' | 'crashed' | 'exited' | 'destroyed' | 'quit' | 'disposed' | 'port-closed';

/** How a host is set up. `C` is what the policy learns about the page (webContents, frame, URL in Electron). */
export interface HostOptions<C> {
  policy: SocketPolicy<C>;
  limits: HostLimits;
  /** The namespace the page's bare names resolve in; undefined: main's DATASOCKET_NAMESPACE when each socket opens. */
  namespace?: string | undefined;
  /** Names the page in trace records (SPEC §13), e.g. "webContents 3". */
  traceLabel?: string;
  context: () => C;
}

type Entry =
  | { state: 'checking' }
  | { state: 'dialing'; dialing: Dialing }
  | { state: 'listening'; listening: Listening }
  | { state: 'pending'; pending: PendingConnection; options: ResolvedOptions }
  /** `ending`: the page sent its END and asked to end; nothing more may be written. */
  | { state: 'open'; connection: Connection; scanner: FrameScanner; inflight: number; ending: boolean };

const END_FRAME = new Uint8Array(FRAME_HEADER_BYTES);
writeFrameHeader(END_FRAME, 0, 0, FrameKind.END);

/** The main-process side of one page's sockets. */
export class Host<C extends object = object> {
  readonly #post: (message: HostMessage) => void;
  readonly #options: HostOptions<C>;
  readonly #entries = new Map<number, Entry>();
  /** The page's sockets' traces while DATASOCKET_TRACE is set (none otherwise). */
  readonly #traces: PageTraces;
  #lastOwnId = 0;
  #lastIncomingId = 0;
  #queued = 0;
  #disposed = false;

  constructor(post: (message: HostMessage) => void, options: HostOptions<C>) {
    this.#post = post;
    this.#options = options;
    this.#traces = new PageTraces(options.traceLabel);
  }

  /** Sockets the page holds now. */
  get size(): number {
    return this.#entries.size;
  }

  /** Handles one message from the page. Never throws: a bad message is answered with `rejected`. */
  receive(raw: unknown): void {
    if (this.#disposed) return;
    const parsed = clientMessageSchema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      this.#reject(`malformed message${issue ? ` at '${issue.path.join('.')}': ${issue.message}` : ''}`);
      return;
    }
    try {
      this.#dispatch(parsed.data);
    } catch (error) {
      this.#reject(`message refused: ${(error as Error)?.message ?? String(error)}`);
    }
  }

  /** Stops serving: every socket of the page closes at once and its listeners' socket files go. */
  dispose(reason: DisposeReason): void {
    if (this.#disposed) return;
    this.#disposed = true;
    // The page's frames are whole, so an END can follow: peers see a clean close — unless it crashed.
    for (const entry of this.#entries.values()) stop(entry, reason !== 'crashed');
    this.#traces.goneAll(reason);
    this.#entries.clear();
    this.#queued = 0;
  }

  #dispatch(message: ClientMessage): void {
    switch (message.t) {
      case 'connect':
      case 'listen':
        this.#open(message);
        return;
      case 'verdict':
        this.#verdict(message.id, message.accept);
        return;
      case 'send':
        this.#send(message.id, message.bytes, message.count);
        return;
      case 'end':
        this.#end(message.id);
        return;
      case 'destroy':
        this.#destroy(message.id);
        return;
    }
  }

  #open(message: Extract<ClientMessage, { t: 'connect' | 'listen' }>): void {
    const { id } = message;
    if (id <= this.#lastOwnId) {
      this.#reject(`socket id ${id} was used before; ids only grow`);
      return;
    }
    this.#lastOwnId = id;
    if (this.#entries.size >= this.#options.limits.sockets) {
      this.#finish(id, new DataSocketError(ErrorCode.NOT_ALLOWED, `this page already holds ${this.#entries.size} sockets, its limit`));
      return;
    }
    const port = message.port ?? undefined;
    const elect = message.t === 'listen' && message.elect === true;
    let target: Target;
    try {
      if (message.t === 'connect' && port === 0) throw new DataSocketError(ErrorCode.INVALID_ARGUMENT, 'cannot connect to port 0');
      target = resolveTarget({ name: message.name, port, namespace: this.#options.namespace });
      if (elect && target.kind === 'tcp' && (port === 0 || !isLocalHost(target.host))) {
        throw new DataSocketError(ErrorCode.INVALID_ARGUMENT, `connectOrListen needs a fixed port on an address of this machine, not ${describeTarget(target)}`);
      }
    } catch (error) {
      this.#finish(id, asDataSocketError(error, ErrorCode.INVALID_ARGUMENT));
      return;
    }
    const options = resolved(message.options);
    this.#traces.open(id, message.t === 'connect' ? 'client' : 'listener', addressOf(target), options);
    const request: SocketRequest =
      target.kind === 'local'
        ? { action: message.t, transport: 'local', name: target.name, path: target.path }
        : { action: message.t, transport: 'tcp', name: target.host, port: target.port };
    this.#entries.set(id, { state: 'checking' });
    // handshakeTimeoutMs runs from the page's connect() to the verdict: the policy's time counts.
    const deadline = Date.now() + options.handshakeTimeoutMs;
    decideWithin(this.#options.policy, { ...request, ...this.#options.context() }, options.handshakeTimeoutMs, (allowed) => {
      if (this.#disposed || this.#entries.get(id)?.state !== 'checking') return;
      if (!allowed) {
        this.#finish(id, new DataSocketError(ErrorCode.NOT_ALLOWED, `the main process does not allow this page to ${message.t} ${describeTarget(target)}`));
        return;
      }
      try {
        if (message.t === 'connect') this.#dial(id, target, options, Math.max(1, deadline - Date.now()));
        else this.#listen(id, target, options, elect);
      } catch (error) {
        // Nothing the page sends may throw in main: whatever failed is that socket's error.
        this.#finish(id, asDataSocketError(error, ErrorCode.PROTOCOL));
      }
    });
  }

  #dial(id: number, target: Target, options: ResolvedOptions, handshakeTimeoutMs: number): void {
    const dialing = dial(target, { ...options, handshakeTimeoutMs }, undefined, {
      accepted: (socket, rest) => {
        this.#adopt(id, socket, options, addressOf(target));
        if (rest.length > 0) this.#postData(id, rest);
      },
      failed: (error) => this.#finish(id, error),
    });
    this.#entries.set(id, { state: 'dialing', dialing });
  }

  #listen(id: number, target: Target, options: ResolvedOptions, elect: boolean): void {
    const listening = (elect ? listenElected : listen)(target, options, undefined, {
      bound: (address) => {
        this.#traces.listening(id, address);
        this.#tell({ t: 'bound', id, address });
      },
      failed: (error) => this.#finish(id, error),
      incoming: (pending) => this.#incoming(id, pending, options),
      refused: (error) => {
        this.#traces.refused(id, error);
        this.#tell({ t: 'clientError', id, error: toPlainError(error) });
      },
    });
    this.#entries.set(id, { state: 'listening', listening });
  }

  #incoming(listener: number, pending: PendingConnection, options: ResolvedOptions): void {
    if (this.#disposed) {
      pending.refuse();
      return;
    }
    if (this.#entries.size >= this.#options.limits.sockets) {
      pending.refuse();
      this.#tell({
        t: 'clientError',
        id: listener,
        error: toPlainError(new DataSocketError(ErrorCode.NOT_ALLOWED, 'a connection was refused: this page holds as many sockets as it may')),
      });
      return;
    }
    const id = --this.#lastIncomingId;
    this.#entries.set(id, { state: 'pending', pending, options });
    this.#traces.open(id, 'accepted', pending.address, options, listener);
    pending.onGone = () => {
      if (this.#entries.get(id)?.state === 'pending') this.#finish(id);
    };
    this.#tell({ t: 'incoming', id, listener, address: pending.address });
  }

  #verdict(id: number, accept: boolean): void {
    const entry = this.#entries.get(id);
    if (entry === undefined) return this.#unknown(id);
    if (entry.state !== 'pending') return this.#reject(`socket ${id} is not waiting for a verdict`);
    this.#traces.verdict(id, accept);
    if (!accept) {
      this.#entries.delete(id);
      entry.pending.refuse();
      return;
    }
    const socket = entry.pending.accept();
    if (socket === null) {
      this.#finish(id);
      return;
    }
    this.#adopt(id, socket, entry.options, entry.pending.address);
  }

  #adopt(id: number, socket: net.Socket, options: ResolvedOptions, address: WireAddress): void {
    const connection = new Connection(socket, {
      data: (chunk) => this.#postData(id, chunk),
      sent: (bytes, count) => {
        this.#traces.sent(id, bytes, count);
        entry.inflight -= bytes;
        this.#queued -= bytes;
        this.#tell({ t: 'sent', id, bytes, count });
      },
      resume: () => {},
      ended: () => this.#finish(id),
      failed: (error) => this.#finish(id, error),
    });
    // The page pings only a peer that answers pings; a page that pings another is refused here.
    const entry = { state: 'open' as const, connection, scanner: new FrameScanner(options.maxFrameBytes, connection.peerPings, connection.peerRequests), inflight: 0, ending: false };
    this.#entries.set(id, entry);
    this.#traces.opened(id, options.maxFrameBytes);
    this.#tell({ t: 'open', id, address, pings: connection.peerPings, requests: connection.peerRequests });
  }

  #send(id: number, bytes: Uint8Array, count: number): void {
    const entry = this.#entries.get(id);
    if (entry === undefined) return this.#unknown(id);
    if (entry.state !== 'open' || entry.ending) return this.#reject(`socket ${id} is not open`);
    let refusal: DataSocketError | null = null;
    try {
      entry.scanner.scan(bytes);
      if (entry.scanner.midFrame) throw new Error('a send must hold whole frames');
      if (this.#queued + bytes.length > this.#options.limits.queuedBytes) {
        refusal = new DataSocketError(ErrorCode.BUFFER_FULL, `this page has more than ${this.#options.limits.queuedBytes} bytes queued, its limit`);
      }
    } catch (error) {
      refusal = new DataSocketError(ErrorCode.INVALID_ARGUMENT, `the page sent malformed frames: ${(error as Error).message}`);
    }
    if (refusal !== null) {
      entry.connection.destroy();
      this.#finish(id, refusal);
      return;
    }
    entry.inflight += bytes.length;
    this.#queued += bytes.length;
    this.#traces.sending(id, bytes);
    entry.connection.transmit([bytes], bytes.length, count);
  }

  #end(id: number): void {
    const entry = this.#entries.get(id);
    if (entry === undefined) return this.#unknown(id);
    if (entry.state === 'open') {
      entry.ending = true;
      entry.connection.end();
    } else if (entry.state === 'listening') {
      entry.listening.close();
      this.#finish(id);
    } else {
      this.#reject(`socket ${id} cannot end while ${entry.state}; destroy it`);
    }
  }

  #destroy(id: number): void {
    const entry = this.#entries.get(id);
    if (entry === undefined) return this.#unknown(id);
    this.#remove(id);
    stop(entry, false);
  }

  #remove(id: number, error?: DataSocketError): void {
    const entry = this.#entries.get(id);
    if (entry?.state === 'open') this.#queued -= entry.inflight;
    this.#entries.delete(id);
    this.#traces.gone(id, error);
  }

  /** A message about an id this page does not hold. One it held before is a harmless race; one it never held is refused. */
  #unknown(id: number): void {
    const retired = id > 0 ? id <= this.#lastOwnId : id >= this.#lastIncomingId;
    if (!retired) this.#reject(`this page has no socket ${id}`);
  }

  #postData(id: number, chunk: Uint8Array): void {
    this.#traces.received(id, chunk);
    // Posting a view clones its whole buffer: send exactly the bytes.
    const exact = chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength ? chunk : new Uint8Array(chunk);
    this.#tell({ t: 'data', id, bytes: exact });
  }

  /** Forgets socket `id` (if held) and tells the page it ended, or failed with `error`. */
  #finish(id: number, error?: DataSocketError): void {
    this.#remove(id, error);
    this.#tell(error === undefined ? { t: 'ended', id } : { t: 'failed', id, error: toPlainError(error) });
  }

  #reject(message: string): void {
    const error: PlainError = toPlainError(new DataSocketError(ErrorCode.INVALID_ARGUMENT, message));
    this.#tell({ t: 'rejected', error });
  }

  /** Posts to the page, unless the host was disposed (the page is gone). */
  #tell(message: HostMessage): void {
    if (!this.#disposed) this.#post(message);
  }
}

/** Stops whatever an entry holds; `graceful` ends an open connection with END instead of dropping it. */
function stop(entry: Entry, graceful: boolean): void {
  switch (entry.state) {
    case 'dialing':
      entry.dialing.abort();
      return;
    case 'listening':
      entry.listening.close();
      return;
    case 'pending':
      entry.pending.refuse();
      return;
    case 'open':
      if (!graceful) {
        entry.connection.destroy();
      } else if (!entry.ending) {
        entry.connection.transmit([END_FRAME], END_FRAME.length, 0);
        entry.connection.end();
      }
      return;
    case 'checking':
      return;
  }
}

function resolved(options: WireOptions): ResolvedOptions {
  // The namespace is main's (HostOptions), never the page's.
  return { ...options, keepAliveMs: options.keepAliveMs, token: options.token, namespace: undefined, traceValues: options.traceValues === true, schema: undefined };
}

function describeTarget(target: Target): string {
  return target.kind === 'local' ? `the local socket ${target.path}` : `TCP ${target.host}:${target.port}`;
}
