/**
 * The command line of the `datasocket` CLI (SPEC §8; trace, §13): what it accepts, its help
 * text, and the usage errors (exit code 2) for anything else. Pure: no I/O, so
 * every rule here is checked without starting a process.
 */
import { parseArgs } from 'node:util';

/** What the CLI was asked to do. */
export type CliCommandName = 'listen' | 'connect' | 'send' | 'request' | 'join';

/** A command line that passed every check. */
export interface CliCommand {
  command: CliCommandName;
  /** A bare name or a path for a local socket; with `port`, the host to connect to or the address to bind. */
  name: string;
  port: number | undefined;
  /** `send` and `request`: the value to send, as given (JSON, else a string). */
  value: string | undefined;
  /** From `--token`, else from the DATASOCKET_TOKEN environment variable. */
  token: string | undefined;
  /** `--timeout`: the handshake timeout in milliseconds. */
  timeoutMs: number | undefined;
  /** request: `--request-timeout`, how long to wait for the reply in milliseconds (else the library's 30 s). */
  requestTimeoutMs: number | undefined;
  /** listen, connect, join: `--reply`, the value every request is answered with, as given; without it requests are echoed. */
  reply: string | undefined;
  /** listen: certificate and key files; both or neither. */
  tlsCert: string | undefined;
  tlsKey: string | undefined;
  /** connect, send, request: the CA file that must have signed the listener's certificate. */
  tlsCa: string | undefined;
  /** connect, send, request: TLS, checking the certificate against the system's CAs (or `tlsCa`). */
  tls: boolean;
  /** connect, send, request: TLS without checking the certificate; for testing only. */
  tlsInsecure: boolean;
  /** join: elect again when the leader goes (`--no-failover` turns it off). */
  failover: boolean;
}

/** `datasocket trace <dir>`: print the merged trace of a DATASOCKET_TRACE directory (SPEC §13). */
export interface CliTrace {
  dir: string;
  /** `--json`: the merged records as JSON lines instead of the timeline. */
  json: boolean;
}

/** The outcome of reading the command line. */
export type CliRequest = { kind: 'help' } | { kind: 'version' } | { kind: 'run'; command: CliCommand } | { kind: 'trace'; trace: CliTrace };

/** A command line the CLI cannot run; the CLI prints the message and the usage, and exits 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** The short usage printed with every usage error. */
export const USAGE = `Usage:
  datasocket listen  <name> [port]         [options]
  datasocket connect <name> [port]         [options]
  datasocket send    <name> [port] <value> [options]
  datasocket request <name> [port] <value> [options]
  datasocket join    <name> [port]         [options]
  datasocket trace   <dir> [--json]
Run 'datasocket --help' for details.
`;

/** The full help, printed by --help. */
export const HELP = `datasocket — send values between processes over a DataSocket (electron-datasocket)

Usage:
  datasocket listen  <name> [port]         [options]
  datasocket connect <name> [port]         [options]
  datasocket send    <name> [port] <value> [options]
  datasocket request <name> [port] <value> [options]
  datasocket join    <name> [port]         [options]
  datasocket trace   <dir> [--json]

Endpoints:
  <name> alone is a local socket: a bare name ([A-Za-z0-9._-], up to 100
  characters) maps to a socket file in your private socket directory (a named
  pipe on Windows); an absolute path is used as given.
  <name> <port> is TCP: the host to connect to, or the address to bind
  (listen: port 0 picks a free port; the real one is reported on stderr).

Commands:
  listen   Accepts every connection. Prints each value received on any of them
           as one line on stdout, and sends each line of stdin to every open
           connection (a line read while none is open is dropped, with a note on
           stderr). Keeps running after stdin ends; SIGINT or SIGTERM closes the
           connections (flushing what is queued) and exits 0 (a second signal
           exits at once, with 1).
  connect  Connects. Prints each value received as one line on stdout, and sends
           each line of stdin. When stdin ends (or on SIGINT or SIGTERM) it
           closes once everything is sent and exits 0; it also exits 0 when the
           peer closes, and 1 on an error (refused, lost connection, ...).
  send     Connects, sends <value>, and exits 0 once the value was handed to the
           OS and the connection closed. Values sent back are ignored.
           With three arguments after 'send', the middle one is the port.
  request  Connects, sends <value> as a request, prints the reply as one line
           on stdout and exits 0 once the connection closed. A request that
           fails exits 1 with its code and reason on stderr: no reply within
           --request-timeout (ERR_DATASOCKET_TIMEOUT), nobody answering requests
           on the other side (ERR_DATASOCKET_NO_HANDLER), the other side's
           handler failed (ERR_DATASOCKET_REMOTE, with its error), or the
           connection failed or closed first (its own code, such as ENOENT, or
           ERR_DATASOCKET_CLOSED). Values sent back are ignored. Arguments as
           for send.
  join     Joins the instances meeting at <name> (connectOrListen): the first
           leads (listens), the others follow (connect to it); when the leader
           goes, the followers elect a new one. Prints each role change on
           stderr ('leading', 'following', 'electing'), each value received on
           stdout, and sends each line of stdin to every open link (as leader:
           to every follower). With a port, <name> must be an address of this
           machine and the port fixed (not 0). Keeps running after stdin ends;
           SIGINT or SIGTERM leaves and exits 0; an error exits 1.
  trace    Prints the trace in <dir> (written by processes run with
           DATASOCKET_TRACE=<dir>; DATASOCKET_TRACE_VALUES=1 adds the values)
           as one timeline: each socket event of every process, in time order,
           one per line: local time, ms since the first event, pid, socket
           (pid#id), role, endpoint, event and its details. With --json, the
           merged records as JSON lines instead. A directory that cannot be
           read exits 1.

Requests:
  listen, connect and join answer every request they receive (made with
  'datasocket request' or a DataSocket's request()): with the --reply value if
  given, else with the request's own value (an echo). Each request is printed
  on stdout like any value received.

Values:
  Each stdin line, <value> and the --reply value is read as JSON; text that is
  not JSON is sent as that string (so 'hello' sends "hello"). Empty lines are skipped. Each value
  received is printed as one line of JSON. What JSON cannot hold is written with
  a marker, the same way in both directions, so a printed line sent back in
  arrives as the same value:
    {"$binary":"<base64>","type":"Uint8Array"}  bytes; type is Uint8Array (also for
        a Buffer), ArrayBuffer, DataView or another typed array, whose bytes are
        as in memory (little-endian); "type" may be left out for a Uint8Array
    {"$bigint":"123"}   {"$number":"NaN"} (also "Infinity", "-Infinity", "-0")
    {"$undefined":true}   {"$date":"2024-01-01T00:00:00.000Z"} (null: invalid date)
    {"$map":[[key,value],...]}   {"$set":[member,...]}   {"$regexp":"/a+/gi"}
    {"$error":{"name":"TypeError","message":"..."}}
    {"$circular":"/a/b"}   a reference back to an enclosing object, as a JSON
        pointer into the printed line ("" is the whole value)
    {"$object":{...}}   a plain object whose keys would look like a marker
  An object that is not exactly one of these, well-formed, is sent as it is.
  A value starting with '-' goes after '--':  datasocket send app -- -1

Options (anywhere on the line; --opt value or --opt=value):
  --token <secret>     Shared secret; both sides must use the same one. It is
                       proven without being sent. The command line is visible to
                       other users (ps): prefer the DATASOCKET_TOKEN environment
                       variable, used when --token is not given.
  --tls-cert <file>    listen: TLS with this PEM certificate (needs --tls-key).
  --tls-key <file>     listen: the PEM private key of --tls-cert.
  --tls                connect, send, request: TLS, checking the listener's
                       certificate against the system's trusted CAs.
  --tls-ca <file>      connect, send, request: TLS, checking the listener's
                       certificate against this PEM CA certificate instead.
  --tls-insecure       connect, send, request: TLS WITHOUT checking the
                       certificate.
                       For testing only: anyone in between can read and change
                       the traffic.
  --timeout <ms>       Handshake timeout in milliseconds (default 10000).
  --request-timeout <ms>
                       request: how long to wait for the reply, in
                       milliseconds, counted from the start, connecting
                       included (default 30000).
  --reply <value>      listen, connect, join: answer every request with this
                       value (read as a line of stdin is) instead of echoing
                       the request's own value.
  --no-failover        join: when the leader goes, exit (0) instead of electing
                       a new one.
  --json               trace: print the merged records as JSON lines, one per
                       event, ordered by time.
  -h, --help           Show this help.
  -v, --version        Print the version.

Status messages (listening address, connections opened and closed, a
connection that failed its handshake, errors) go to stderr; stdout carries
only values.

Exit codes:
  0  done (stdin ended, the peer closed, a signal, or request got its reply)
  1  connection error, or a request that failed; stderr says why, with its
     code (ECONNREFUSED, ENOENT, ERR_DATASOCKET_AUTH_FAILED,
     ERR_DATASOCKET_NO_HANDLER, ...)
  2  usage error

Examples:
  datasocket listen my-app
  echo '{"hello":"world"}' | datasocket connect my-app
  datasocket listen 127.0.0.1 0 --tls-cert cert.pem --tls-key key.pem
  DATASOCKET_TOKEN=s3cret datasocket send 127.0.0.1 7000 '[1,2,3]'
  datasocket listen my-app --reply '{"ok":true}'
  datasocket request my-app '{"get":"status"}' --request-timeout 2000
  datasocket join my-app        # run it in two or three terminals
  DATASOCKET_TRACE=/tmp/trace node app.js
  datasocket trace /tmp/trace   # what app.js's sockets did, in time order
`;

const OPTIONS = {
  token: { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'tls-ca': { type: 'string' },
  tls: { type: 'boolean' },
  'tls-insecure': { type: 'boolean' },
  timeout: { type: 'string' },
  'request-timeout': { type: 'string' },
  reply: { type: 'string' },
  'no-failover': { type: 'boolean' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} as const;

type OptionName = keyof typeof OPTIONS;

/** Options only one side can use. */
const LISTEN_ONLY: readonly OptionName[] = ['tls-cert', 'tls-key'];
const CLIENT_ONLY: readonly OptionName[] = ['tls', 'tls-ca', 'tls-insecure'];
const TLS: readonly OptionName[] = ['tls-cert', 'tls-key', 'tls', 'tls-ca', 'tls-insecure'];

/**
 * Reads the arguments after `datasocket`. Options may come anywhere; `--` ends
 * them. `env` supplies DATASOCKET_TOKEN. Throws {@link UsageError}.
 */
export function parseCliArgs(argv: readonly string[], env: Readonly<Record<string, string | undefined>> = {}): CliRequest {
  // Not strict: parseArgs' own messages are long and odd; unknown or valueless options are reported here.
  const { values, positionals, tokens } = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: false, tokens: true });
  for (const token of tokens) {
    if (token.kind !== 'option') continue;
    const known = Object.hasOwn(OPTIONS, token.name) ? OPTIONS[token.name as OptionName] : undefined;
    if (known === undefined) {
      const hint = /^-[\d.]/.test(token.rawName) ? " (a value starting with '-' goes after '--')" : '';
      throw new UsageError(`unknown option '${token.rawName}'${hint}`);
    }
    if (known.type === 'string' && token.value === undefined) throw new UsageError(`option '${token.rawName}' needs a value`);
    // `--token --help` is a forgotten value far more often than a token spelled '--help'.
    if (known.type === 'string' && !token.inlineValue && token.value?.startsWith('-')) {
      throw new UsageError(`option '${token.rawName}' needs a value (write ${token.rawName}=${token.value} if that is the value)`);
    }
    if (known.type === 'boolean' && token.inlineValue) throw new UsageError(`option '${token.rawName}' takes no value`);
  }
  if (values.help === true) return { kind: 'help' };
  if (values.version === true) return { kind: 'version' };

  const [command, ...args] = positionals;
  if (command === undefined) throw new UsageError('missing command (listen, connect, send, request, join or trace)');
  const given = (name: OptionName): boolean => values[name] !== undefined;
  if (command === 'trace') return { kind: 'trace', trace: parseTrace(args, given) };
  if (command !== 'listen' && command !== 'connect' && command !== 'send' && command !== 'request' && command !== 'join') {
    throw new UsageError(`unknown command '${command}' (expected listen, connect, send, request, join or trace)`);
  }
  if (given('json')) throw new UsageError("option '--json' is for trace");
  if (command === 'join') {
    // A member is a server and a client in turn: one set of TLS options cannot say both.
    for (const name of TLS) if (given(name)) throw new UsageError(`option '--${name}' is not available with join`);
  } else {
    for (const name of command === 'listen' ? CLIENT_ONLY : LISTEN_ONLY) {
      if (given(name)) throw new UsageError(`option '--${name}' is for ${command === 'listen' ? 'connect, send and request' : 'listen'}`);
    }
    if (given('no-failover')) throw new UsageError("option '--no-failover' is for join");
  }
  // Only a process that stays connected answers requests; only `request` waits for a reply.
  if (given('reply') && (command === 'send' || command === 'request')) throw new UsageError("option '--reply' is for listen, connect and join");
  if (given('request-timeout') && command !== 'request') throw new UsageError("option '--request-timeout' is for request");
  if (given('tls-cert') !== given('tls-key')) throw new UsageError("options '--tls-cert' and '--tls-key' go together");
  if (given('tls-ca') && given('tls-insecure')) throw new UsageError("use either '--tls-ca' or '--tls-insecure', not both");

  let value: string | undefined;
  if (command === 'send' || command === 'request') {
    if (args.length < 2) throw new UsageError(args.length === 0 ? 'missing <name>' : `missing <value> to ${command}`);
    value = args.pop();
  }
  if (args.length === 0) throw new UsageError('missing <name>');
  if (args.length > 2) throw new UsageError(`too many arguments: '${args.slice(2).join(' ')}'`);
  const [name, portText] = args as [string, string | undefined];

  const text = (name: OptionName): string | undefined => values[name] as string | undefined;
  return {
    kind: 'run',
    command: {
      command,
      name,
      port: portText === undefined ? undefined : parsePort(portText, command === 'listen' ? 0 : 1),
      value,
      // An empty variable counts as unset, as shells make it easy to leave one behind.
      token: text('token') ?? (env.DATASOCKET_TOKEN || undefined),
      timeoutMs: given('timeout') ? parseTimeout(text('timeout')!, '--timeout') : undefined,
      requestTimeoutMs: given('request-timeout') ? parseTimeout(text('request-timeout')!, '--request-timeout') : undefined,
      reply: text('reply'),
      tlsCert: text('tls-cert'),
      tlsKey: text('tls-key'),
      tlsCa: text('tls-ca'),
      tls: values.tls === true,
      tlsInsecure: values['tls-insecure'] === true,
      failover: values['no-failover'] !== true,
    },
  };
}

/** `trace <dir> [--json]`: it opens no socket, so no socket option applies. */
function parseTrace(args: readonly string[], given: (name: OptionName) => boolean): CliTrace {
  for (const name of Object.keys(OPTIONS) as OptionName[]) {
    if (name !== 'json' && given(name)) throw new UsageError(`option '--${name}' is not available with trace`);
  }
  if (args.length === 0) throw new UsageError('missing <dir> to trace');
  if (args.length > 1) throw new UsageError(`too many arguments: '${args.slice(1).join(' ')}'`);
  return { dir: args[0]!, json: given('json') };
}

function parsePort(text: string, min: number): number {
  const port = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(port >= min && port <= 65535)) throw new UsageError(`bad port '${text}': expected an integer from ${min} to 65535`);
  return port;
}

function parseTimeout(text: string, option: string): number {
  const ms = /^\d{1,10}$/.test(text) ? Number(text) : NaN;
  if (!(ms >= 1 && ms <= 0x7fff_ffff)) throw new UsageError(`bad ${option} '${text}': expected milliseconds, from 1 to ${0x7fff_ffff}`);
  return ms;
}
