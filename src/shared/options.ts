/**
 * The options of §2, their defaults, and the argument checks every entry point
 * shares (Node, main, page). A wrong argument throws ERR_DATASOCKET_INVALID_ARGUMENT
 * at the call, never later.
 *
 * Runs in Node and in the page: no Node or DOM imports.
 */
import { invalidArgument } from './errors.js';
import { MAX_FRAME_LIMIT } from './protocol.js';
import { checkSchema, type StandardSchemaV1 } from './standard-schema.js';

/** Options of `connect` and `listen`; a listener's apply to every connection it accepts. */
export interface DataSocketOptions<Tls = never, Schema extends StandardSchemaV1 | undefined = StandardSchemaV1 | undefined> {
  /** Largest value, encoded, that may be sent or received. Default 64 MiB. */
  maxFrameBytes?: number;
  /** `send()` throws ERR_DATASOCKET_BUFFER_FULL rather than queue more than this. Default 256 MiB. */
  maxBufferedBytes?: number;
  /** `send()` returns false once this many bytes are queued. Default 1 MiB. */
  highWaterMark?: number;
  /** From `connect()` to the listener's verdict (and, listening, for each incoming handshake). Default 10 s. */
  handshakeTimeoutMs?: number;
  /** How long a listener's acceptor may take to answer. Default 5 s. */
  acceptTimeoutMs?: number;
  /**
   * Liveness: after this long without receiving anything, send a ping; after twice
   * this long, fail with ERR_DATASOCKET_TIMEOUT (a frozen or unreachable peer).
   * 0 turns it off. Default 15 s for TCP, 0 (off) for local sockets.
   */
  keepAliveMs?: number;
  /** A shared secret both sides must hold; proven by challenge–response, never sent. */
  token?: string;
  /** TLS for TCP (node:tls options). Node and Electron main only. */
  tls?: Tls;
  /**
   * Bare names resolve inside this namespace (SPEC §13): `<dir>/<namespace>/<name>.sock`,
   * `\\.\pipe\datasocket-<namespace>-<name>` on Windows; paths and ports are not affected.
   * Default: the DATASOCKET_NAMESPACE environment variable, else none. Node and Electron
   * main only: a page's sockets use main's namespace.
   */
  namespace?: string;
  /**
   * Whether this socket's values may be written to the trace when DATASOCKET_TRACE_VALUES=1
   * (SPEC §13). Default true in Node and Electron main; false in the page, whose sockets
   * main traces by size only unless the page sets it (main then decodes them for the trace).
   */
  traceValues?: boolean;
  /**
   * A Standard Schema v1 validator (zod 4, valibot, arktype…) every received value and
   * incoming request is checked with before delivery; the socket's value type follows it.
   * A value that fails closes that connection with ERR_DATASOCKET_INVALID_VALUE.
   */
  schema?: Schema;
}

/** Options after defaults. */
export interface ResolvedOptions {
  maxFrameBytes: number;
  maxBufferedBytes: number;
  highWaterMark: number;
  handshakeTimeoutMs: number;
  acceptTimeoutMs: number;
  /** undefined: the default of the transport, decided when the connection opens (keepAliveFor). */
  keepAliveMs: number | undefined;
  token: string | undefined;
  /** The `namespace` option as given; undefined: DATASOCKET_NAMESPACE decides when the name is resolved. */
  namespace: string | undefined;
  /** The `traceValues` option as given; undefined: the default of where the socket lives. */
  traceValues: boolean | undefined;
  /** Checks received values; never leaves this process (not part of the bridge's options). */
  schema: StandardSchemaV1 | undefined;
}

export const DEFAULTS: Readonly<ResolvedOptions> = Object.freeze({
  maxFrameBytes: 64 * 1024 * 1024,
  maxBufferedBytes: 256 * 1024 * 1024,
  highWaterMark: 1024 * 1024,
  handshakeTimeoutMs: 10_000,
  acceptTimeoutMs: 5_000,
  keepAliveMs: undefined,
  token: undefined,
  namespace: undefined,
  traceValues: undefined,
  schema: undefined,
});

/** `keepAliveMs` of a TCP connection when none was given; a local socket's is 0 (off). */
export const TCP_KEEP_ALIVE_MS = 15_000;

/** The keep-alive a connection runs with: the option, else the transport's default. */
export function keepAliveFor(options: ResolvedOptions, tcp: boolean): number {
  return options.keepAliveMs ?? (tcp ? TCP_KEEP_ALIVE_MS : 0);
}

const MAX_TIMEOUT_MS = 0x7fff_ffff;
const MAX_TOKEN_LENGTH = 4096;
const KNOWN = new Set(['maxFrameBytes', 'maxBufferedBytes', 'highWaterMark', 'handshakeTimeoutMs', 'acceptTimeoutMs', 'keepAliveMs', 'token', 'tls', 'namespace', 'traceValues', 'schema']);

/** Checks `options` and fills in the defaults. `inNode` is false in the page, which may set neither `tls` nor `namespace`. */
export function resolveOptions(options: unknown, inNode: boolean): ResolvedOptions {
  if (options === undefined || options === null) return { ...DEFAULTS };
  if (typeof options !== 'object' || Array.isArray(options)) throw invalidArgument('options must be an object');
  const o = options as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!KNOWN.has(key)) throw invalidArgument(`unknown option '${key}'`);
  }
  if (o.tls !== undefined && !inNode) throw invalidArgument("the 'tls' option is only available in Node and Electron main");
  if (o.tls !== undefined && (typeof o.tls !== 'object' || o.tls === null)) throw invalidArgument("'tls' must be an object of node:tls options");
  if (o.token !== undefined && (typeof o.token !== 'string' || o.token.length === 0 || o.token.length > MAX_TOKEN_LENGTH)) {
    throw invalidArgument(`'token' must be a non-empty string of at most ${MAX_TOKEN_LENGTH} characters`);
  }
  if (o.namespace !== undefined && !inNode) throw invalidArgument("a page's sockets use main's namespace: the 'namespace' option is only available in Node and Electron main");
  if (o.namespace !== undefined) checkNamespace(o.namespace, "the 'namespace' option");
  if (o.traceValues !== undefined && typeof o.traceValues !== 'boolean') throw invalidArgument(`'traceValues' must be a boolean, not ${describe(o.traceValues)}`);
  return {
    maxFrameBytes: integer(o, 'maxFrameBytes', 1, MAX_FRAME_LIMIT),
    maxBufferedBytes: integer(o, 'maxBufferedBytes', 1, Number.MAX_SAFE_INTEGER),
    highWaterMark: integer(o, 'highWaterMark', 0, Number.MAX_SAFE_INTEGER),
    handshakeTimeoutMs: integer(o, 'handshakeTimeoutMs', 1, MAX_TIMEOUT_MS),
    acceptTimeoutMs: integer(o, 'acceptTimeoutMs', 1, MAX_TIMEOUT_MS),
    keepAliveMs: o.keepAliveMs === undefined ? undefined : integer(o, 'keepAliveMs', 0, MAX_TIMEOUT_MS),
    token: o.token as string | undefined,
    namespace: o.namespace as string | undefined,
    traceValues: o.traceValues as boolean | undefined,
    schema: o.schema === undefined ? undefined : checkSchema(o.schema),
  };
}

function integer(o: Record<string, unknown>, key: keyof ResolvedOptions, min: number, max: number): number {
  const value = o[key];
  if (value === undefined) return DEFAULTS[key] as number;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalidArgument(`'${key}' must be an integer from ${min} to ${max}, not ${describe(value)}`);
  }
  return value;
}

/** A short description of a wrong argument for an error message. */
export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'symbol') return 'a symbol';
  if (Array.isArray(value)) return 'an array';
  return 'an object';
}

/** Where a socket is: a local socket name or path, or a TCP host and port. */
export interface Endpoint {
  name: string;
  port: number | undefined;
  /** The namespace bare names resolve in; undefined: DATASOCKET_NAMESPACE's (Node and main only). */
  namespace?: string | undefined;
}

const MAX_NAME_LENGTH = 1024;

/**
 * Splits the flexible `(name, port?, options?)` arguments and checks their types:
 * `connect('app')`, `connect('app', { token })`, `connect('host', 8080, { token })`.
 * Whether a local name is valid on this OS is for the endpoint resolver in main.
 */
export function parseEndpointArgs(name: unknown, port: unknown, options: unknown, forListen: boolean): { endpoint: Endpoint; options: unknown } {
  if (typeof name !== 'string' || name.length === 0 || name.length > MAX_NAME_LENGTH) {
    throw invalidArgument(`the name must be a non-empty string of at most ${MAX_NAME_LENGTH} characters, not ${describe(name)}`);
  }
  if (name.includes('\0')) throw invalidArgument('the name must not contain a NUL character');
  if (port !== undefined && port !== null && typeof port === 'object' && options === undefined) {
    return { endpoint: { name, port: undefined }, options: port };
  }
  if (port === undefined || port === null) return { endpoint: { name, port: undefined }, options };
  const min = forListen ? 0 : 1;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < min || port > 65535) {
    throw invalidArgument(`the port must be an integer from ${min} to 65535, not ${describe(port)}`);
  }
  return { endpoint: { name, port }, options };
}

const BARE_NAME = /^[A-Za-z0-9._-]{1,100}$/;
const WINDOWS_PIPE = /^\\\\[.?]\\pipe\\[^\\]/i;

/** Throws ERR_DATASOCKET_INVALID_ARGUMENT unless `namespace` is valid as a bare name is; `what` says where it came from. */
export function checkNamespace(namespace: unknown, what: string): string {
  if (typeof namespace !== 'string' || !isBareName(namespace)) {
    throw invalidArgument(`${what} must be a bare name ([A-Za-z0-9._-], 1–100 characters, not '.' or '..'), not ${describe(namespace)}`);
  }
  return namespace;
}

function isBareName(name: string): boolean {
  return BARE_NAME.test(name) && name !== '.' && name !== '..';
}

/** Throws ERR_DATASOCKET_INVALID_ARGUMENT unless `name` is a bare name or a full path (pipe name on Windows). */
export function checkLocalName(name: string, platform: string): 'bare' | 'full' {
  if (isBareName(name)) return 'bare';
  if (platform === 'win32' ? WINDOWS_PIPE.test(name) : name.startsWith('/')) return 'full';
  const full = platform === 'win32' ? 'a full \\\\.\\pipe\\ name' : 'an absolute path';
  throw invalidArgument(`'${name}' is neither a bare name ([A-Za-z0-9._-], 1–100 characters) nor ${full}`);
}
