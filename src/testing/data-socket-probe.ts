/**
 * DataSocketProbe (SPEC §13): the test process's end of a DataSocket. A test listens
 * or connects where the app under test does, then awaits the values the app sends
 * (`next`, `waitFor`), sends and requests, and answers the app's requests. Every wait
 * has a deadline, and a wait that fails says what did arrive. Node only.
 */
import { DataSocket, type ConnectOptions, type ListenOptions } from '../main/socket/data-socket.js';
import { DataSocketError, ErrorCode, invalidArgument } from '../shared/errors.js';
import { describe, parseEndpointArgs } from '../shared/options.js';
import type { RequestOptions } from '../shared/requests.js';
import type { DataSocketAddress, ValueOf } from '../shared/socket-core.js';
import { ReceivedValues } from './received-values.js';

export type { ProbeWaitError } from './received-values.js';

/** The options a probe adds to a DataSocket's. */
export interface ProbeOptions {
  /** Listening probe: decides on each incoming connection (default: accept all). */
  accept?: (connection: DataSocket) => boolean | Promise<boolean>;
  /** Answers the peer's requests (a value or a Promise of one). Without it the peer gets ERR_DATASOCKET_NO_HANDLER. */
  respond?: (value: unknown, info: { connection: DataSocket }) => unknown;
  /** Default deadline of `next`, `waitFor` and `connection`, in ms. Default 5000. */
  timeoutMs?: number;
}
/** Options of `DataSocketProbe.listen`: a DataSocket listener's plus the probe's. */
export type ProbeListenOptions = ListenOptions & ProbeOptions;
/** Options of `DataSocketProbe.connect`: a DataSocket client's plus the probe's (`accept` excluded). */
export type ProbeConnectOptions = ConnectOptions & Omit<ProbeOptions, 'accept'>;
/** The per-call deadline of `next`, `waitFor` and `connection`. */
export interface WaitOptions {
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 5_000;
const MAX_TIMEOUT_MS = 0x7fff_ffff;
const PROBE_KEYS = ['accept', 'respond', 'timeoutMs'] as const;
const CONSTRUCT = Symbol('DataSocketProbe.construct');

/** Every probe made in this process and not closed yet: the kit's `test` closes a test's own after it. */
const unclosed = new Set<DataSocketProbe<unknown>>();

/** @internal The probes made and not closed yet, for the kit's fixtures. */
export function unclosedProbes(): ReadonlySet<DataSocketProbe<unknown>> {
  return unclosed;
}

/**
 * A DataSocket peer for tests. Make one with {@link DataSocketProbe.listen} or
 * {@link DataSocketProbe.connect}; both return at once (wrong arguments throw
 * ERR_DATASOCKET_INVALID_ARGUMENT) and `await probe.ready()` waits for it to be listening
 * or connected. No `error` ever goes unhandled: each is kept in `errors`.
 */
export class DataSocketProbe<T = unknown> {
  /** The listener (listening probe) or the client (connecting probe). */
  readonly #socket: DataSocket;
  readonly #listening: boolean;
  readonly #timeoutMs: number;
  readonly #respond: ProbeOptions['respond'];
  /** Open connections, in the order they opened; a connecting probe's is its socket once connected. */
  readonly #open: DataSocket[] = [];
  /** Every socket not closed yet (the listener, its connections, pending ones too). */
  readonly #live = new Set<DataSocket>();
  readonly #requests: T[] = [];
  readonly #errors: DataSocketError[] = [];
  /** Ended when the listener (listening probe) or the socket (connecting probe) closed, or at close(). */
  readonly #received = new ReceivedValues<T>(() => {
    const errors = this.#errors.map((e) => `${e.code}: ${e.message}`).join('; ');
    return `Open connections: ${this.#open.length}. Errors: ${errors === '' ? 'none' : errors}.`;
  });
  #connectionWaiters: (() => void)[] = [];
  #closing: Promise<void> | undefined;
  readonly #ready: Promise<this>;

  /** @internal Use `DataSocketProbe.listen` or `DataSocketProbe.connect`. */
  constructor(construct: typeof CONSTRUCT, open: (probe: DataSocketProbe<T>) => DataSocket, listening: boolean, options: ProbeOptions) {
    if (construct !== CONSTRUCT) throw invalidArgument('use DataSocketProbe.listen() or DataSocketProbe.connect() to make a probe');
    this.#listening = listening;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#respond = options.respond;
    this.#socket = open(this);
    this.#ready = new Promise<this>((resolve, reject) => {
      // 'error' comes before 'close': a failure rejects with the socket's own error, and the later close changes nothing.
      this.#socket.once(listening ? 'listening' : 'connect', () => resolve(this));
      this.#socket.once('error', reject);
      this.#socket.once('close', () => reject(new DataSocketError(ErrorCode.CLOSED, 'the probe closed before it was ready')));
    });
    // ready() is optional: a failure nobody awaits is still kept in `errors`, never unhandled.
    this.#ready.catch(() => {});
    unclosed.add(this);
    if (listening) this.#track(this.#socket);
    else this.#watch(this.#socket);
  }

  /**
   * Listens at `name` (a local socket) or `name`, `port` (TCP; port 0 picks one, see
   * `address.port` once ready) and takes any number of connections. `options`: a
   * DataSocket listener's and {@link ProbeOptions}.
   */
  static listen<O extends ProbeListenOptions = ProbeListenOptions>(name: string, port?: number | O, options?: O): DataSocketProbe<ValueOf<O>> {
    const { endpoint, socketOptions, probeOptions } = split(name, port, options, true);
    const accept = probeOptions.accept;
    return new DataSocketProbe<ValueOf<O>>(
      CONSTRUCT,
      (probe) =>
        DataSocket.listen(
          (connection) => {
            probe.#watch(connection);
            return accept === undefined ? true : accept(connection);
          },
          endpoint.name,
          endpoint.port,
          socketOptions as ListenOptions,
        ),
      true,
      probeOptions,
    );
  }

  /** Connects to `name` (a local socket) or `name`, `port` (TCP). `options`: a DataSocket client's, `respond` and `timeoutMs`. */
  static connect<O extends ProbeConnectOptions = ProbeConnectOptions>(name: string, port?: number | O, options?: O): DataSocketProbe<ValueOf<O>> {
    const { endpoint, socketOptions, probeOptions } = split(name, port, options, false);
    if (probeOptions.accept !== undefined) throw invalidArgument("'accept' is an option of a listening probe (DataSocketProbe.listen)");
    const open = (): DataSocket => DataSocket.connect(endpoint.name, endpoint.port, socketOptions as ConnectOptions);
    return new DataSocketProbe<ValueOf<O>>(CONSTRUCT, open, false, probeOptions);
  }

  /** Resolves with this probe once it is listening or connected; rejects with the socket's error (ECONNREFUSED, ENOENT, EADDRINUSE, …). */
  ready(): Promise<this> {
    return this.#ready;
  }

  /** Where the probe listens or connects (`port` is the real one after a listen on port 0). */
  get address(): DataSocketAddress {
    return this.#socket.address;
  }

  /** How many connections are open (a connecting probe: 1 once connected, 0 before and after). */
  get connections(): number {
    return this.#open.length;
  }

  /** Every value received, from every connection, in arrival order (including those `next`/`waitFor` passed). */
  get received(): readonly T[] {
    return this.#received.values;
  }

  /** Requests the peer made, in arrival order. Kept only with a `respond` option: without one, the probe never sees them. */
  get requests(): readonly T[] {
    return this.#requests;
  }

  /** Every error the sockets reported: `error` of the listener, the socket or a connection, and the listener's `clientError`. */
  get errors(): readonly DataSocketError[] {
    return this.#errors;
  }

  /**
   * The first value after the cursor (waiting for it if none came yet); the cursor moves
   * past it. Concurrent calls of `next` and `waitFor` are served in call order. Rejects
   * with ERR_DATASOCKET_TIMEOUT at the deadline and ERR_DATASOCKET_CLOSED as soon as the probe
   * ends; either lists what arrived ({@link ProbeWaitError}).
   */
  next(options?: WaitOptions): Promise<T> {
    return this.#wait('next()', null, options);
  }

  /**
   * The first value after the cursor for which `predicate` is true; the cursor moves past
   * it (values skipped stay in `received`). A predicate that throws rejects with its error.
   * Deadline and end as for {@link DataSocketProbe.next}.
   */
  waitFor<U extends T>(predicate: (value: T) => value is U, options?: WaitOptions): Promise<U>;
  waitFor(predicate: (value: T) => boolean, options?: WaitOptions): Promise<T>;
  waitFor(predicate: (value: T) => boolean, options?: WaitOptions): Promise<T> {
    if (typeof predicate !== 'function') return Promise.reject(invalidArgument(`waitFor() takes a predicate function, not ${describe(predicate)}`));
    const source = String(predicate).replace(/\s+/g, ' ');
    return this.#wait(`waitFor(${source.length > 80 ? `${source.slice(0, 80)}…` : source})`, predicate as (value: unknown) => boolean, options);
  }

  /** Resolves with an open connection (the first) once there is one; rejects with TIMEOUT at the deadline, CLOSED when the probe ends. */
  connection(options?: WaitOptions): Promise<DataSocket> {
    return new Promise((resolve, reject) => {
      const timeoutMs = this.#deadline(options);
      const settle = (): void => {
        clearTimeout(timer);
        this.#connectionWaiters = this.#connectionWaiters.filter((w) => w !== settle);
        if (this.#open.length > 0) resolve(this.#open[0]!);
        else reject(this.#received.endError('connection()'));
      };
      const timer = setTimeout(() => {
        this.#connectionWaiters = this.#connectionWaiters.filter((w) => w !== settle);
        reject(this.#received.failure(ErrorCode.TIMEOUT, `connection(): no peer connected within ${timeoutMs} ms`, undefined));
      }, timeoutMs);
      this.#connectionWaiters.push(settle);
      if (this.#open.length > 0 || this.#received.ended !== undefined) settle();
    });
  }

  /**
   * Sends `value` to the peer; a listening probe sends it to every open connection.
   * Returns how many connections it went to (a connecting probe: 1, queued until
   * connected). Throws ERR_DATASOCKET_CLOSED when no connection is open yet (await
   * `probe.connection()` first) or after `close()`, and what DataSocket's `send` throws.
   */
  send(value: unknown): number {
    if (this.#closing !== undefined) throw new DataSocketError(ErrorCode.CLOSED, 'send() on a closed probe');
    if (!this.#listening) {
      this.#socket.send(value);
      return 1;
    }
    if (this.#open.length === 0) throw new DataSocketError(ErrorCode.CLOSED, 'send(): no peer is connected to this probe yet (await probe.connection() first)');
    for (const connection of this.#open) connection.send(value);
    return this.#open.length;
  }

  /**
   * Sends `value` as a request and resolves with the reply (DataSocket's `request`). A
   * listening probe asks its one open connection: with none it rejects with
   * ERR_DATASOCKET_CLOSED, with several with ERR_DATASOCKET_INVALID_ARGUMENT (ask one of
   * them yourself: `(await probe.connection()).request(…)`).
   */
  request(value: unknown, options?: RequestOptions): Promise<unknown> {
    if (this.#closing !== undefined) return Promise.reject(new DataSocketError(ErrorCode.CLOSED, 'request() on a closed probe'));
    if (!this.#listening) return this.#socket.request(value, options);
    if (this.#open.length === 0) return Promise.reject(new DataSocketError(ErrorCode.CLOSED, 'request(): no peer is connected to this probe yet (await probe.connection() first)'));
    if (this.#open.length > 1) {
      return Promise.reject(invalidArgument(`request(): ${this.#open.length} connections are open, so which one to ask is ambiguous; ask one yourself: (await probe.connection()).request(…)`));
    }
    return this.#open[0]!.request(value, options);
  }

  /** Closes the listener or socket and every connection; resolves once each has closed. Waits still pending reject with CLOSED. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      unclosed.delete(this);
      this.#end('probe.close() was called', undefined);
      const sockets = [...this.#live];
      let left = sockets.length;
      if (left === 0) resolve();
      for (const socket of sockets) {
        socket.once('close', () => --left === 0 && resolve());
        socket.close();
      }
    });
    return this.#closing;
  }

  /** `await using probe = DataSocketProbe.listen(…)` closes it at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /**
   * Keeps `socket` in `#live` until it closes and records its errors (a listener's
   * clientError too). The probe's own socket closing ends the probe's waits.
   */
  #track(socket: DataSocket): void {
    this.#live.add(socket);
    let failure: DataSocketError | undefined;
    socket.on('error', (error) => {
      failure = error;
      this.#errors.push(error);
    });
    if (this.#listening && socket === this.#socket) socket.on('clientError', (error) => this.#errors.push(error));
    socket.on('close', () => {
      this.#live.delete(socket);
      const at = this.#open.indexOf(socket);
      if (at !== -1) this.#open.splice(at, 1);
      if (socket !== this.#socket) return;
      const ended = this.#listening ? 'the listener closed' : 'the connection closed';
      this.#end(failure === undefined ? ended : `the socket failed: ${failure.code}: ${failure.message}`, failure);
    });
  }

  /** A connection (or a connecting probe's socket): records its values, answers its requests. */
  #watch(socket: DataSocket): void {
    this.#track(socket);
    socket.on('connect', () => {
      this.#open.push(socket);
      for (const settle of [...this.#connectionWaiters]) settle();
    });
    socket.on('data', (value) => {
      this.#received.push(value as T);
    });
    const respond = this.#respond;
    if (respond !== undefined) {
      socket.on('request', (value, reply) => {
        this.#requests.push(value as T);
        reply(respond(value, { connection: socket }));
      });
    }
  }

  #wait(what: string, match: ((value: unknown) => boolean) | null, options: WaitOptions | undefined): Promise<T> {
    try {
      return this.#received.wait(what, match, this.#deadline(options));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Nothing more can arrive: waits and connection() calls that cannot be served reject now. */
  #end(reason: string, cause: DataSocketError | undefined): void {
    if (this.#received.ended !== undefined) return;
    this.#received.end(reason, cause);
    for (const settle of [...this.#connectionWaiters]) settle();
  }

  #deadline(options: WaitOptions | undefined): number {
    return checkTimeout(options === undefined ? undefined : checkObject(options, 'options', ['timeoutMs']).timeoutMs) ?? this.#timeoutMs;
  }
}

/** Splits the `(name, port?, options?)` arguments into the endpoint, DataSocket's options (checked by DataSocket) and the probe's. */
function split(name: unknown, port: unknown, options: unknown, forListen: boolean) {
  const parsed = parseEndpointArgs(name, port, options, forListen);
  if (parsed.options === undefined || parsed.options === null) return { endpoint: parsed.endpoint, socketOptions: undefined, probeOptions: {} as ProbeOptions };
  const all = checkObject(parsed.options, 'options', null);
  const socketOptions: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(all)) if (!(PROBE_KEYS as readonly string[]).includes(key)) socketOptions[key] = value;
  const probeOptions: ProbeOptions = { timeoutMs: checkTimeout(all.timeoutMs) };
  for (const key of ['accept', 'respond'] as const) {
    if (all[key] !== undefined && typeof all[key] !== 'function') throw invalidArgument(`'${key}' must be a function, not ${describe(all[key])}`);
  }
  if (all.accept !== undefined) probeOptions.accept = all.accept as ProbeOptions['accept'];
  if (all.respond !== undefined) probeOptions.respond = all.respond as ProbeOptions['respond'];
  return { endpoint: parsed.endpoint, socketOptions, probeOptions };
}

/** `value` as an object of options; with `known`, any other key is a wrong argument. */
function checkObject(value: unknown, what: string, known: readonly string[] | null): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalidArgument(`${what} must be an object, not ${describe(value)}`);
  const o = value as Record<string, unknown>;
  const unknownKey = known === null ? undefined : Object.keys(o).find((key) => !known.includes(key));
  if (unknownKey !== undefined) throw invalidArgument(`unknown option '${unknownKey}'`);
  return o;
}

function checkTimeout(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_TIMEOUT_MS) {
    throw invalidArgument(`'timeoutMs' must be an integer from 1 to ${MAX_TIMEOUT_MS}, not ${describe(value)}`);
  }
  return value;
}
