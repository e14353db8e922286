/**
 * Main's look at a page socket's frames for the trace (SPEC §13). Main relays a page's
 * bytes without decoding them; while tracing, this reads the same bytes beside the
 * relay to count the values, requests and replies in them. It never changes what is
 * relayed, and never throws: the page's own checks (and the host's frame scanner)
 * report a malformed stream; the tap just stops.
 *
 * Without values it only walks the frame headers and skips the bodies, keeping nothing
 * (a 64 MiB value costs main no copy). Values are decoded only when the page consented
 * (`traceValues`) and DATASOCKET_TRACE_VALUES=1 asks for them, and only as many as a
 * record lists; main loads no codec otherwise — it is imported (loadDecoder) when such
 * a socket starts being traced. A value that arrives before it has loaded (it loads
 * while the socket connects, so hardly ever) is noted as undecoded.
 */
import type { ValueDecoder } from '../../shared/codec.js';
import { FrameReader } from '../../shared/frames.js';
import { FRAME_HEADER_BYTES, FrameKind, readFrameLength, readU32 } from '../../shared/protocol.js';
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
  /** Whole frames, for decoding values (only when this socket's values are traced); null: headers only. */
  readonly #reader: FrameReader | null;
  #decoder: ValueDecoder | null = null;
  #prefix: ValueKind | null = null;
  #prefixId = 0;
  #stopped = false;
  /** Walking headers: the header read so far, and the body bytes still to skip. */
  readonly #head = new Uint8Array(FRAME_HEADER_BYTES);
  #headLength = 0;
  #skip = 0;

  constructor(trace: SocketTrace, direction: 'in' | 'out', maxFrameBytes: number) {
    this.#trace = trace;
    this.#direction = direction;
    this.#reader = trace.values ? new FrameReader(maxFrameBytes, this.#onFrame) : null;
  }

  /** The next bytes of the stream, as relayed. */
  push(chunk: Uint8Array): void {
    if (this.#stopped) return;
    if (this.#reader === null) {
      this.#walk(chunk);
      return;
    }
    try {
      this.#reader.push(chunk);
    } catch {
      this.#stopped = true;
      this.#reader.stop();
    }
  }

  /** Counts the frames whose headers are in `chunk`, skipping their bodies. */
  #walk(chunk: Uint8Array): void {
    const n = chunk.length;
    let i = 0;
    while (i < n) {
      if (this.#skip > 0) {
        const take = Math.min(this.#skip, n - i);
        this.#skip -= take;
        i += take;
        continue;
      }
      // A whole header in the chunk is read where it is; only one split across chunks is gathered.
      if (this.#headLength === 0 && n - i >= FRAME_HEADER_BYTES) {
        this.#skip = readFrameLength(chunk, i);
        const kind = chunk[i + 4]!;
        i += FRAME_HEADER_BYTES;
        this.#frame(kind, 0, undefined);
        continue;
      }
      while (this.#headLength < FRAME_HEADER_BYTES && i < n) this.#head[this.#headLength++] = chunk[i++]!;
      if (this.#headLength < FRAME_HEADER_BYTES) return;
      this.#headLength = 0;
      this.#skip = readFrameLength(this.#head, 0);
      this.#frame(this.#head[4]!, 0, undefined);
    }
  }

  /** A frame of `kind`: a prefix is remembered, a value counted (with its value when decoded), a control frame ignored. */
  #frame(kind: number, prefixId: number, value: unknown): void {
    if (kind >= FrameKind.PING) return;
    if (kind >= FrameKind.REQUEST) {
      this.#prefix = PREFIX_KINDS[kind - FrameKind.REQUEST]!;
      this.#prefixId = prefixId;
      return;
    }
    const prefix = this.#prefix;
    this.#prefix = null;
    this.#trace.value(this.#direction, prefix ?? 'data', prefix === null ? 0 : this.#prefixId, value);
  }

  readonly #onFrame = (kind: number, source: Uint8Array, start: number, end: number, owned: boolean): void => {
    if (kind >= FrameKind.REQUEST && kind < FrameKind.PING) {
      this.#frame(kind, readU32(source, start), undefined);
      return;
    }
    // Past what a record lists, a value is only counted: decoding it would be wasted.
    const decode = kind < FrameKind.REQUEST && (this.#prefix !== null || this.#trace.wantsValue(this.#direction));
    this.#frame(kind, 0, decode ? this.#value(kind, source, start, end, owned) : undefined);
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
