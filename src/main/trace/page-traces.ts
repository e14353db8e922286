/**
 * The traces of one page's sockets (SPEC §13: "page sockets are traced by main"). The
 * host calls these at each step of a page socket's life; while DATASOCKET_TRACE is not
 * set none of its sockets has a trace and every call is a map lookup that finds nothing.
 * Values are read beside the relay (frame-tap.ts) and decoded only with the page's consent.
 */
import type { DataSocketError } from '../../shared/errors.js';
import type { ResolvedOptions } from '../../shared/options.js';
import type { DataSocketAddress } from '../../shared/socket-core.js';
import { FrameTap, loadDecoder } from './frame-tap.js';
import { SocketTrace, traceEndpoint } from './socket-trace.js';

interface Traced {
  trace: SocketTrace;
  /** For an incoming connection: its listener's socket id. */
  listener: number | undefined;
  /** What main sees of its frames each way, once it is open. */
  in?: FrameTap;
  out?: FrameTap;
}

/** The traces of one page's sockets, by the page's socket ids. */
export class PageTraces {
  readonly #label: string | undefined;
  readonly #traced = new Map<number, Traced>();

  /** `label` names the page in every record (e.g. "webContents 3 frame 1"). */
  constructor(label: string | undefined) {
    this.#label = label;
  }

  /** The page asked to connect or listen (`role` 'client' or 'listener'), or a connection came in for its listener `listener`. */
  open(id: number, role: 'client' | 'listener' | 'accepted', address: DataSocketAddress, options: ResolvedOptions, listener?: number): void {
    // An incoming connection is named by its listener's endpoint, so a timeline shows where it came in.
    const endpoint = listener === undefined ? traceEndpoint(address) : this.#traced.get(listener)?.trace.endpoint;
    if (endpoint === undefined) return;
    const trace = SocketTrace.open(role, endpoint, { page: this.#label, values: options.traceValues === true });
    if (trace === null) return;
    // The page consented and values are asked for: only now may main load a decoder.
    if (trace.values) loadDecoder();
    this.#traced.set(id, { trace, listener });
  }

  /** Listener `id` is bound at `address`. */
  listening(id: number, address: DataSocketAddress): void {
    const trace = this.#traced.get(id)?.trace;
    if (trace === undefined) return;
    trace.endpoint = traceEndpoint(address);
    trace.event('listening');
  }

  /** Listener `id` refused an incoming connection before its acceptor ran (a handshake failed). */
  refused(id: number, error: DataSocketError): void {
    this.#traced.get(id)?.trace.error('reject', error);
  }

  /** The page's acceptor decided on incoming connection `id`. A refused one is gone without records of its own. */
  verdict(id: number, accepted: boolean): void {
    const traced = this.#traced.get(id);
    if (traced === undefined) return;
    const listener = traced.listener === undefined ? undefined : this.#traced.get(traced.listener)?.trace;
    listener?.event(accepted ? 'accept' : 'reject', accepted ? { peer: traced.trace.id } : { peer: traced.trace.id, code: 'acceptor' });
    if (!accepted) this.#traced.delete(id);
  }

  /** Connection `id` is open. */
  opened(id: number, maxFrameBytes: number): void {
    const traced = this.#traced.get(id);
    if (traced === undefined) return;
    traced.in = new FrameTap(traced.trace, 'in', maxFrameBytes);
    traced.out = new FrameTap(traced.trace, 'out', maxFrameBytes);
    traced.trace.event('connect');
  }

  /** Bytes from connection `id`'s peer, on their way to the page. */
  received(id: number, chunk: Uint8Array): void {
    const traced = this.#traced.get(id);
    if (traced === undefined) return;
    traced.in?.push(chunk);
    traced.trace.read(chunk.length);
  }

  /** The page sends `bytes` (whole frames) on connection `id`. */
  sending(id: number, bytes: Uint8Array): void {
    this.#traced.get(id)?.out?.push(bytes);
  }

  /** A batch of `count` of the page's values (`bytes` bytes) on connection `id` reached the OS. */
  sent(id: number, bytes: number, count: number): void {
    this.#traced.get(id)?.trace.sent(bytes, count);
  }

  /** Socket `id` is gone: failed with `error`, or closed (`reason`: why its page stopped being served). */
  gone(id: number, error?: DataSocketError, reason?: string): void {
    const traced = this.#traced.get(id);
    if (traced === undefined) return;
    this.#traced.delete(id);
    if (error !== undefined) traced.trace.error('error', error);
    traced.trace.event('close', reason === undefined ? undefined : { reason });
  }

  /** Every socket of the page is gone at once (`reason`: why the page stopped being served). */
  goneAll(reason: string): void {
    for (const id of [...this.#traced.keys()]) this.gone(id, undefined, reason);
  }
}
