/**
 * The one error class of electron-datasocket. Every failure a user can see —
 * a thrown argument error, an `error` event, a refused bridge request — is a
 * `DataSocketError` with a stable `code`. Node's own codes (`ECONNREFUSED`,
 * `ENOENT`, `EADDRINUSE`, `EACCES`, …) pass through unchanged.
 *
 * This file runs in Node, in Electron main and in the page: no Node or DOM imports.
 */

/** The codes this library defines (SPEC §7). Node's codes are plain strings beside them. */
export const ErrorCode = {
  /** The peer is not a DataSocket, speaks another version, or sent malformed bytes. */
  PROTOCOL: 'ERR_DATASOCKET_PROTOCOL',
  /** A value is larger than `maxFrameBytes`. */
  FRAME_TOO_LARGE: 'ERR_DATASOCKET_FRAME_TOO_LARGE',
  /** The listener's acceptor refused the connection (false, a throw, a rejection or its timeout). */
  REJECTED: 'ERR_DATASOCKET_REJECTED',
  /** The Electron bridge policy refused the request. */
  NOT_ALLOWED: 'ERR_DATASOCKET_NOT_ALLOWED',
  /** `send()` after `close()` (or after the connection closed). */
  CLOSED: 'ERR_DATASOCKET_CLOSED',
  /** `send()` would queue more than `maxBufferedBytes`. */
  BUFFER_FULL: 'ERR_DATASOCKET_BUFFER_FULL',
  /** A wrong argument: type, name, port, option, or a malformed bridge message. */
  INVALID_ARGUMENT: 'ERR_DATASOCKET_INVALID_ARGUMENT',
  /** The value holds a function or a Symbol (or cannot be serialized for another reason). */
  UNSERIALIZABLE: 'ERR_DATASOCKET_UNSERIALIZABLE',
  /** Token missing on one side, or different on the two sides. */
  AUTH_FAILED: 'ERR_DATASOCKET_AUTH_FAILED',
  /** Connecting or the handshake took longer than `handshakeTimeoutMs`; a request got no reply by its deadline; a peer went silent (keepAliveMs). */
  TIMEOUT: 'ERR_DATASOCKET_TIMEOUT',
  /** A request reached a peer with no `request` handler. */
  NO_HANDLER: 'ERR_DATASOCKET_NO_HANDLER',
  /** The peer's `request` handler threw or its Promise rejected; the remote error is the `cause`. */
  REMOTE: 'ERR_DATASOCKET_REMOTE',
  /** A received value failed the `schema` option (the issues are in the message). */
  INVALID_VALUE: 'ERR_DATASOCKET_INVALID_VALUE',
} as const;

/** One of the codes this library defines. */
export type DataSocketErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Extra fields an OS error carries, kept as Node gives them. */
export interface ErrorDetails {
  syscall?: string;
  address?: string;
  port?: number;
  cause?: unknown;
}

/** An error as plain data, for crossing IPC (errors never cross as thrown objects). */
export interface PlainError {
  code: string;
  message: string;
  syscall?: string;
  address?: string;
  port?: number;
}

/** The error every part of electron-datasocket throws or emits; `code` says what happened. */
export class DataSocketError extends Error {
  /** A code of {@link ErrorCode}, or Node's own code (`ECONNREFUSED`, `ENOENT`, …). */
  readonly code: DataSocketErrorCode | (string & {});
  /** For OS errors: the failing system call, as Node reports it. */
  readonly syscall?: string;
  /** For OS errors: the address involved, as Node reports it. */
  readonly address?: string;
  /** For OS errors: the port involved, as Node reports it. */
  readonly port?: number;

  constructor(code: DataSocketErrorCode | (string & {}), message: string, details: ErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'DataSocketError';
    this.code = code;
    if (details.syscall !== undefined) this.syscall = details.syscall;
    if (details.address !== undefined) this.address = details.address;
    if (details.port !== undefined) this.port = details.port;
  }
}

/** Turns an error into plain data that survives structured cloning. */
export function toPlainError(error: DataSocketError): PlainError {
  const plain: PlainError = { code: error.code, message: error.message };
  if (error.syscall !== undefined) plain.syscall = error.syscall;
  if (error.address !== undefined) plain.address = error.address;
  if (error.port !== undefined) plain.port = error.port;
  return plain;
}

/** Rebuilds a `DataSocketError` from its plain form. */
export function fromPlainError(plain: PlainError): DataSocketError {
  return new DataSocketError(plain.code, plain.message, plain);
}

/**
 * Wraps anything thrown by Node or by user code into a `DataSocketError`,
 * keeping a Node error's `code`, `syscall`, `address` and `port`.
 */
export function asDataSocketError(error: unknown, fallbackCode: DataSocketErrorCode): DataSocketError {
  if (error instanceof DataSocketError) return error;
  if (error instanceof Error) {
    const e = error as Error & { code?: unknown; syscall?: unknown; address?: unknown; port?: unknown };
    const code = typeof e.code === 'string' && e.code !== '' ? e.code : fallbackCode;
    return new DataSocketError(code, e.message, {
      syscall: typeof e.syscall === 'string' ? e.syscall : undefined,
      address: typeof e.address === 'string' ? e.address : undefined,
      port: typeof e.port === 'number' ? e.port : undefined,
      cause: error,
    });
  }
  return new DataSocketError(fallbackCode, String(error), { cause: error });
}

/** Shorthand for the most common throw: a wrong argument. */
export function invalidArgument(message: string): DataSocketError {
  return new DataSocketError(ErrorCode.INVALID_ARGUMENT, message);
}
