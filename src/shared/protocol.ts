/**
 * Every byte of the DataSocket wire protocol, version 1 — the code form of
 * PROTOCOL.md. Change one, change the other (a test checks PROTOCOL.md's
 * test vectors against these functions).
 *
 * Runs in Node and in the page: no Node or DOM imports.
 */

/** First bytes of every HELLO: 0x89 'D' 'S' 'K'. The high byte catches 7-bit and text peers early. */
export const MAGIC = Uint8Array.of(0x89, 0x44, 0x53, 0x4b);
/** The protocol version this implementation speaks. */
export const PROTOCOL_VERSION = 1;
/** Codec 1: msgpackr, structured clone + sequential records, one value per frame (PROTOCOL.md §Values). */
export const CODEC_MSGPACKR_V1 = 1;

export const HELLO_BYTES = 24;
export const NONCE_BYTES = 16;
export const AUTH_PROOF_BYTES = 32;
export const VERDICT_BYTES = 2;

/** HELLO flag bits. */
export const HelloFlag = {
  /** The sender has a token and will send an AUTH proof. */
  TOKEN: 0x01,
  /** The sender is the listening side. */
  LISTENER: 0x02,
  /** The sender answers a PING frame with a PONG: the peer may ping it (keep-alive, PROTOCOL.md §4.7). */
  PINGS: 0x04,
  /** The sender takes requests (REQUEST, REPLY and FAILURE frames, PROTOCOL.md §4.8). */
  REQUESTS: 0x08,
} as const;

/** The HELLO flag bits this side knows; any other bit set is a protocol error. */
export const KNOWN_HELLO_FLAGS = HelloFlag.TOKEN | HelloFlag.LISTENER | HelloFlag.PINGS | HelloFlag.REQUESTS;

/** VERDICT: tag byte 'V' then one status byte. */
export const VERDICT_TAG = 0x56;
export const Verdict = {
  ACCEPTED: 0,
  REJECTED: 1,
  AUTH_FAILED: 2,
  PROTOCOL: 3,
} as const;
export type VerdictStatus = (typeof Verdict)[keyof typeof Verdict];

/** The label mixed into every AUTH proof, so a proof is useless for any other protocol. */
export const AUTH_LABEL = 'electron-datasocket auth v1';

/** Frame header: u32 big-endian body length, then one kind byte. */
export const FRAME_HEADER_BYTES = 5;
/** The largest body length a u32 can announce; `maxFrameBytes` may not exceed it. */
export const MAX_FRAME_LIMIT = 0xffff_ffff;

/**
 * Frame kinds. VALUE carries one msgpackr value; the binary kinds carry the raw
 * bytes of one top-level binary value (little-endian elements), so large byte
 * arrays are never re-encoded; END says the sender closed on purpose. PING asks
 * a peer whose HELLO had the PINGS flag for a PONG; both are empty and carry no value.
 */
export const FrameKind = {
  VALUE: 0x00,
  UINT8ARRAY: 0x01,
  ARRAYBUFFER: 0x02,
  INT8ARRAY: 0x03,
  UINT8CLAMPEDARRAY: 0x04,
  INT16ARRAY: 0x05,
  UINT16ARRAY: 0x06,
  INT32ARRAY: 0x07,
  UINT32ARRAY: 0x08,
  FLOAT32ARRAY: 0x09,
  FLOAT64ARRAY: 0x0a,
  BIGINT64ARRAY: 0x0b,
  BIGUINT64ARRAY: 0x0c,
  DATAVIEW: 0x0d,
  /** Prefix: the value frame right after it is request `id` (u32 body). */
  REQUEST: 0x70,
  /** Prefix: the value frame right after it answers request `id`. */
  REPLY: 0x71,
  /** Prefix: request `id` failed; the VALUE frame right after it says how ({ code, name, message }). */
  FAILURE: 0x72,
  PING: 0x7d,
  PONG: 0x7e,
  END: 0x7f,
} as const;

/**
 * The msgpack extension types of a VALUE body (PROTOCOL.md §5.4). Every other
 * type, msgpackr's bundled strings (0x62) included, is a protocol error.
 */
export const ExtType = {
  UNDEFINED: 0x00,
  BIGINT: 0x42,
  ERROR: 0x65,
  /** Prefix: gives the next value a reference id. */
  ID: 0x69,
  /** A reference to the value carrying that id, earlier in the frame. */
  POINTER: 0x70,
  /** Record definition (`d4 72 <slot>`); `d5 72` is not part of version 1. */
  RECORD: 0x72,
  SET: 0x73,
  TYPED_ARRAY: 0x74,
  REGEXP: 0x78,
  DATE: 0xff,
} as const;

/** Record slots, ids 0x40–0x7f: a reference byte's low six bits. */
export const RECORD_SLOTS = 64;

/**
 * A record key list whose encoding (array header and keys, as they stand in the
 * frame) is longer than this is single-use: it defines its slot for that one
 * object only, and the slot is empty again at the end of the frame. So the
 * record table a receiver keeps between frames holds at most
 * RECORD_SLOTS × RECORD_KEEP_BYTES bytes of key lists.
 */
export const RECORD_KEEP_BYTES = 1024;

/**
 * How deep a value may nest: arrays, maps and records (a Set, an Error or a
 * RegExp counts by the array it carries). The sender refuses a deeper value
 * with ERR_DATASOCKET_UNSERIALIZABLE, the receiver with ERR_DATASOCKET_PROTOCOL.
 */
export const MAX_NESTING = 500;

/** The highest binary kind; kinds 0x0e–0x6f, 0x73–0x7c and 0x80–0xff are unassigned (a protocol error). */
export const LAST_BINARY_KIND = FrameKind.DATAVIEW;

/** Whether a kind byte is one a v1 peer may send. */
export function isKnownKind(kind: number): boolean {
  return kind <= LAST_BINARY_KIND || isControlKind(kind) || isPrefixKind(kind);
}

/** Body bytes of a REQUEST, REPLY or FAILURE frame: the request id, u32 big-endian. */
export const PREFIX_BODY_BYTES = 4;

/** Whether a kind is a prefix (REQUEST, REPLY, FAILURE): a request id, and the next frame is its value. */
export function isPrefixKind(kind: number): boolean {
  return kind >= FrameKind.REQUEST && kind <= FrameKind.FAILURE;
}

/** The largest request id; ids count up from 1 per direction and wrap to 1 after it. */
export const MAX_REQUEST_ID = 0xffff_ffff;

/** Whether a kind is one of the empty frames that carry no value: PING, PONG, END. */
export function isControlKind(kind: number): boolean {
  return kind >= FrameKind.PING && kind <= FrameKind.END;
}

/** Element size of each binary kind: a body whose length is not a multiple is a protocol error. */
export function elementBytes(kind: number): number {
  switch (kind) {
    case FrameKind.INT16ARRAY:
    case FrameKind.UINT16ARRAY:
      return 2;
    case FrameKind.INT32ARRAY:
    case FrameKind.UINT32ARRAY:
    case FrameKind.FLOAT32ARRAY:
      return 4;
    case FrameKind.FLOAT64ARRAY:
    case FrameKind.BIGINT64ARRAY:
    case FrameKind.BIGUINT64ARRAY:
      return 8;
    default:
      return 1;
  }
}

/** Writes a frame header at `offset` of `target`. */
export function writeFrameHeader(target: Uint8Array, offset: number, bodyLength: number, kind: number): void {
  target[offset] = bodyLength >>> 24;
  target[offset + 1] = (bodyLength >>> 16) & 0xff;
  target[offset + 2] = (bodyLength >>> 8) & 0xff;
  target[offset + 3] = bodyLength & 0xff;
  target[offset + 4] = kind;
}

/** Reads the body length of the frame header at `offset`. */
export function readFrameLength(source: Uint8Array, offset: number): number {
  return readU32(source, offset);
}

/** A u32, big-endian, at `offset` (a frame's length, a request id). */
export function readU32(source: Uint8Array, offset: number): number {
  return ((source[offset]! << 24) | (source[offset + 1]! << 16) | (source[offset + 2]! << 8) | source[offset + 3]!) >>> 0;
}

/** The parsed fields of a HELLO. */
export interface Hello {
  version: number;
  codec: number;
  flags: number;
  reserved: number;
  nonce: Uint8Array;
}

/** Builds a HELLO: magic, version, codec, flags, a reserved zero byte, 16 nonce bytes. */
export function encodeHello(flags: number, nonce: Uint8Array): Uint8Array {
  if (nonce.length !== NONCE_BYTES) throw new RangeError(`a nonce has ${NONCE_BYTES} bytes`);
  const hello = new Uint8Array(HELLO_BYTES);
  hello.set(MAGIC, 0);
  hello[4] = PROTOCOL_VERSION;
  hello[5] = CODEC_MSGPACKR_V1;
  hello[6] = flags;
  hello[7] = 0;
  hello.set(nonce, 8);
  return hello;
}

/** Whether `bytes` (possibly fewer than 4) can still be the start of a HELLO. */
export function startsLikeHello(bytes: Uint8Array): boolean {
  const n = Math.min(bytes.length, MAGIC.length);
  for (let i = 0; i < n; i++) if (bytes[i] !== MAGIC[i]) return false;
  return true;
}

/** Parses the first HELLO_BYTES of `bytes`; the caller checks the magic first with startsLikeHello. */
export function decodeHello(bytes: Uint8Array): Hello {
  return {
    version: bytes[4]!,
    codec: bytes[5]!,
    flags: bytes[6]!,
    reserved: bytes[7]!,
    nonce: bytes.slice(8, 8 + NONCE_BYTES),
  };
}

/**
 * The message an AUTH proof is the HMAC-SHA256 of, keyed by the token:
 * the label, the prover's role byte ('C' client, 'S' listener), the prover's
 * nonce, then the other side's nonce.
 */
export function authMessage(proverIsListener: boolean, proverNonce: Uint8Array, otherNonce: Uint8Array): Uint8Array {
  const label = new TextEncoder().encode(AUTH_LABEL);
  const message = new Uint8Array(label.length + 1 + NONCE_BYTES * 2);
  message.set(label, 0);
  message[label.length] = proverIsListener ? 0x53 : 0x43;
  message.set(proverNonce, label.length + 1);
  message.set(otherNonce, label.length + 1 + NONCE_BYTES);
  return message;
}

/** Builds a VERDICT. */
export function encodeVerdict(status: VerdictStatus): Uint8Array {
  return Uint8Array.of(VERDICT_TAG, status);
}

/** A wire byte as error messages and PROTOCOL.md write it: `0x0a`. */
export function hexByte(byte: number): string {
  return `0x${byte.toString(16).padStart(2, '0')}`;
}
