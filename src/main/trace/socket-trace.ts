/**
 * What one socket writes to the trace (SPEC §13): its life (listening, connect,
 * accept/reject, error, close) as it happens, and its traffic one record per I/O —
 * a `data` record per chunk read that completed values, requests or replies, a `sent`
 * record per batch handed to the OS — with byte sizes and counts, never one record per
 * value or request, so a busy socket's trace costs a few records per turn. A request
 * that failed at the other side gets a record of its own (its code). Values themselves
 * only with DATASOCKET_TRACE_VALUES=1 — then each request and reply has its own record
 * too, with its value — and, for a page's socket, only with the page's consent (main
 * relays its bytes without decoding them).
 *
 * Made only while DATASOCKET_TRACE is set (SocketTrace.open returns null otherwise),
 * so an untraced socket pays one null check per value and nothing else.
 */
import type { DataSocketError } from '../../shared/errors.js';
import type { DataSocketAddress, ValueKind, ValueTap } from '../../shared/socket-core.js';
import { traceValue } from './trace-value.js';
import { nextTraceSocketId, traceSettings, traceWriter, type TraceEvent, type TraceRecord, type TraceWriter } from './trace-writer.js';

/**
 * With values on, a record lists at most this many (each capped by traceValue); the rest
 * are counted in `valuesOmitted`, so a busy socket's records stay small.
 */
const MAX_VALUES_PER_RECORD = 100;
/** Stands for a value past the cap, unrendered. */
const OMITTED: unique symbol = Symbol('omitted');

/** The values of a record: the first MAX_VALUES_PER_RECORD rendered ones, and how many more there were. */
function listed(values: unknown[], details: Partial<TraceRecord>): void {
  const shown = values.filter((value) => value !== OMITTED).slice(0, MAX_VALUES_PER_RECORD);
  details.values = shown;
  if (values.length > shown.length) details.valuesOmitted = values.length - shown.length;
}

/** Adds the request and reply counts to a `data`/`sent` record, when there were any. */
function counts(details: Partial<TraceRecord>, requests: number, replies: number): void {
  if (requests > 0) details.requests = requests;
  if (replies > 0) details.replies = replies;
}

/** How a socket is named in its records: a local socket's path, `host:port` for TCP. */
export function traceEndpoint(address: DataSocketAddress): string {
  return address.path ?? (address.port === undefined ? address.name : `${address.name}:${address.port}`);
}

/** The trace of one socket. */
export class SocketTrace implements ValueTap {
  /** This socket's id in the trace (unique in this process). */
  readonly id = nextTraceSocketId();
  readonly #writer: TraceWriter;
  readonly #role: string;
  #endpoint: string;
  readonly #page: string | undefined;
  /** Values, requests and replies received since the last `data` record, and the bytes they came in (pings' too). */
  #received = 0;
  #receivedRequests = 0;
  #receivedReplies = 0;
  #receivedBytes = 0;
  /** Requests and replies queued since the last `sent` record. */
  #sentRequests = 0;
  #sentReplies = 0;
  /** With values on: the values counted in #received, and the sent values not yet in a `sent` record, in order. */
  readonly #inValues: unknown[] | null;
  readonly #outValues: unknown[] | null;

  /**
   * The trace of a new socket, or null when DATASOCKET_TRACE is not set. `values`: this
   * socket's values may be written when DATASOCKET_TRACE_VALUES=1 asks for them.
   */
  static open(role: string, endpoint: string, options: { page?: string; values?: boolean } = {}): SocketTrace | null {
    const settings = traceSettings();
    if (settings === null) return null;
    return new SocketTrace(traceWriter(settings.dir), role, endpoint, options.page, settings.values && options.values !== false);
  }

  private constructor(writer: TraceWriter, role: string, endpoint: string, page: string | undefined, values: boolean) {
    this.#writer = writer;
    this.#role = role;
    this.#endpoint = endpoint;
    this.#page = page;
    this.#inValues = values ? [] : null;
    this.#outValues = values ? [] : null;
  }

  /** Whether records carry values. */
  get values(): boolean {
    return this.#inValues !== null;
  }

  /** How the socket is named in its records. */
  get endpoint(): string {
    return this.#endpoint;
  }

  /** The endpoint became known (a listener bound port 0). */
  set endpoint(endpoint: string) {
    this.#endpoint = endpoint;
  }

  /** Writes one record of this socket. */
  event(event: TraceEvent, details?: Partial<TraceRecord>): void {
    const record: TraceRecord = { socket: this.id, role: this.#role, endpoint: this.#endpoint, event };
    if (this.#page !== undefined) record.page = this.#page;
    this.#writer.write(details === undefined ? record : Object.assign(record, details));
  }

  /** The socket failed, or an incoming connection was refused, with `error`. */
  error(event: 'error' | 'reject', error: DataSocketError): void {
    this.event(event, { code: error.code, message: error.message });
  }

  /** Whether this socket's values should be handed to `value` decoded (a page's frame tap decodes only then). */
  wantsValue(direction: 'in' | 'out'): boolean {
    const values = direction === 'in' ? this.#inValues : this.#outValues;
    return values !== null && values.length < MAX_VALUES_PER_RECORD;
  }

  /**
   * ValueTap: data values, requests and replies are counted into the next `data`/`sent`
   * record. A failure answering a request gets a record of its own, and with values on
   * so does every request and reply, with its value.
   */
  value(direction: 'in' | 'out', kind: ValueKind, id: number, value: unknown): void {
    const incoming = direction === 'in';
    if (kind === 'data') {
      const values = incoming ? this.#inValues : this.#outValues;
      if (incoming) this.#received++;
      // Past the cap a value is only counted: rendering it would cost time and memory for nothing.
      if (values !== null) values.push(values.length < MAX_VALUES_PER_RECORD ? traceValue(value) : OMITTED);
      return;
    }
    if (kind === 'request') {
      if (incoming) this.#receivedRequests++;
      else this.#sentRequests++;
    } else if (incoming) {
      this.#receivedReplies++;
    } else {
      this.#sentReplies++;
    }
    if (kind !== 'failure' && this.#inValues === null) return;
    // A page's request seen by main without its values has no id (main did not read the prefix's body).
    const details: Partial<TraceRecord> = id === 0 ? { direction } : { direction, id };
    if (kind === 'failure') details.code = (value as { code?: string } | null)?.code;
    if (this.#inValues !== null) details.value = traceValue(value);
    this.event(kind === 'request' ? 'request' : 'reply', details);
  }

  /** A chunk of `bytes` was read (and what it completed delivered): one `data` record if it completed a value, request or reply. */
  read(bytes: number): void {
    this.#receivedBytes += bytes;
    if (this.#received === 0 && this.#receivedRequests === 0 && this.#receivedReplies === 0) return;
    const details: Partial<TraceRecord> = { bytes: this.#receivedBytes, count: this.#received };
    counts(details, this.#receivedRequests, this.#receivedReplies);
    if (this.#inValues !== null) listed(this.#inValues.splice(0), details);
    this.#received = 0;
    this.#receivedRequests = 0;
    this.#receivedReplies = 0;
    this.#receivedBytes = 0;
    this.event('data', details);
  }

  /**
   * A batch of `count` sent values (`bytes` bytes, frames included) reached the OS, with the
   * requests and replies queued since the last record (they may have left in this batch or
   * the next); a batch of pings alone writes nothing.
   */
  sent(bytes: number, count: number): void {
    if (count === 0 && this.#sentRequests === 0 && this.#sentReplies === 0) return;
    const details: Partial<TraceRecord> = { bytes, count };
    counts(details, this.#sentRequests, this.#sentReplies);
    if (this.#outValues !== null) listed(this.#outValues.splice(0, count), details);
    this.#sentRequests = 0;
    this.#sentReplies = 0;
    this.event('sent', details);
  }
}
