/**
 * `connectOrListen` (SPEC §9): instances that find each other. A member tries to
 * lead — to listen on the shared endpoint — and, when another member leads,
 * follows it by connecting; when its link to the leader ends it elects again.
 *
 * What makes the election atomic is not here: `lead()` only succeeds for one
 * member at a time because the OS says so (main/socket/election.ts: a lock the
 * kernel releases when its process dies, or a bind that fails for the second
 * process). This state machine only keeps every member trying — lead, else
 * follow, else wait a moment and start over — until it holds one of the two roles,
 * and hands each link to the app. It runs the same in Node, Electron main and the
 * page, where `lead` and `follow` go through the bridge.
 *
 * Runs in Node and in the page: no Node or DOM imports.
 */
import { Emitter } from './emitter.js';
import { asDataSocketError, DataSocketError, ErrorCode, invalidArgument } from './errors.js';
import { describe } from './options.js';
import type { Acceptor, DataSocketCore } from './socket-core.js';

/** Where a member stands. */
export type RendezvousRole = 'electing' | 'leader' | 'follower' | 'closed';

/** The events of a rendezvous and their handlers. */
export interface RendezvousEvents<S> {
  /** The role changed (it starts as `electing`, without an event). */
  role: (role: RendezvousRole) => void;
  /** Leader: a follower its acceptor accepted. Follower: the open link to the leader. */
  connection: (socket: S) => void;
  /** A failure that ends the rendezvous; `close` follows at once. */
  error: (error: DataSocketError) => void;
  /** Exactly once, last. */
  close: () => void;
}

/** What a member can try: listen on the endpoint with the election lock, or connect to it. */
export interface RendezvousOps<S> {
  /** A listener that reports `listening` when this member leads, or fails with EADDRINUSE when another does. */
  lead(acceptor: Acceptor<S>): S;
  /** A client connecting to the leader. */
  follow(): S;
}

/** The options only `connectOrListen` takes, beside a DataSocket's. */
export interface RendezvousOptions {
  /** Elect again when the link to the leader ends. Default true. */
  failover?: boolean;
}

/**
 * A follower's connect that failed with one of these met no leader (none yet, one that
 * just died, or one that is still binding): try again. Anything else ends the rendezvous.
 */
const NO_LEADER_YET: ReadonlySet<string> = new Set(['ENOENT', 'ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'EPIPE', 'EAGAIN']);
/**
 * A leader that dies after accepting a connection but before its HELLO looks like a peer
 * that is not a DataSocket (ERR_DATASOCKET_PROTOCOL). Once is a death mid-handshake: try
 * again. This many times in a row is something else squatting the endpoint: give up with it.
 */
const PROTOCOL_MISSES = 3;

/** The first pause between tries and the longest; each pause is jittered so members spread out. */
const FIRST_PAUSE_MS = 2;
const LONGEST_PAUSE_MS = 50;

const EVENT_NAMES = ['role', 'connection', 'error', 'close'] as const;

/** @internal What `connectOrListen` passes to make a rendezvous; the app cannot make one otherwise. */
export const MAKE_RENDEZVOUS: unique symbol = Symbol('Rendezvous.make');

/** Splits `failover` from the DataSocket options of `connectOrListen`. */
export function splitRendezvousOptions(options: unknown): { failover: boolean; socketOptions: unknown } {
  if (options === undefined || options === null || typeof options !== 'object' || Array.isArray(options)) {
    return { failover: true, socketOptions: options };
  }
  const { failover, ...socketOptions } = options as Record<string, unknown>;
  if (failover !== undefined && typeof failover !== 'boolean') throw invalidArgument(`'failover' must be a boolean, not ${describe(failover)}`);
  return { failover: failover ?? true, socketOptions };
}

/**
 * One member of a rendezvous. Made by `DataSocket.connectOrListen`; `role` says
 * where it stands, `connection` hands over each link, `close()` leaves.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any socket, whatever the type of its values
export class Rendezvous<S extends DataSocketCore<any> = DataSocketCore> extends Emitter<RendezvousEvents<S>> {
  private _role: RendezvousRole = 'electing';
  private readonly _ops: RendezvousOps<S>;
  private readonly _acceptor: Acceptor<S>;
  private readonly _failover: boolean;
  private readonly _electingLimitMs: number;
  /** The listener while leading or trying to; the client while trying to follow (not yet the app's). */
  private _attempt: S | null = null;
  /** The link handed to the app while following; watched, never closed by us. */
  private _link: S | null = null;
  private _timer: ReturnType<typeof setTimeout> | undefined = undefined;
  private _electingSince = 0;
  private _tries = 0;
  private _protocolMisses = 0;

  /** @internal Use `DataSocket.connectOrListen`. */
  constructor(make: typeof MAKE_RENDEZVOUS, ops: RendezvousOps<S>, acceptor: Acceptor<S>, failover: boolean, electingLimitMs: number) {
    if (make !== MAKE_RENDEZVOUS) throw invalidArgument('use DataSocket.connectOrListen() to make a rendezvous');
    super(EVENT_NAMES);
    this._ops = ops;
    this._acceptor = acceptor;
    this._failover = failover;
    this._electingLimitMs = electingLimitMs;
    // The caller attaches its handlers first: the first try starts after this turn's code.
    queueMicrotask(() => this._elect());
  }

  /** 'electing' | 'leader' | 'follower' | 'closed'. */
  get role(): RendezvousRole {
    return this._role;
  }

  /**
   * Leaves: a leader stops listening (its socket file is removed, so another member
   * can lead), an electing member stops trying, a follower stops watching its link.
   * Sockets already handed out through `connection` stay open: they are the app's to
   * close. Idempotent.
   */
  close(): void {
    if (this._role === 'closed') return;
    this._end(null);
  }

  private _setRole(role: RendezvousRole): void {
    if (this._role === role) return;
    this._role = role;
    this.emit('role', role);
  }

  private _elect(): void {
    if (this._role === 'closed') return;
    if (this._electingSince === 0) this._electingSince = Date.now();
    let listener: S;
    try {
      listener = this._ops.lead((connection) => this._admit(connection));
    } catch (error) {
      this._end(asDataSocketError(error, ErrorCode.PROTOCOL));
      return;
    }
    this._attempt = listener;
    let leading = false;
    listener.on('listening', () => {
      if (this._attempt !== listener) return;
      leading = true;
      this._settled();
      this._setRole('leader');
    });
    listener.on('error', (error) => {
      if (this._attempt !== listener) return;
      this._attempt = null;
      if (!leading && error.code === 'EADDRINUSE') this._follow();
      else this._end(error);
    });
    listener.on('close', () => {
      // A listener that ends without an error was closed by us (close(), or a lost race handled above).
      if (this._attempt === listener) this._end(new DataSocketError(ErrorCode.CLOSED, 'the rendezvous listener closed'));
    });
  }

  /** Leader: runs the app's acceptor; an accepted follower is handed over once its link is open. */
  private _admit(connection: S): boolean | Promise<boolean> {
    connection._watch('connect', () => {
      if (this._role === 'leader') this.emit('connection', connection);
      // Accepted after this member stopped leading: never handed out, so it is ours to close —
      // left open, its follower would stay on a member that no longer leads and never elect again.
      else connection.close();
    });
    return this._acceptor(connection);
  }

  private _follow(): void {
    if (this._role === 'closed') return;
    const client = this._ops.follow();
    this._attempt = client;
    client._watch('connect', () => {
      if (this._attempt !== client) return;
      this._attempt = null;
      this._link = client;
      this._settled();
      this._setRole('follower');
      // A `role` handler may have closed the rendezvous: then the link is nobody's but ours.
      if (this._role !== 'follower') {
        client.close();
        return;
      }
      this.emit('connection', client);
    });
    client._watch('error', (error) => {
      if (this._attempt !== client) return;
      this._attempt = null;
      if (NO_LEADER_YET.has(error.code) || (error.code === ErrorCode.PROTOCOL && ++this._protocolMisses < PROTOCOL_MISSES)) this._retry(error);
      else this._end(error);
    });
    client._watch('close', () => {
      if (this._attempt === client) {
        // Closed before it opened without an error (our own close() clears _attempt first): a miss.
        this._attempt = null;
        this._retry(new DataSocketError('ECONNRESET', 'the connection to the leader closed before it opened'));
        return;
      }
      if (this._link !== client) return;
      this._link = null;
      if (this._role !== 'follower') return;
      if (!this._failover) {
        this._end(null);
        return;
      }
      this._setRole('electing');
      this._elect();
    });
  }

  private _retry(miss: DataSocketError): void {
    const waited = Date.now() - this._electingSince;
    if (waited >= this._electingLimitMs) {
      // A peer that is not a DataSocket is the clearer error than the time spent finding that out.
      if (miss.code === ErrorCode.PROTOCOL) return this._end(miss);
      this._end(
        new DataSocketError(
          ErrorCode.TIMEOUT,
          `no member led or could be followed within ${this._electingLimitMs} ms (handshakeTimeoutMs); last: ${miss.code}: ${miss.message}`,
          { cause: miss },
        ),
      );
      return;
    }
    const pause = Math.min(FIRST_PAUSE_MS * 2 ** this._tries, LONGEST_PAUSE_MS) * (0.5 + Math.random());
    this._tries++;
    this._timer = setTimeout(() => {
      this._timer = undefined;
      this._elect();
    }, Math.min(pause, Math.max(1, this._electingLimitMs - waited)));
  }

  private _settled(): void {
    this._electingSince = 0;
    this._tries = 0;
    this._protocolMisses = 0;
  }

  /** Ends the rendezvous: `error` (when there is one), `role` closed, `close`. */
  private _end(error: DataSocketError | null): void {
    if (this._role === 'closed') return;
    clearTimeout(this._timer);
    this._timer = undefined;
    const attempt = this._attempt;
    this._attempt = null;
    this._link = null;
    // Our own listener, or a connect not yet handed to the app: ours to close.
    attempt?.close();
    if (error !== null) this.emit('error', error);
    this._role = 'closed';
    this.emit('role', 'closed');
    this.emit('close');
    this.removeAllHandlers();
  }
}
