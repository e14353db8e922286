/**
 * The page's DataSocket: the same class as in Node (the shared core), carried
 * over a message port to the host in the main process instead of a socket.
 * Values are encoded and decoded here, in the page; the main process only
 * relays frame bytes. Runs in the page's main world (and in Node for tests):
 * no Node or DOM imports.
 */
import type { ClientMessage, HostMessage, WireOptions } from '../shared/bridge-protocol.js';
import { DataSocketError, ErrorCode, fromPlainError, invalidArgument } from '../shared/errors.js';
import { checkLocalName, parseEndpointArgs, resolveOptions, type DataSocketOptions, type ResolvedOptions } from '../shared/options.js';
import { decideWithin } from '../shared/decide.js';
import { MAKE_RENDEZVOUS, Rendezvous, splitRendezvousOptions, type RendezvousOptions } from '../shared/rendezvous.js';
import { DataSocketCore, type Acceptor, type Carrier, type DataSocketAddress, type Role, type ValueOf } from '../shared/socket-core.js';

/** Options in the page: those of §2 except `tls` (TLS is a main-process matter) and `namespace` (the page's sockets use main's). */
export type PageOptions = Omit<DataSocketOptions, 'namespace'>;
/** Options of the page's `connectOrListen`: `failover` and the page's DataSocket options. */
export type PageRendezvousOptions = PageOptions & RendezvousOptions;

/** The DataSocket class the page gets, and how host messages reach it. */
export interface BridgeClient<S> {
  DataSocket: S;
  /** Feeds one message from the host. */
  receive(message: HostMessage): void;
}

/** The static side of the page's DataSocket. */
export interface PageDataSocketClass {
  connect<O extends PageOptions = PageOptions>(name: string, port?: number | O, options?: O): PageDataSocket<ValueOf<O>>;
  listen<O extends PageOptions = PageOptions>(
    acceptor: Acceptor<PageDataSocket<ValueOf<O>>>,
    name: string,
    port?: number | O,
    options?: O,
  ): PageDataSocket<ValueOf<O>>;
  connectOrListen<O extends PageRendezvousOptions = PageRendezvousOptions>(
    acceptor: Acceptor<PageDataSocket<ValueOf<O>>>,
    name: string,
    port?: number | O,
    options?: O,
  ): Rendezvous<PageDataSocket<ValueOf<O>>>;
}

/** A page DataSocket: the API of §2. `T` is the type of received values (`unknown` unless `schema` says more). */
export type PageDataSocket<T = unknown> = DataSocketCore<T>;

/** The options as the host's schema takes them: no key for what was not given. */
function wire(options: ResolvedOptions): WireOptions {
  // The schema checks values here, in the page; main never sees it. The namespace is main's (the page cannot set one).
  const { token, keepAliveMs, traceValues, schema: _schema, namespace: _namespace, ...rest } = options;
  return {
    ...rest,
    ...(keepAliveMs === undefined ? {} : { keepAliveMs }),
    ...(token === undefined ? {} : { token }),
    ...(traceValues === true ? { traceValues } : {}),
  };
}

/** Joins a transmit's chunks into one buffer holding exactly its bytes (posting a view would clone its whole buffer). */
function exactBytes(chunks: Uint8Array[], total: number): Uint8Array {
  if (chunks.length === 1) {
    const only = chunks[0]!;
    if (only.byteOffset === 0 && only.byteLength === only.buffer.byteLength) return only;
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

/**
 * How long past `handshakeTimeoutMs` a page waits for main's answer to a connect()
 * or listen(). Main answers within `handshakeTimeoutMs` itself (its policy's time
 * included) and says why; this is only for a main that says nothing at all.
 */
export const HOST_ANSWER_GRACE_MS = 1_000;
/** The longest delay setTimeout takes; beyond it, timers fire at once. */
const MAX_TIMER_MS = 0x7fff_ffff;

function bridgeGone(): DataSocketError {
  return new DataSocketError(ErrorCode.CLOSED, "the main process's DataSocket bridge is gone (disposed, or its port closed): this socket was dropped");
}

/**
 * Makes the page's DataSocket class over `post` (messages to the host).
 * `platform` is the OS (`process.platform` as the preload sees it), so names are
 * checked the way main will check them, at the call.
 */
export function createBridgeClient(post: (message: ClientMessage) => void, platform: string): BridgeClient<PageDataSocketClass> {
  const sockets = new Map<number, DataSocket>();
  const construct = Symbol('DataSocket.construct');
  let lastId = 0;
  /** Main no longer serves this page: nothing posted reaches it. */
  let shutdown = false;
  let route!: (message: HostMessage) => void;
  /** Checks the arguments as Node would, makes the socket, and asks the host to open it. */
  let open!: (t: 'connect' | 'listen', acceptor: Acceptor<DataSocket> | undefined, name: string, port: unknown, options: unknown, elect?: boolean) => DataSocket;

  class DataSocket extends DataSocketCore {
    private readonly _acceptor: Acceptor<DataSocket> | undefined;
    /** The host no longer knows this id: nothing more may be posted about it. */
    private _gone = false;
    /** Fails a connect()/listen() that main never answered. */
    private _answerTimer: ReturnType<typeof setTimeout> | undefined;
    /** What carries this socket's frames: the port to main. `peerPings` and `peerRequests` are what main's 'open' says. */
    private readonly _link: { blocked: false; peerPings: boolean; peerRequests: boolean; transmit: Carrier['transmit']; end(): void; destroy(): void };

    constructor(token: symbol, id: number, role: Role, options: ResolvedOptions, address: DataSocketAddress, acceptor?: Acceptor<DataSocket>) {
      if (token !== construct) throw invalidArgument('use DataSocket.connect() or DataSocket.listen() to make a DataSocket');
      super(role, options, address);
      this._acceptor = acceptor;
      sockets.set(id, this);
      this._link = {
        blocked: false,
        peerPings: false,
        peerRequests: false,
        transmit: (chunks, bytes, count) => post({ t: 'send', id, bytes: exactBytes(chunks, bytes), count }),
        end: () => post({ t: 'end', id }),
        destroy: () => {
          clearTimeout(this._answerTimer);
          sockets.delete(id);
          if (!this._gone && !shutdown) post({ t: 'destroy', id });
          this._gone = true;
        },
      };
      this.attach(this._link);
    }

    /** Connects through the main process; see the Node DataSocket. */
    static connect(name: string, port?: number | PageOptions, options?: PageOptions): DataSocket {
      return open('connect', undefined, name, port, options);
    }

    /** Listens through the main process; `acceptor` runs here, in the page. */
    static listen(acceptor: Acceptor<DataSocket>, name: string, port?: number | PageOptions, options?: PageOptions): DataSocket {
      if (typeof acceptor !== 'function') throw invalidArgument('the acceptor must be a function (connection) => boolean | Promise<boolean>');
      return open('listen', acceptor, name, port, options);
    }

    /**
     * Joins the instances meeting at `name` (SPEC §9), through the main process: the
     * policy sees the tries to lead as listens and the tries to follow as connects.
     * See the Node DataSocket.
     */
    static connectOrListen(
      acceptor: Acceptor<PageDataSocket>,
      name: string,
      port?: number | PageRendezvousOptions,
      options?: PageRendezvousOptions,
    ): Rendezvous<PageDataSocket> {
      if (typeof acceptor !== 'function') throw invalidArgument('the acceptor must be a function (connection) => boolean | Promise<boolean>');
      const { endpoint, options: given } = parseEndpointArgs(name, port, options, false);
      const { failover, socketOptions } = splitRendezvousOptions(given);
      const resolved = resolveOptions(socketOptions, false);
      if (endpoint.port === undefined) checkLocalName(endpoint.name, platform);
      const at = endpoint.port;
      return new Rendezvous<PageDataSocket>(
        MAKE_RENDEZVOUS,
        {
          lead: (admit) => open('listen', admit, name, at, socketOptions, true),
          follow: () => open('connect', undefined, name, at, socketOptions),
        },
        acceptor,
        failover,
        resolved.handshakeTimeoutMs,
      );
    }

    // What reaches into sockets is defined here, inside the class, yet kept off it: the page
    // sees only connect, listen and connectOrListen on its DataSocket.
    static {
      open = (t, acceptor, name, port, options, elect = false) => {
        const { endpoint, options: given } = parseEndpointArgs(name, port, options, t === 'listen');
        const resolved = resolveOptions(given, false);
        if (endpoint.port === undefined) checkLocalName(endpoint.name, platform);
        const id = ++lastId;
        const address = endpoint.port === undefined ? { name } : { name, port: endpoint.port };
        const socket = new DataSocket(construct, id, t === 'listen' ? 'listener' : 'client', resolved, address, acceptor);
        if (shutdown) {
          socket._gone = true;
          queueMicrotask(() => socket.fail(bridgeGone()));
          return socket;
        }
        if (elect) post({ t: 'listen', id, name, port: endpoint.port ?? null, options: wire(resolved), elect });
        else post({ t, id, name, port: endpoint.port ?? null, options: wire(resolved) });
        const waitMs = Math.min(resolved.handshakeTimeoutMs + HOST_ANSWER_GRACE_MS, MAX_TIMER_MS);
        socket._answerTimer = setTimeout(() => {
          if (socket.state !== 'connecting') return;
          socket.fail(new DataSocketError(ErrorCode.TIMEOUT, `the main process did not answer this ${t}() within ${waitMs} ms`));
        }, waitMs);
        return socket;
      };

      /** Main is gone: every socket fails, and later ones fail at once. */
      const shutDown = (): void => {
        if (shutdown) return;
        shutdown = true;
        for (const socket of [...sockets.values()]) {
          socket._gone = true;
          socket.fail(bridgeGone());
        }
      };

      /** A connection to one of this page's listeners passed its handshake: the page's acceptor decides. */
      const incoming = (id: number, listenerId: number, address: DataSocketAddress): void => {
        const listener = sockets.get(listenerId);
        if (listener === undefined || listener._acceptor === undefined || listener.state !== 'listening') {
          post({ t: 'verdict', id, accept: false });
          return;
        }
        const connection = new DataSocket(construct, id, 'accepted', listener.options, address);
        decideWithin(listener._acceptor, connection, listener.options.acceptTimeoutMs, (accepted) => {
          if (connection.state !== 'connecting') return; // closed in the meantime; the host was told
          post({ t: 'verdict', id, accept: accepted });
          if (!accepted) {
            connection._gone = true;
            connection.drop();
          }
        });
      };

      route = (message) => {
        if (message.t === 'shutdown') {
          shutDown();
          return;
        }
        if (message.t === 'rejected') {
          // Only a bug or a race gets here; say so rather than drop it.
          console.warn(`electron-datasocket: the main process refused a message: ${message.error.message}`);
          return;
        }
        if (message.t === 'incoming') {
          incoming(message.id, message.listener, message.address);
          return;
        }
        const socket = sockets.get(message.id);
        if (socket === undefined) return; // closed here already; the host is told or will be
        switch (message.t) {
          case 'open':
            clearTimeout(socket._answerTimer);
            socket.setAddress(message.address);
            socket._link.peerPings = message.pings;
            socket._link.peerRequests = message.requests;
            socket.opened();
            return;
          case 'bound':
            clearTimeout(socket._answerTimer);
            socket.setAddress(message.address);
            socket.bound();
            return;
          case 'data':
            socket.receive(message.bytes);
            return;
          case 'sent':
            socket.sent(message.bytes, message.count);
            return;
          case 'ended':
            socket._gone = true;
            socket.ended();
            return;
          case 'failed':
            socket._gone = true;
            socket.fail(fromPlainError(message.error));
            return;
          case 'clientError':
            socket.clientFailed(fromPlainError(message.error));
            return;
        }
      };
    }
  }

  return { DataSocket, receive: (message) => route(message) };
}
