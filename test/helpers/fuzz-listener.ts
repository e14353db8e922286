/**
 * A listener process for the real-socket fuzz round: two DataSocket listeners
 * (one plain, one with a token) that accept everyone and echo every value back,
 * and answer every request with its own value.
 * It reports only counts (values themselves never cross to the parent), so
 * whatever a hostile peer makes it decode cannot break the report.
 *
 * Environment: FUZZ_PLAIN_PATH, FUZZ_TOKEN_PATH, FUZZ_TOKEN, FUZZ_MAX_FRAME_BYTES.
 * Messages to the parent: {ready}, {stats} on request ('stats'), {uncaught} before dying.
 */
import { DataSocket, DataSocketError } from '../../src/index.js';

/** What the listener process reports. */
export interface ListenerStats {
  accepted: number;
  values: number;
  requests: number;
  /** `error` events of accepted connections, by code; a non-DataSocketError counts as NOT_A_DATASOCKET_ERROR. */
  connectionErrors: Record<string, number>;
  /** echo send() failures, by code. */
  echoFailures: Record<string, number>;
  /** `error` events of the two listeners themselves: must stay empty. */
  listenerErrors: string[];
  listenersClosed: number;
  rss: number;
  /** The heap after a full garbage collection (when run with --expose-gc), else as it is. */
  heapUsed: number;
}

export type ListenerMessage = { readonly ready: true } | { readonly stats: ListenerStats } | { readonly uncaught: string };

const stats: ListenerStats = { accepted: 0, values: 0, requests: 0, connectionErrors: {}, echoFailures: {}, listenerErrors: [], listenersClosed: 0, rss: 0, heapUsed: 0 };

function count(table: Record<string, number>, key: string): void {
  table[key] = (table[key] ?? 0) + 1;
}

function codeOf(error: unknown): string {
  return error instanceof DataSocketError && typeof error.code === 'string' ? error.code : 'NOT_A_DATASOCKET_ERROR';
}

function serve(path: string, token: string | undefined): Promise<void> {
  const maxFrameBytes = Number(process.env.FUZZ_MAX_FRAME_BYTES);
  const listener = DataSocket.listen(
    (connection) => {
      stats.accepted++;
      connection.on('data', (value: unknown) => {
        stats.values++;
        try {
          connection.send(value);
        } catch (error) {
          count(stats.echoFailures, codeOf(error));
        }
      });
      connection.on('request', (value: unknown, respond) => {
        stats.requests++;
        respond(value);
      });
      connection.on('error', (error) => count(stats.connectionErrors, codeOf(error)));
      return true;
    },
    path,
    { maxFrameBytes, handshakeTimeoutMs: 3_000, acceptTimeoutMs: 1_000, ...(token === undefined ? {} : { token }) },
  );
  listener.on('error', (error) => stats.listenerErrors.push(`${codeOf(error)}: ${error.message}`));
  listener.on('close', () => stats.listenersClosed++);
  return new Promise((resolve) => listener.once('listening', () => resolve()));
}

process.on('uncaughtException', (error) => {
  process.send!({ uncaught: (error as Error)?.stack ?? String(error) } satisfies ListenerMessage, () => process.exit(70));
});
process.on('message', (message) => {
  if (message !== 'stats') return;
  (globalThis as { gc?: () => void }).gc?.();
  stats.rss = process.memoryUsage.rss();
  stats.heapUsed = process.memoryUsage().heapUsed;
  process.send!({ stats } satisfies ListenerMessage);
});
process.on('disconnect', () => process.exit(0));

await Promise.all([serve(process.env.FUZZ_PLAIN_PATH!, undefined), serve(process.env.FUZZ_TOKEN_PATH!, process.env.FUZZ_TOKEN!)]);
process.send!({ ready: true } satisfies ListenerMessage);
