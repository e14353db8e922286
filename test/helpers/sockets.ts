/**
 * Small tools for tests that hold DataSockets in the test process itself.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DataSocket, type ListenOptions } from '../../src/index.js';
import type { DataSocketError } from '../../src/shared/errors.js';
import type { DataSocketCore } from '../../src/shared/socket-core.js';

let counter = 0;

/** A bare socket name no other test (or test run) uses. */
export function uniqueName(prefix = 'test'): string {
  return `${prefix}-${process.pid}-${++counter}-${Math.random().toString(36).slice(2, 8)}`;
}

/** A fresh temporary directory, short enough for socket paths. */
export function tempDir(prefix = 'ds-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Resolves with the arguments of the next `event` of `socket`; rejects after `timeoutMs`. */
export function once<T = unknown>(socket: DataSocket, event: string, timeoutMs = 10_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no '${event}' within ${timeoutMs} ms (state ${socket.state})`)), timeoutMs);
    socket.once(event as 'data', (value: unknown) => {
      clearTimeout(timer);
      resolve(value as T);
    });
  });
}

/** Records every event a socket emits, in order, with its argument. */
export function record(socket: DataSocket): { log: string[]; values: unknown[]; errors: DataSocketError[]; closed: Promise<void> } {
  const log: string[] = [];
  const values: unknown[] = [];
  const errors: DataSocketError[] = [];
  let resolveClosed!: () => void;
  const closed = new Promise<void>((resolve) => (resolveClosed = resolve));
  socket
    .on('connect', () => log.push('connect'))
    .on('listening', () => log.push('listening'))
    .on('data', (value: unknown) => {
      log.push('data');
      values.push(value);
    })
    .on('error', (error) => {
      log.push(`error:${error.code}`);
      errors.push(error);
    })
    .on('close', () => {
      log.push('close');
      resolveClosed();
    });
  return { log, values, errors, closed };
}

/** Records any DataSocket's events (Node's or a page's): `log` in order (`error:<code>` for errors; no `data`), `values` received. */
export function observe(socket: DataSocketCore): { log: string[]; values: unknown[] } {
  const log: string[] = [];
  const values: unknown[] = [];
  socket
    .on('connect', () => log.push('connect'))
    .on('listening', () => log.push('listening'))
    .on('data', (value: unknown) => values.push(value))
    .on('error', (error) => log.push(`error:${error.code}`))
    .on('close', () => log.push('close'));
  return { log, values };
}

/**
 * A listener in this process that accepts every connection and records each from its
 * acceptance on; `track` (from useCleanup) closes them all after the test.
 */
export async function listenRecording(track: <T extends { close(): void }>(socket: T) => T, name: string, port?: number) {
  const connections: DataSocket[] = [];
  const recorded: ReturnType<typeof record>[] = [];
  const listener = track(
    DataSocket.listen(
      (c) => {
        connections.push(track(c));
        recorded.push(record(c));
        return true;
      },
      name,
      port,
    ),
  );
  await listening(listener);
  return { listener, connections, recorded, at: { name: listener.address.name, port: listener.address.port }, path: listener.address.path };
}

/**
 * A listener in this process, bound and ready, that accepts every connection into
 * `accepted` (in order); `track` (from useCleanup) closes them all after the test.
 */
export async function acceptingListener(
  track: <T extends { close(): void }>(socket: T) => T,
  endpoint: { name: string; port?: number },
  options?: ListenOptions,
): Promise<{ listener: DataSocket; accepted: DataSocket[] }> {
  const accepted: DataSocket[] = [];
  const listener = track(
    DataSocket.listen(
      (connection) => {
        accepted.push(track(connection));
        return true;
      },
      endpoint.name,
      endpoint.port,
      options,
    ),
  );
  await listening(listener);
  return { listener, accepted };
}

/** A listener that accepts everything, bound and ready. */
export async function listening(socket: DataSocket): Promise<DataSocket> {
  if (socket.state !== 'listening') await once(socket, 'listening');
  return socket;
}

/** Waits `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Waits until `condition()` holds; fails the test after `timeoutMs` instead of hanging. */
export async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms: ${condition.toString()}`);
    await sleep(5);
  }
}
