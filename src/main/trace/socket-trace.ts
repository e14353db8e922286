/**
 * What one socket writes to the trace (SPEC §13): its life (listening, connect,
 * accept/reject, error, close) as it happens, and its traffic one record per I/O —
 * a `data` record per chunk read that completed values, a `sent` record per batch
 * handed to the OS — with byte sizes and value counts, never one record per value,
 * so a busy socket's trace costs a few records per turn. Requests and replies get a
 * record each. Values themselves only with DATASOCKET_TRACE_VALUES=1 (and, for a
 * page's socket, the page's consent: main relays its bytes without decoding them).
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
  /** Values received since the last `data` record, and the bytes they came in. */
  #received = 0;
  #receivedBytes = 0;
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

  /** ValueTap: data values are counted into the next `data`/`sent` record; requests and replies get their own. */
  value(direction: 'in' | 'out', kind: ValueKind, id: number, value: unknown): void {
    if (kind === 'data') {
      const values = direction === 'in' ? this.#inValues : this.#outValues;
      if (direction === 'in') this.#received++;
      // Past the cap a value is only counted: rendering it would cost time and memory for nothing.
      if (values !== null) values.push(values.length < MAX_VALUES_PER_RECORD ? traceValue(value) : OMITTED);
      return;
    }
    const details: Partial<TraceRecord> = { direction, id };
    if (kind === 'failure') details.code = (value as { code?: string } | null)?.code;
    if (this.#inValues !== null) details.value = traceValue(value);
    this.event(kind === 'request' ? 'request' : 'reply', details);
  }

  /** `count` values were received (a page's, counted by main's frame scanner; a Node socket's come through `value`). */
  counted(count: number): void {
    this.#received += count;
  }

  /** A chunk of `bytes` was read (and its complete values delivered): one `data` record if it completed any. */
  read(bytes: number): void {
    this.#receivedBytes += bytes;
    if (this.#received === 0) return;
    const details: Partial<TraceRecord> = { bytes: this.#receivedBytes, count: this.#received };
    if (this.#inValues !== null) listed(this.#inValues.splice(0), details);
    this.#received = 0;
    this.#receivedBytes = 0;
    this.event('data', details);
  }

  /** A batch of `count` sent values (`bytes` bytes, frames included) reached the OS; a batch of only requests, replies or pings has its records already. */
  sent(bytes: number, count: number): void {
    if (count === 0) return;
    const details: Partial<TraceRecord> = { bytes, count };
    if (this.#outValues !== null) listed(this.#outValues.splice(0, count), details);
    this.event('sent', details);
  }
}
