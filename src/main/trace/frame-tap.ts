/**
 * Main's look at a page socket's frames for the trace (SPEC §13). Main relays a page's
 * bytes without decoding them; while tracing, this reads the same bytes beside the
 * relay to count the values in them and to see requests and replies — and decodes
 * values only when the page consented (`traceValues`) and DATASOCKET_TRACE_VALUES=1
 * asks for them. It never changes what is relayed, and never throws: the page's own
 * checks (and the host's frame scanner) report a malformed stream; the tap just stops.
 *
 * Main loads no codec for a page otherwise: it is imported (loadDecoder) only when a
 * page's socket with consent starts being traced. A value that arrives before it has
 * loaded — it loads while the socket connects, so hardly ever — is noted as undecoded.
 */
import type { ValueDecoder } from '../../shared/codec.js';
import { FrameReader } from '../../shared/frames.js';
import { FrameKind, readU32 } from '../../shared/protocol.js';
import type { ValueKind } from '../../shared/socket-core.js';
import type { SocketTrace } from './socket-trace.js';

const PREFIX_KINDS: readonly ValueKind[] = ['request', 'reply', 'failure'];

let Decoder: (new () => ValueDecoder) | undefined;
let loading: Promise<void> | undefined;

/** Starts loading the value decoder, once per process; a failure leaves values noted as undecoded. */
export function loadDecoder(): void {
  loading ??= import('../../shared/codec.js').then(
    (codec) => {
      Decoder = codec.ValueDecoder;
    },
    () => {},
  );
}

/** One direction of a page socket's stream, as the trace sees it. */
export class FrameTap {
  readonly #trace: SocketTrace;
  readonly #direction: 'in' | 'out';
  readonly #reader: FrameReader;
  readonly #decode: boolean;
  #decoder: ValueDecoder | null = null;
  #prefix: ValueKind | null = null;
  #prefixId = 0;
  #stopped = false;

  constructor(trace: SocketTrace, direction: 'in' | 'out', maxFrameBytes: number) {
    this.#trace = trace;
    this.#direction = direction;
    this.#decode = trace.values;
    this.#reader = new FrameReader(maxFrameBytes, this.#onFrame);
  }

  /** The next bytes of the stream, as relayed. */
  push(chunk: Uint8Array): void {
    if (this.#stopped) return;
    try {
      this.#reader.push(chunk);
    } catch {
      this.#stopped = true;
      this.#reader.stop();
    }
  }

  readonly #onFrame = (kind: number, source: Uint8Array, start: number, end: number, owned: boolean): void => {
    if (kind >= FrameKind.PING) return;
    if (kind >= FrameKind.REQUEST) {
      this.#prefix = PREFIX_KINDS[kind - FrameKind.REQUEST]!;
      this.#prefixId = readU32(source, start);
      return;
    }
    const value = this.#decode ? this.#value(kind, source, start, end, owned) : undefined;
    const prefix = this.#prefix;
    this.#prefix = null;
    this.#trace.value(this.#direction, prefix ?? 'data', prefix === null ? 0 : this.#prefixId, value);
  };

  #value(kind: number, source: Uint8Array, start: number, end: number, owned: boolean): unknown {
    if (this.#decoder === null && Decoder !== undefined) this.#decoder = new Decoder();
    if (this.#decoder === null) return { $undecoded: end - start };
    try {
      return this.#decoder.decode(kind, source, start, end, owned);
    } catch {
      // The page's own decoder reports a bad value; the trace notes it.
      return { $undecodable: end - start };
    }
  }
}
