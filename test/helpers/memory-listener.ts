/**
 * A listener process for test/main/socket/decoder-memory.test.ts, run with a small heap
 * (--max-old-space-size) and --expose-gc: it accepts everyone, drops every value
 * it receives (answering 'ping' with 'pong'), and reports on request its heap
 * after a full garbage collection and what its connections went through.
 *
 * Environment: MEMORY_SOCKET (a socket path), MEMORY_MAX_FRAME_BYTES.
 * Messages to the parent: {ready}; {report} on request ('report'); {found} on
 * request ({find: strings as hex}): which of those strings a heap snapshot holds
 * (sent as hex, so that the request itself does not put them in the heap).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import { DataSocket, DataSocketError } from '../../src/index.js';

/** What the listener process reports. */
export interface MemoryReport {
  /** `heapUsed` after full garbage collections. */
  heapUsed: number;
  accepted: number;
  values: number;
  /** Connections open now. */
  open: number;
  /** `error` events of accepted connections, by code. */
  errors: Record<string, number>;
}

export type MemoryMessage = { readonly ready: true } | { readonly report: MemoryReport } | { readonly found: string[] };

const report: Omit<MemoryReport, 'heapUsed'> = { accepted: 0, values: 0, open: 0, errors: {} };

const listener = DataSocket.listen(
  (connection) => {
    report.accepted++;
    report.open++;
    connection.on('data', (value: unknown) => {
      report.values++;
      if (value === 'ping') connection.send('pong');
    });
    connection.on('error', (error) => {
      const code = error instanceof DataSocketError ? error.code : 'NOT_A_DATASOCKET_ERROR';
      report.errors[code] = (report.errors[code] ?? 0) + 1;
    });
    connection.on('close', () => report.open--);
    return true;
  },
  process.env.MEMORY_SOCKET!,
  { maxFrameBytes: Number(process.env.MEMORY_MAX_FRAME_BYTES) },
);

const gc = (globalThis as { gc?: () => void }).gc!;

process.on('message', async (message: unknown) => {
  if (typeof message === 'object' && message !== null && 'find' in message) {
    // A snapshot holds what is reachable (V8 collects first), strings with their text.
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'dsheap-')), 'heap.heapsnapshot');
    v8.writeHeapSnapshot(file);
    const text = fs.readFileSync(file, 'utf8');
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
    const wanted = (message.find as string[]).map((h) => Buffer.from(h, 'hex').toString());
    process.send!({ found: wanted.filter((s) => text.includes(s)) } satisfies MemoryMessage);
    return;
  }
  if (message !== 'report') return;
  // Let closing sockets finish, then collect until the heap stops shrinking.
  await new Promise((resolve) => setTimeout(resolve, 50));
  let heapUsed = Infinity;
  for (let i = 0; i < 10; i++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
    const now = process.memoryUsage().heapUsed;
    if (now >= heapUsed - 64 * 1024) break;
    heapUsed = now;
  }
  process.send!({ report: { ...report, heapUsed: process.memoryUsage().heapUsed } } satisfies MemoryMessage);
});
process.on('disconnect', () => process.exit(0));
listener.once('listening', () => process.send!({ ready: true } satisfies MemoryMessage));
