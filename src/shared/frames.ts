/**
 * Frames in and out: batching outgoing frames into few large writes, and
 * splitting an incoming byte stream into frames with the size cap checked on
 * the header, before a single byte of the body is allocated.
 *
 * Runs in Node and in the page: no Node or DOM imports.
 */
import { DataSocketError, ErrorCode } from './errors.js';
import { FRAME_HEADER_BYTES, FrameKind, PREFIX_BODY_BYTES, elementBytes, hexByte, isControlKind, isKnownKind, isPrefixKind, readFrameLength, writeFrameHeader } from './protocol.js';

const EMPTY = new Uint8Array(0);
const NO_SLABS: readonly Uint8Array[] = Object.freeze([]);
/** Slabs start small (an idle socket holds little) and double as traffic fills them. */
const MIN_SLAB_BYTES = 64 * 1024;
const MAX_SLAB_BYTES = 1024 * 1024;
/** Frames above this size get their own buffer instead of a slab's tail. */
const OWN_BUFFER_BYTES = MAX_SLAB_BYTES / 4;
/** Slabs kept for reuse once their bytes reached the OS. */
const MAX_FREE_SLABS = 2;
/** How long a large frame's buffer is kept, once its bytes reached the OS, for the next large frame. */
const SPARE_KEEP_MS = 1_000;

/**
 * One large frame buffer (process-wide), kept a moment after its bytes reached the OS:
 * copying a large value into memory already touched is several times quicker than into
 * fresh memory, whose pages fault in on the first write. Dropped after SPARE_KEEP_MS
 * unused, so a burst of large values does not pin that memory for good.
 */
let spare: Uint8Array | null = null;
let spareTimer: ReturnType<typeof setTimeout> | undefined;

function keepSpare(buffer: Uint8Array): void {
  if (spare !== null && spare.length >= buffer.length) return;
  spare = buffer;
  clearTimeout(spareTimer);
  spareTimer = setTimeout(() => {
    spare = null;
  }, SPARE_KEEP_MS);
  // In Node, a kept buffer must not keep the process alive.
  (spareTimer as { unref?: () => void }).unref?.();
}

/** A buffer for a large frame of `size` bytes: the spare if it fits without wasting more than half, else a fresh one. */
function largeBuffer(size: number): Uint8Array {
  const kept = spare;
  if (kept !== null && kept.length >= size && kept.length <= size * 2) {
    spare = null;
    return kept;
  }
  return allocateBody(size);
}

/** What `take()` hands out: the bytes, and the slabs to give back with `recycle()` once those bytes were sent. */
export interface Batch {
  chunks: Uint8Array[];
  retired: readonly Uint8Array[];
}

/**
 * Collects frames between two flushes. Frames are copied into slabs (a send is a
 * snapshot: the caller may change its value at once), and `take()` hands out the
 * bytes written since the last take. A slab region once taken is never written
 * again until the slab is recycled, which happens only after every batch that
 * used it was reported sent; so in a steady stream nothing is allocated per send.
 */
export class FrameWriter {
  // Allocated on the first append: listeners and idle sockets never pay for a slab.
  private _slab: Uint8Array = EMPTY;
  private _start = 0;
  private _pos = 0;
  private _closed: Uint8Array[] = [];
  private _retired: Uint8Array[] = [];
  private _free: Uint8Array[] = [];
  private _nextSlabBytes = MIN_SLAB_BYTES;
  /** Bytes of frames appended and not yet taken. */
  pendingBytes = 0;
  /** Number of frames appended and not yet taken. */
  pendingCount = 0;
  /** The body of a REQUEST, REPLY or FAILURE frame, rewritten for each. */
  private readonly _prefixBody = new Uint8Array(4);

  /** Appends one frame whose body is `source[start..end)`; it is copied, so the caller may reuse it at once. */
  append(kind: number, source: Uint8Array, start = 0, end = source.length): void {
    const n = end - start;
    const total = FRAME_HEADER_BYTES + n;
    if (total > this._slab.length - this._pos) {
      this._closeRegion();
      if (total > OWN_BUFFER_BYTES) {
        // Filled completely below, so never zero-filled first; given back through `recycle` once sent.
        const buffer = largeBuffer(total);
        const own = buffer.length === total ? buffer : buffer.subarray(0, total);
        writeFrameHeader(own, 0, n, kind);
        own.set(source.subarray(start, end), FRAME_HEADER_BYTES);
        this._closed.push(own);
        this._retired.push(buffer);
        this.pendingBytes += total;
        this.pendingCount++;
        return;
      }
      this._nextSlab(total);
    }
    const slab = this._slab;
    const pos = this._pos;
    writeFrameHeader(slab, pos, n, kind);
    if (n <= 64) {
      // TypedArray.prototype.set (and the view it needs) costs more than the copy itself for the small bodies that dominate.
      const at = pos + FRAME_HEADER_BYTES - start;
      for (let i = start; i < end; i++) slab[at + i] = source[i]!;
    } else {
      slab.set(source.subarray(start, end), pos + FRAME_HEADER_BYTES);
    }
    this._pos = pos + total;
    this.pendingBytes += total;
    this.pendingCount++;
  }

  /** Appends an END frame; it is not a message, so `pendingCount` does not change. */
  appendEnd(): void {
    this.appendControl(FrameKind.END);
  }

  /**
   * Appends a REQUEST, REPLY or FAILURE frame for request `id` (its value frame must follow
   * at once). Neither it nor that value is a message of `send()`: the caller takes the value
   * off `pendingCount` too.
   */
  appendPrefix(kind: number, id: number): void {
    const body = this._prefixBody;
    body[0] = id >>> 24;
    body[1] = (id >>> 16) & 0xff;
    body[2] = (id >>> 8) & 0xff;
    body[3] = id & 0xff;
    this.append(kind, body);
    this.pendingCount--;
  }

  /** Appends an empty frame of `kind` (PING, PONG, END): not a message, so `pendingCount` does not change. */
  appendControl(kind: number): void {
    this.append(kind, EMPTY);
    this.pendingCount--;
  }

  /** Hands out every pending byte, in order, as one or more chunks; then nothing is pending. */
  take(): Batch {
    this._closeRegion();
    const batch: Batch = { chunks: this._closed, retired: this._retired.length === 0 ? NO_SLABS : this._retired };
    this._closed = [];
    if (this._retired.length !== 0) this._retired = [];
    this.pendingBytes = 0;
    this.pendingCount = 0;
    return batch;
  }

  /** Takes back slabs (and large frames' buffers) of a batch whose bytes all reached the OS. */
  recycle(slabs: readonly Uint8Array[]): void {
    for (const slab of slabs) {
      if (slab.length > MAX_SLAB_BYTES) keepSpare(slab);
      else if (this._free.length < MAX_FREE_SLABS) this._free.push(slab);
    }
  }

  /** Forgets every pending frame (used when a connection aborts). */
  clear(): void {
    this._closed = [];
    this._retired = [];
    this._free = [];
    this._start = this._pos;
    this.pendingBytes = 0;
    this.pendingCount = 0;
  }

  private _nextSlab(atLeast: number): void {
    if (this._slab !== EMPTY) this._retired.push(this._slab);
    let slab = this._free.pop();
    if (slab === undefined || slab.length < atLeast) {
      const size = Math.min(MAX_SLAB_BYTES, Math.max(this._nextSlabBytes, atLeast * 4));
      slab = new Uint8Array(size);
      this._nextSlabBytes = Math.min(MAX_SLAB_BYTES, size * 2);
    }
    this._slab = slab;
    this._start = this._pos = 0;
  }

  private _closeRegion(): void {
    if (this._pos > this._start) {
      this._closed.push(this._slab.subarray(this._start, this._pos));
      this._start = this._pos;
    }
  }
}

type UnsafeAllocator = (size: number) => Uint8Array;
const nodeAllocUnsafeSlow = (globalThis as { Buffer?: { allocUnsafeSlow?: UnsafeAllocator } }).Buffer?.allocUnsafeSlow;

/**
 * A fresh buffer of exactly `size` bytes, for a body that is about to be filled
 * completely. In Node that skips zero-filling it first (a large value would
 * otherwise be written twice); the result is a plain Uint8Array with its own
 * ArrayBuffer either way.
 */
function allocateBody(size: number): Uint8Array {
  if (nodeAllocUnsafeSlow === undefined) return new Uint8Array(size);
  const buffer = nodeAllocUnsafeSlow(size);
  return new Uint8Array(buffer.buffer, buffer.byteOffset, size);
}

/** Receives one frame: its kind and body `source[start..end)`; `owned` if `source` is a fresh buffer holding exactly this body. */
export type FrameHandler = (kind: number, source: Uint8Array, start: number, end: number, owned: boolean) => void;

/**
 * Splits a byte stream into frames. Each header is checked (known kind, length
 * within `maxFrameBytes`, whole elements for typed arrays) before anything is
 * allocated for its body; a bad one throws ERR_DATASOCKET_PROTOCOL.
 * Bodies wholly inside one chunk are handed out as ranges of that chunk.
 */
export class FrameReader {
  private readonly _maxFrameBytes: number;
  private readonly _onFrame: FrameHandler;
  private readonly _head = new Uint8Array(FRAME_HEADER_BYTES);
  private _headLength = 0;
  private _body: Uint8Array | null = null;
  private _bodyPos = 0;
  private _bodyKind = 0;
  private _stopped = false;

  constructor(maxFrameBytes: number, onFrame: FrameHandler) {
    this._maxFrameBytes = maxFrameBytes;
    this._onFrame = onFrame;
  }

  /** Whether part of a frame has been read and its rest has not. */
  get midFrame(): boolean {
    return this._headLength > 0 || this._body !== null;
  }

  /** Makes every later `push` a no-op, and ends the current one after the frame being handled. */
  stop(): void {
    this._stopped = true;
    this._body = null;
    this._headLength = 0;
  }

  /** Feeds the next bytes of the stream. */
  push(chunk: Uint8Array): void {
    if (this._stopped) return;
    const n = chunk.length;
    let i = 0;
    if (this._body !== null) {
      i = this._continueBody(chunk);
      if (i === -1 || this._stopped) return;
    }
    if (this._headLength > 0) {
      const want = FRAME_HEADER_BYTES - this._headLength;
      const take = Math.min(want, n - i);
      this._head.set(chunk.subarray(i, i + take), this._headLength);
      this._headLength += take;
      i += take;
      if (this._headLength < FRAME_HEADER_BYTES) return;
      this._headLength = 0;
      const length = readFrameLength(this._head, 0);
      const kind = this._head[4]!;
      checkHeader(length, kind, this._maxFrameBytes);
      if (i + length <= n) {
        this._onFrame(kind, chunk, i, i + length, false);
        i += length;
        if (this._stopped) return;
      } else {
        this._startBody(kind, length, chunk, i);
        return;
      }
    }
    while (n - i >= FRAME_HEADER_BYTES) {
      const length = readFrameLength(chunk, i);
      const kind = chunk[i + 4]!;
      checkHeader(length, kind, this._maxFrameBytes);
      const start = i + FRAME_HEADER_BYTES;
      const end = start + length;
      if (end > n) {
        this._startBody(kind, length, chunk, start);
        return;
      }
      this._onFrame(kind, chunk, start, end, false);
      if (this._stopped) return;
      i = end;
    }
    if (i < n) {
      this._head.set(chunk.subarray(i, n), 0);
      this._headLength = n - i;
    }
  }

  private _startBody(kind: number, length: number, chunk: Uint8Array, from: number): void {
    const body = allocateBody(length);
    body.set(chunk.subarray(from), 0);
    this._body = body;
    this._bodyPos = chunk.length - from;
    this._bodyKind = kind;
  }

  /** Returns where the rest of `chunk` starts once the body is whole, or -1 if it still is not. */
  private _continueBody(chunk: Uint8Array): number {
    const body = this._body!;
    const take = Math.min(body.length - this._bodyPos, chunk.length);
    body.set(take === chunk.length ? chunk : chunk.subarray(0, take), this._bodyPos);
    this._bodyPos += take;
    if (this._bodyPos < body.length) return -1;
    this._body = null;
    this._onFrame(this._bodyKind, body, 0, body.length, true);
    return take;
  }
}

/**
 * Walks frame headers in a byte stream without keeping any body: for relaying
 * bytes that must be checked but never decoded. `peerPings`: whether the peer
 * the bytes go to set PINGS in its HELLO; if not, a PING is refused like an unknown
 * kind. A PONG passes either way: it answers the peer's own PING, so that peer knows it.
 * `peerRequests`: whether that peer set REQUESTS; if not, REQUEST, REPLY and FAILURE
 * are refused. A prefix must be followed by a value frame, in the same stretch of bytes.
 */
export class FrameScanner {
  private readonly _maxFrameBytes: number;
  private readonly _peerPings: boolean;
  private readonly _peerRequests: boolean;
  /** The last frame was a prefix: a value frame must come next. */
  private _afterPrefix = false;
  private readonly _head = new Uint8Array(FRAME_HEADER_BYTES);
  private _headLength = 0;
  private _skip = 0;

  constructor(maxFrameBytes: number, peerPings: boolean, peerRequests: boolean) {
    this._maxFrameBytes = maxFrameBytes;
    this._peerPings = peerPings;
    this._peerRequests = peerRequests;
  }

  /** Whether the stream stops inside a frame, or between a prefix and its value. */
  get midFrame(): boolean {
    return this._headLength > 0 || this._skip > 0 || this._afterPrefix;
  }

  /** Checks the headers in `chunk`. Throws ERR_DATASOCKET_PROTOCOL on a bad header. */
  scan(chunk: Uint8Array): void {
    const n = chunk.length;
    let i = 0;
    for (;;) {
      if (this._skip > 0) {
        const take = Math.min(this._skip, n - i);
        this._skip -= take;
        i += take;
        if (this._skip > 0) return;
      }
      if (i === n) return;
      let length: number;
      let kind: number;
      if (this._headLength === 0 && n - i >= FRAME_HEADER_BYTES) {
        length = readFrameLength(chunk, i);
        kind = chunk[i + 4]!;
        i += FRAME_HEADER_BYTES;
      } else {
        const take = Math.min(FRAME_HEADER_BYTES - this._headLength, n - i);
        this._head.set(chunk.subarray(i, i + take), this._headLength);
        this._headLength += take;
        i += take;
        if (this._headLength < FRAME_HEADER_BYTES) return;
        this._headLength = 0;
        length = readFrameLength(this._head, 0);
        kind = this._head[4]!;
      }
      checkHeader(length, kind, this._maxFrameBytes);
      if (kind === FrameKind.PING && !this._peerPings) throw protocolError('a PING for a peer that did not set PINGS in its HELLO');
      if (isPrefixKind(kind)) {
        if (!this._peerRequests) throw protocolError('a request frame for a peer that did not set REQUESTS in its HELLO');
        if (this._afterPrefix) throw protocolError('a request frame right after another: a value frame must come between');
        this._afterPrefix = true;
      } else if (this._afterPrefix) {
        if (isControlKind(kind)) throw protocolError(`a frame of kind ${hexByte(kind)} right after a request frame: its value must come first`);
        this._afterPrefix = false;
      }
      this._skip = length;
    }
  }
}

/** Checks a frame header before anything is allocated for its body. */
function checkHeader(length: number, kind: number, maxFrameBytes: number): void {
  if (!isKnownKind(kind)) throw protocolError(`unknown frame kind ${hexByte(kind)}`);
  if (length > maxFrameBytes) throw protocolError(`a frame of ${length} bytes was announced, above maxFrameBytes (${maxFrameBytes})`);
  if (length % elementBytes(kind) !== 0 || (isControlKind(kind) && length !== 0) || (isPrefixKind(kind) && length !== PREFIX_BODY_BYTES)) {
    throw protocolError(`a frame of kind ${kind} cannot have ${length} bytes`);
  }
}

function protocolError(message: string): DataSocketError {
  return new DataSocketError(ErrorCode.PROTOCOL, message);
}
