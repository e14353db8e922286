/**
 * Requests with deadlines (SPEC §10), the bookkeeping half: the requests a socket
 * sent and waits on, each with its deadline, its abort signal and its schema, and the
 * failure values a REPLY's sibling FAILURE frame carries. The socket core writes and
 * reads the frames (REQUEST/REPLY/FAILURE prefixes, PROTOCOL.md §4.8).
 *
 * Runs in Node and in the page: no Node or DOM imports.
 */
import { DataSocketError, ErrorCode, invalidArgument } from './errors.js';
import { describe } from './options.js';
import { MAX_REQUEST_ID } from './protocol.js';
import { checkSchema, validateValue, type StandardSchemaV1 } from './standard-schema.js';

/** What `request()` needs of an AbortSignal (the DOM's and Node's both fit). */
export interface AbortSignalLike {
  readonly aborted: boolean;
  readonly reason?: unknown;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/** Options of `request()`. */
export interface RequestOptions<Schema extends StandardSchemaV1 | undefined = StandardSchemaV1 | undefined> {
  /** Rejects with ERR_DATASOCKET_TIMEOUT when no reply came by then; a later reply is dropped. Default 30 s. */
  timeoutMs?: number;
  /** Aborting rejects the request with the signal's reason (as `fetch` does); a later reply is dropped. */
  signal?: AbortSignalLike;
  /** Validates the reply: one that fails rejects this request with ERR_DATASOCKET_INVALID_VALUE (the connection stays). */
  schema?: Schema;
}

export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
const MAX_TIMEOUT_MS = 0x7fff_ffff;

interface CheckedRequestOptions {
  timeoutMs: number;
  signal: AbortSignalLike | undefined;
  schema: StandardSchemaV1 | undefined;
}

/** Checks `request()`'s options; throws ERR_DATASOCKET_INVALID_ARGUMENT. */
export function checkRequestOptions(options: unknown): CheckedRequestOptions {
  if (options === undefined) return { timeoutMs: DEFAULT_REQUEST_TIMEOUT_MS, signal: undefined, schema: undefined };
  if (typeof options !== 'object' || options === null || Array.isArray(options)) throw invalidArgument('request() options must be an object');
  const o = options as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (key !== 'timeoutMs' && key !== 'signal' && key !== 'schema') throw invalidArgument(`unknown request() option '${key}'`);
  }
  const timeoutMs = o.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  if (typeof timeoutMs !== 'number' || !Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > MAX_TIMEOUT_MS) {
    throw invalidArgument(`'timeoutMs' must be an integer from 1 to ${MAX_TIMEOUT_MS}, not ${describe(timeoutMs)}`);
  }
  const signal = o.signal;
  if (
    signal !== undefined &&
    (typeof signal !== 'object' ||
      signal === null ||
      typeof (signal as AbortSignalLike).aborted !== 'boolean' ||
      typeof (signal as AbortSignalLike).addEventListener !== 'function' ||
      typeof (signal as AbortSignalLike).removeEventListener !== 'function')
  ) {
    throw invalidArgument("'signal' must be an AbortSignal");
  }
  return { timeoutMs, signal: signal as AbortSignalLike | undefined, schema: o.schema === undefined ? undefined : checkSchema(o.schema) };
}

/** The value a FAILURE frame carries. */
export interface FailureValue {
  /** ERR_DATASOCKET_NO_HANDLER or ERR_DATASOCKET_REMOTE. */
  code: string;
  name: string;
  message: string;
}

/** The failure value for a request that failed here with `code` (the handler's error, if any). */
export function failureValue(code: typeof ErrorCode.NO_HANDLER | typeof ErrorCode.REMOTE, error: unknown): FailureValue {
  if (code === ErrorCode.NO_HANDLER) return { code, name: 'Error', message: 'the peer has no request handler' };
  let name = 'Error';
  let message: string;
  try {
    // An app's error: its getters may throw, its text may be huge.
    if (error instanceof Error) {
      if (typeof error.name === 'string') name = cap(error.name, 256);
      message = String(error.message);
    } else {
      message = typeof error === 'string' ? error : describe(error);
    }
  } catch {
    message = 'the request handler failed with an error that could not be read';
  }
  return { code, name, message: cap(message, MAX_FAILURE_MESSAGE) };
}

/** The longest message a FAILURE carries; the rest is cut, saying how much. */
const MAX_FAILURE_MESSAGE = 8 * 1024;

function cap(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length - max} more characters)`;
}

/** An aborted signal's reason; a signal-like object without one gets an AbortError, as AbortSignal.abort() gives. */
export function abortReason(signal: AbortSignalLike): unknown {
  if (signal.reason !== undefined) return signal.reason;
  const error = new Error('the request was aborted');
  error.name = 'AbortError';
  return error;
}

interface Pending {
  resolve(value: unknown): void;
  reject(error: unknown): void;
  /** When it times out, on now()'s clock; and its timeoutMs, for the message. */
  deadline: number;
  timeoutMs: number;
  signal: AbortSignalLike | undefined;
  onAbort: (() => void) | undefined;
  schema: StandardSchemaV1 | undefined;
}

/** A monotonic clock in ms (Node and the page both have `performance`). */
function now(): number {
  return performance.now();
}

/**
 * The requests one socket sent and waits on. Their deadlines share one timer, armed for
 * the earliest one: a timer per request (set, then cleared by its reply) made a request's
 * round trip 1.14× a send/echo's instead of 1.10× (bench/requests.mjs, alternating runs).
 */
export class PendingRequests {
  private _lastId = 0;
  private readonly _pending = new Map<number, Pending>();
  private _timer: ReturnType<typeof setTimeout> | undefined = undefined;
  /** The deadline the timer is armed for; Infinity when it is not. */
  private _timerAt = Infinity;

  get size(): number {
    return this._pending.size;
  }

  /** The next request id: counts up from 1, wraps after MAX_REQUEST_ID, skips ids still waiting. */
  nextId(): number {
    do {
      this._lastId = this._lastId >= MAX_REQUEST_ID ? 1 : this._lastId + 1;
    } while (this._pending.has(this._lastId));
    return this._lastId;
  }

  /** Waits for request `id`'s answer within `timeoutMs`, or its signal. */
  add(id: number, options: CheckedRequestOptions): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const pending: Pending = {
        resolve,
        reject,
        deadline: now() + options.timeoutMs,
        timeoutMs: options.timeoutMs,
        signal: options.signal,
        onAbort: undefined,
        schema: options.schema,
      };
      if (options.signal !== undefined) {
        const signal = options.signal;
        pending.onAbort = () => {
          if (this._settle(id) !== undefined) reject(abortReason(signal));
        };
        signal.addEventListener('abort', pending.onAbort, { once: true });
      }
      this._pending.set(id, pending);
      if (pending.deadline < this._timerAt) this._arm(pending.deadline);
    });
  }

  /** A REPLY for `id`: resolves it (after its schema), or drops it when nothing waits (late, aborted). */
  reply(id: number, value: unknown): void {
    const pending = this._settle(id);
    if (pending === undefined) return;
    if (pending.schema === undefined) {
      pending.resolve(value);
      return;
    }
    try {
      pending.resolve(validateValue(pending.schema, value, 'the reply'));
    } catch (error) {
      pending.reject(error);
    }
  }

  /** A FAILURE for `id`. Throws ERR_DATASOCKET_PROTOCOL if its value is not a failure value. */
  failure(id: number, value: unknown): void {
    const failure = value as Partial<FailureValue> | null;
    if (
      typeof failure !== 'object' ||
      failure === null ||
      typeof failure.code !== 'string' ||
      typeof failure.name !== 'string' ||
      typeof failure.message !== 'string'
    ) {
      throw new DataSocketError(ErrorCode.PROTOCOL, 'a FAILURE frame whose value is not { code, name, message }');
    }
    const pending = this._settle(id);
    if (pending === undefined) return;
    if (failure.code === ErrorCode.NO_HANDLER) {
      pending.reject(new DataSocketError(ErrorCode.NO_HANDLER, 'the peer has no request handler'));
      return;
    }
    const remote = new Error(failure.message);
    remote.name = failure.name;
    pending.reject(new DataSocketError(ErrorCode.REMOTE, `the peer's request handler failed: ${failure.name}: ${failure.message}`, { cause: remote }));
  }

  /** The socket closed or failed: every request still waiting rejects with ERR_DATASOCKET_CLOSED (`cause`: the socket's error). */
  closeAll(cause: DataSocketError | undefined): void {
    this._disarm();
    for (const id of [...this._pending.keys()]) {
      const pending = this._settle(id)!;
      const why = cause === undefined ? 'the socket closed' : `the socket failed: ${cause.code}: ${cause.message}`;
      pending.reject(new DataSocketError(ErrorCode.CLOSED, `the request got no reply: ${why}`, cause === undefined ? {} : { cause }));
    }
  }

  /**
   * Arms the timer for `at`. It is left armed when requests are answered (clearing and
   * setting it per request is the cost it saves); unref'd in Node, like the keep-alive
   * timer: a pending request's socket keeps the process alive by itself.
   */
  private _arm(at: number): void {
    this._disarm();
    this._timerAt = at;
    this._timer = setTimeout(this._onTimer, Math.max(1, Math.ceil(at - now())));
    (this._timer as { unref?: () => void }).unref?.();
  }

  private _disarm(): void {
    if (this._timer === undefined) return;
    clearTimeout(this._timer);
    this._timer = undefined;
    this._timerAt = Infinity;
  }

  /** Rejects every request whose deadline passed (never before it), in the order they were made; re-arms for the next. */
  private readonly _onTimer = (): void => {
    this._timer = undefined;
    this._timerAt = Infinity;
    const t = now();
    let next = Infinity;
    for (const [id, pending] of this._pending) {
      if (pending.deadline <= t) {
        this._settle(id);
        pending.reject(new DataSocketError(ErrorCode.TIMEOUT, `no reply to the request within ${pending.timeoutMs} ms (timeoutMs)`));
      } else if (pending.deadline < next) {
        next = pending.deadline;
      }
    }
    if (next !== Infinity) this._arm(next);
  };

  private _settle(id: number): Pending | undefined {
    const pending = this._pending.get(id);
    if (pending === undefined) return undefined;
    this._pending.delete(id);
    if (pending.onAbort !== undefined) pending.signal!.removeEventListener('abort', pending.onAbort);
    return pending;
  }
}
