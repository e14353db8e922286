/**
 * How the `datasocket` CLI talks to its terminal or script: values as lines on
 * stdout, status and errors as `datasocket: …` lines on stderr, values from the
 * lines of stdin, and exiting without cutting output still buffered for a pipe.
 */
import readline from 'node:readline';
import type { DataSocketAddress } from '../../shared/socket-core.js';
import { parseValue, stringifyValue } from './cli-json.js';

/** The values read from stdin, with backpressure. */
export interface Input {
  /** Stops reading stdin (a few lines already read may still come). */
  pause(): void;
  resume(): void;
}

/** How long exiting waits for stdout and stderr to flush to a reader that stopped reading. */
const FLUSH_TIMEOUT_MS = 2_000;

let exiting = false;

/**
 * Reads stdin line by line (LF or CRLF) and hands each line over as a value, read
 * by `parseValue`. Empty lines are skipped. `onEnd` runs once stdin ends or fails.
 */
export function readValues(onValue: (value: unknown) => void, onEnd: () => void): Input {
  const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity, terminal: false });
  lines.on('line', (line) => {
    // A blank line is more likely a stray newline than a wish to send "" (which is '""').
    if (line === '') return;
    let value: unknown;
    try {
      value = parseValue(line);
    } catch (error) {
      // Only something absurd gets here, such as nesting deeper than the stack.
      status(`a line could not be read: ${errorText(error)}`);
      return;
    }
    onValue(value);
  });
  lines.on('close', onEnd);
  // A stdin that fails (a terminal gone, EIO) is an end of input, not a crash.
  process.stdin.on('error', () => lines.close());
  return { pause: () => lines.pause(), resume: () => lines.resume() };
}

/** Prints a received value as one line on stdout. */
export function printValue(value: unknown): void {
  if (!process.stdout.writable) return;
  let line: string;
  try {
    line = stringifyValue(value);
  } catch (error) {
    status(`a value received could not be printed: ${errorText(error)}`);
    return;
  }
  process.stdout.write(`${line}\n`);
}

/** Writes one status line on stderr, where it cannot mix with the values on stdout. */
export function status(message: string): void {
  process.stderr.write(`datasocket: ${message}\n`);
}

/** `CODE: message`, the form every error takes on stderr; a message that already starts with its code keeps it once. */
export function errorText(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  if (typeof code !== 'string' || error.message.startsWith(`${code}:`)) return error.message;
  return `${code}: ${error.message}`;
}

/** Where a socket is, as a person writes it: a socket path, `host:port`, or `[v6]:port`. */
export function addressText(address: DataSocketAddress): string {
  if (address.path !== undefined) return address.path;
  const host = address.name.includes(':') ? `[${address.name}]` : address.name;
  return address.port === undefined ? host : `${host}:${address.port}`;
}

/** Exits with `code` once stdout and stderr are flushed. Only the first call counts. */
export function exit(code: number): void {
  if (exiting) return;
  exiting = true;
  process.exitCode = code;
  // process.exit() alone may cut output still buffered for a pipe: let both streams flush first.
  let waiting = 0;
  const flushed = (): void => {
    if (--waiting === 0) process.exit(code);
  };
  for (const stream of [process.stdout, process.stderr]) {
    if (!stream.writable) continue;
    waiting++;
    stream.write('', flushed);
  }
  if (waiting === 0) process.exit(code);
  setTimeout(() => process.exit(code), FLUSH_TIMEOUT_MS).unref();
}
