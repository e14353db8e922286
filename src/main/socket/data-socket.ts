/**
 * The public DataSocket for Node and Electron main: `connect` and `listen` over
 * local sockets or TCP, on the shared core. Values are encoded and decoded here,
 * in this process.
 */
import type net from 'node:net';
import tls from 'node:tls';
import { invalidArgument } from '../../shared/errors.js';
import { parseEndpointArgs, resolveOptions, type DataSocketOptions, type ResolvedOptions } from '../../shared/options.js';
import { decideWithin } from '../../shared/decide.js';
import { MAKE_RENDEZVOUS, Rendezvous, splitRendezvousOptions, type RendezvousOptions } from '../../shared/rendezvous.js';
import { DataSocketCore, type Acceptor, type DataSocketAddress, type Role, type ValueOf } from '../../shared/socket-core.js';
import { Connection } from './connection.js';
import { dial } from './dial.js';
import { listenElected } from './election.js';
import { addressOf, isLocalHost, resolveTarget, withTlsOptions, type Target } from './endpoint.js';
import { listen, type PendingConnection } from './listener.js';
import { SocketTrace, traceEndpoint } from '../trace/socket-trace.js';

/** Options of `DataSocket.connect`; `tls` takes node:tls connect options. */
export type ConnectOptions = DataSocketOptions<tls.ConnectionOptions>;
/** Options of `DataSocket.listen`; `tls` takes node:tls server options (`key`, `cert`, …). */
export type ListenOptions = DataSocketOptions<tls.TlsOptions>;
/** Options of `DataSocket.connectOrListen`: `failover`, and a DataSocket's options for both roles (`tls` as a server's and a client's). */
export type ConnectOrListenOptions = DataSocketOptions<tls.TlsOptions & tls.ConnectionOptions> & RendezvousOptions;

const CONSTRUCT = Symbol('DataSocket.construct');
const EMPTY = new Uint8Array(0);

/** A carrier for the time before a socket has a connection: it only knows how to stop. */
function stopper(stop: () => void) {
  return { blocked: true, transmit(): void {}, end: stop, destroy: stop };
}

/**
 * Sends values to another process over a local socket (a named pipe on Windows)
 * or TCP. Make one with {@link DataSocket.connect} or {@link DataSocket.listen}.
 */
export class DataSocket<T = unknown> extends DataSocketCore<T> {
  /** This socket's trace while DATASOCKET_TRACE is set (SPEC §13), else null. */
  readonly #trace: SocketTrace | null;

  /** @internal Use `DataSocket.connect` or `DataSocket.listen`. */
  constructor(construct: typeof CONSTRUCT, role: Role, options: ResolvedOptions, address: DataSocketAddress, endpoint?: string) {
    if (construct !== CONSTRUCT) throw invalidArgument('use DataSocket.connect() or DataSocket.listen() to make a DataSocket');
    super(role, options, address);
    const trace = SocketTrace.open(role, endpoint ?? traceEndpoint(address), { values: options.traceValues });
    this.#trace = trace;
    if (trace !== null) {
      this.tap = trace;
      // Internal watchers: what the app does with its own handlers cannot hide anything from the trace.
      this._watch('connect', () => trace.event('connect'));
      this._watch('listening', () => {
        trace.endpoint = traceEndpoint(this.address);
        trace.event('listening');
      });
      this._watch('clientError', (error) => trace.error('reject', error));
      this._watch('error', (error) => trace.error('error', error));
      this._watch('close', () => trace.event('close'));
    }
  }

  /**
   * Connects to a listener: `connect(name)` for a local socket (a bare name or an
   * absolute path), `connect(host, port)` for TCP. The socket starts `connecting`;
   * `connect` follows once the listener accepted. Wrong arguments throw
   * ERR_DATASOCKET_INVALID_ARGUMENT; anything later arrives as `error`, then `close`.
   */
  static connect<O extends ConnectOptions = ConnectOptions>(name: string, port?: number | O, options?: O): DataSocket<ValueOf<O>>;
  static connect(name: string, port?: number | ConnectOptions, options?: ConnectOptions): DataSocket {
    const parsed = parseEndpointArgs(name, port, options, false);
    const resolved = resolveOptions(parsed.options, true);
    const target = resolveTarget({ ...parsed.endpoint, namespace: resolved.namespace });
    return DataSocket.#connect(target, resolved, (parsed.options as ConnectOptions | undefined)?.tls);
  }

  /**
   * Listens: `listen(acceptor, name)` for a local socket, `listen(acceptor, host, port)`
   * for TCP (port 0 picks a free one; see `address.port` after `listening`). `acceptor`
   * decides on each incoming connection after its handshake.
   */
  static listen<O extends ListenOptions = ListenOptions>(
    acceptor: Acceptor<DataSocket<ValueOf<O>>>,
    name: string,
    port?: number | O,
    options?: O,
  ): DataSocket<ValueOf<O>>;
  static listen(acceptor: Acceptor<DataSocket>, name: string, port?: number | ListenOptions, options?: ListenOptions): DataSocket {
    if (typeof acceptor !== 'function') throw invalidArgument('the acceptor must be a function (connection) => boolean | Promise<boolean>');
    const parsed = parseEndpointArgs(name, port, options, true);
    const resolved = resolveOptions(parsed.options, true);
    const target = resolveTarget({ ...parsed.endpoint, namespace: resolved.namespace });
    return DataSocket.#listen(acceptor, target, resolved, (parsed.options as ListenOptions | undefined)?.tls, false);
  }

  /**
   * Joins the instances that meet at `name` (SPEC §9): the first to come listens and
   * leads, the others connect and follow, and when the leader goes a follower takes
   * over (`failover`, default true). `connectOrListen(acceptor, name)` for a local
   * socket; `connectOrListen(acceptor, host, port)` for a port on this machine (the
   * bind is the election there, so the host must be a local address). The acceptor
   * decides on followers while this instance leads. Wrong arguments throw
   * ERR_DATASOCKET_INVALID_ARGUMENT.
   */
  static connectOrListen<O extends ConnectOrListenOptions = ConnectOrListenOptions>(
    acceptor: Acceptor<DataSocket<ValueOf<O>>>,
    name: string,
    port?: number | O,
    options?: O,
  ): Rendezvous<DataSocket<ValueOf<O>>>;
  static connectOrListen(
    acceptor: Acceptor<DataSocket>,
    name: string,
    port?: number | ConnectOrListenOptions,
    options?: ConnectOrListenOptions,
  ): Rendezvous<DataSocket> {
    if (typeof acceptor !== 'function') throw invalidArgument('the acceptor must be a function (connection) => boolean | Promise<boolean>');
    const parsed = parseEndpointArgs(name, port, options, false);
    const { failover, socketOptions } = splitRendezvousOptions(parsed.options);
    const resolved = resolveOptions(socketOptions, true);
    const target = resolveTarget({ ...parsed.endpoint, namespace: resolved.namespace });
    if (target.kind === 'tcp' && !isLocalHost(target.host)) {
      throw invalidArgument(`'${target.name}' is not an address of this machine: connectOrListen binds the port to elect a leader, so it needs a local address`);
    }
    const tlsOptions = (socketOptions as ConnectOrListenOptions | undefined)?.tls;
    // Unusable TLS options are a wrong argument at the call, as for listen and connect.
    if (tlsOptions !== undefined) withTlsOptions(() => tls.createSecureContext(tlsOptions));
    return new Rendezvous<DataSocket>(
      MAKE_RENDEZVOUS,
      {
        lead: (admit) => DataSocket.#listen(admit, target, resolved, tlsOptions, true),
        follow: () => DataSocket.#connect(target, resolved, tlsOptions),
      },
      acceptor,
      failover,
      resolved.handshakeTimeoutMs,
    );
  }

  static #connect(target: Target, resolved: ResolvedOptions, tlsOptions: tls.ConnectionOptions | undefined): DataSocket {
    const socket = new DataSocket(CONSTRUCT, 'client', resolved, addressOf(target));
    socket.#dial(target, tlsOptions);
    return socket;
  }

  static #listen(acceptor: Acceptor<DataSocket>, target: Target, resolved: ResolvedOptions, tlsOptions: tls.TlsOptions | undefined, elected: boolean): DataSocket {
    const listener = new DataSocket(CONSTRUCT, 'listener', resolved, addressOf(target));
    const listening = (elected ? listenElected : listen)(target, resolved, tlsOptions, {
      bound: (address) => {
        listener.setAddress(address);
        listener.bound();
      },
      failed: (error) => listener.fail(error),
      incoming: (pending) => listener.#incoming(pending, acceptor),
      refused: (error) => listener.clientFailed(error),
    });
    listener.attach(
      stopper(() => {
        listening.close();
        queueMicrotask(() => listener.ended());
      }),
    );
    return listener;
  }

  #dial(target: Target, tlsOptions: tls.ConnectionOptions | undefined): void {
    const dialing = dial(target, this.options, tlsOptions, {
      accepted: (socket, rest) => this.#adopt(socket, rest),
      failed: (error) => this.fail(error),
    });
    this.attach(stopper(() => dialing.abort()));
  }

  #incoming(pending: PendingConnection, acceptor: Acceptor<DataSocket>): void {
    // Traced under the listener's endpoint, so a timeline shows where it came in.
    const connection = new DataSocket(CONSTRUCT, 'accepted', this.options, pending.address, this.#trace === null ? undefined : traceEndpoint(this.address));
    connection.attach(stopper(() => pending.refuse()));
    pending.onGone = () => connection.drop();
    decideWithin(acceptor, connection, this.options.acceptTimeoutMs, (accepted) => {
      // Closing or dropping the connection refuses through its carrier.
      if (connection.state !== 'connecting') return;
      if (!accepted) {
        this.#trace?.event('reject', { peer: connection.#trace?.id, code: 'acceptor' });
        connection.drop();
        return;
      }
      this.#trace?.event('accept', { peer: connection.#trace?.id });
      const socket = pending.accept();
      if (socket === null) connection.drop();
      else connection.#adopt(socket, EMPTY);
    });
  }

  #adopt(socket: net.Socket, rest: Uint8Array): void {
    const trace = this.#trace;
    this.attach(
      new Connection(socket, {
        data:
          trace === null
            ? (chunk) => this.receive(chunk)
            : (chunk) => {
                this.receive(chunk);
                trace.read(chunk.length);
              },
        sent:
          trace === null
            ? (bytes, count) => this.sent(bytes, count)
            : (bytes, count) => {
                trace.sent(bytes, count);
                this.sent(bytes, count);
              },
        resume: () => this.resume(),
        ended: () => this.ended(),
        failed: (error) => this.fail(error),
      }),
    );
    this.opened();
    if (rest.length > 0) {
      this.receive(rest);
      trace?.read(rest.length);
    }
  }
}
