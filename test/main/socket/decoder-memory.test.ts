/**
 * SPEC §4 and PROTOCOL.md §5.3: what a peer can make a listener keep between
 * frames is bounded, whatever frames it sends within maxFrameBytes, and nothing
 * of a connection stays reachable once it closed. The listener runs in a child
 * process with a 64 MiB heap (test/helpers/memory-listener.ts); hostile clients
 * speak raw bytes (test/helpers/raw-client.ts).
 */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataSocket } from '../../../src/index.js';
import { FrameKind, RECORD_KEEP_BYTES, RECORD_SLOTS } from '../../../src/shared/protocol.js';
import type { MemoryMessage, MemoryReport } from '../../helpers/memory-listener.js';
import { frameOf, rawConnect } from '../../helpers/raw-client.js';
import { once, sleep, tempDir } from '../../helpers/sockets.js';

const LISTENER = fileURLToPath(new URL('../../helpers/memory-listener.ts', import.meta.url));
const MAX_FRAME_BYTES = 1 << 20;
const MiB = 2 ** 20;

/**
 * `d4 72 <slot>`, a key list (array 16 or 32) of `keys` keys, then a nil per key: one object.
 * The keys are empty strings (1 byte each), or with `distinct`, two-letter strings (3 bytes each).
 */
function definition(slot: number, keys: number, distinct = false): Uint8Array {
  const header = keys < 0x10000 ? [0xdc, keys >> 8, keys & 0xff] : [0xdd, keys >>> 24, (keys >> 16) & 0xff, (keys >> 8) & 0xff, keys & 0xff];
  const keyBytes = distinct ? 3 : 1;
  const body = new Uint8Array(3 + header.length + (keyBytes + 1) * keys);
  body.set([0xd4, 0x72, 0x40 | slot, ...header]);
  let at = 3 + header.length;
  for (let i = 0; i < keys; i++) {
    if (distinct) body.set([0xa2, 0x61 + Math.floor(i / 26), 0x61 + (i % 26)], at);
    else body[at] = 0xa0;
    at += keyBytes;
  }
  body.fill(0xc0, at);
  return body;
}

/** A reference to `slot`, then a nil per key. */
function reference(slot: number, keys: number): Uint8Array {
  const body = new Uint8Array(1 + keys).fill(0xc0);
  body[0] = 0x40 | slot;
  return body;
}

function arrayOf(items: Uint8Array[]): Uint8Array {
  const total = items.reduce((n, item) => n + item.length, 3);
  const body = new Uint8Array(total);
  body.set([0xdc, items.length >> 8, items.length & 0xff]);
  let at = 3;
  for (const item of items) {
    body.set(item, at);
    at += item.length;
  }
  return body;
}

describe('§4 decoder state: a peer cannot make a listener keep more than the record table bound, nor anything after closing', () => {
  let child: ChildProcess;
  let exited: string | null = null;
  let socketPath: string;
  let waiting: ((report: MemoryReport) => void) | null = null;
  let searching: ((found: string[]) => void) | null = null;
  let gone: ((why: Error) => void) | null = null;

  const report = (): Promise<MemoryReport> =>
    new Promise((resolve, reject) => {
      if (exited !== null) {
        reject(new Error(`the listener process is gone: ${exited}`));
        return;
      }
      waiting = resolve;
      gone = reject;
      child.send('report');
    });

  /** Which of `strings` are still reachable in the listener process. */
  const reachable = (strings: string[]): Promise<string[]> =>
    new Promise((resolve, reject) => {
      searching = resolve;
      gone = reject;
      child.send({ find: strings.map((s) => Buffer.from(s).toString('hex')) });
    });

  beforeAll(async () => {
    socketPath = path.join(tempDir('dsmem-'), 'l.sock');
    child = fork(LISTENER, [], {
      execArgv: ['--import', 'tsx', '--max-old-space-size=64', '--expose-gc'],
      env: { ...process.env, MEMORY_SOCKET: socketPath, MEMORY_MAX_FRAME_BYTES: String(MAX_FRAME_BYTES) },
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', () => {});
    child.on('exit', (code, signal) => {
      exited = `exit code ${code}, signal ${signal}${stderr.includes('heap limit') ? ' (out of heap)' : ''}`;
      gone?.(new Error(`the listener process is gone: ${exited}`));
    });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the listener process did not get ready')), 20_000);
      child.on('message', (message: MemoryMessage) => {
        if ('ready' in message) {
          clearTimeout(timer);
          resolve();
        } else if ('found' in message) searching?.(message.found);
        else waiting?.(message.report);
      });
    });
  }, 30_000);

  /** Reports until `ready` holds. */
  const reportWhen = async (ready: (r: MemoryReport) => boolean, timeoutMs = 60_000): Promise<MemoryReport> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = await report();
      if (ready(r)) return r;
      if (Date.now() > deadline) throw new Error(`the listener did not get there within ${timeoutMs} ms: ${JSON.stringify(r)}`);
      await sleep(100);
    }
  };

  afterAll(() => {
    child?.kill();
  });

  it('refuses a reference to a key list it did not keep, stays alive with a flat heap, and keeps serving its other connections', async () => {
    const good = DataSocket.connect(socketPath);
    await once(good, 'connect');
    const pong = once(good, 'data');
    good.send('ping');
    expect(await pong).toBe('pong');
    const baseline = await report();

    // The attack of issue 10: frames under maxFrameBytes, each defining the next slot
    // with half a million keys. Kept, they would fill the 64 MiB heap after some 16 frames.
    const hostile = await rawConnect({ path: socketPath });
    const frames = RECORD_SLOTS + 2;
    const keys = 500_000;
    for (let i = 0; i < frames; i++) await hostile.write(frameOf(definition(i % RECORD_SLOTS, keys)));
    const during = await reportWhen((r) => r.values >= baseline.values + frames);
    expect(during.open).toBe(2);
    // None of those key lists was kept: each was longer than RECORD_KEEP_BYTES, so for its object only.
    await hostile.write(frameOf(reference(0, keys)));
    await hostile.closed;
    const after = await report();
    console.log(
      `decoder memory: heap after GC ${(baseline.heapUsed / MiB).toFixed(1)} MiB before, ` +
        `${(during.heapUsed / MiB).toFixed(1)} MiB after ${frames} frames of ${keys} keys, ${(after.heapUsed / MiB).toFixed(1)} MiB once refused`,
    );
    expect(after.errors).toEqual({ ERR_DATASOCKET_PROTOCOL: 1 });
    expect(after.open).toBe(1);
    expect(during.heapUsed - baseline.heapUsed).toBeLessThan(4 * MiB);
    expect(after.heapUsed - baseline.heapUsed).toBeLessThan(2 * MiB);

    const again = once(good, 'data');
    good.send('ping');
    expect(await again).toBe('pong');
    good.close();
    expect(exited).toBeNull();
  }, 120_000);

  it('keeps at most 64 key lists of RECORD_KEEP_BYTES while a connection is open, and nothing of it once closed', async () => {
    const baseline = await report();
    const hostile = await rawConnect({ path: socketPath });
    // A key only this connection sends, in a key list the table keeps (slot 0x7f): once the
    // connection closed, it must no longer be reachable.
    const markerKey = `key-of-a-closed-connection-${process.pid}`;
    const marked = new TextEncoder().encode(markerKey);
    const last = RECORD_SLOTS - 1;
    // Referenced four more times, so that msgpackr compiles a reader for it: that must go too.
    const markerDefinition = Uint8Array.of(0xd4, 0x72, 0x40 | last, 0x91, 0xd9, marked.length, ...marked, 0xc0);
    await hostile.write(frameOf(arrayOf([markerDefinition, ...Array.from({ length: 4 }, () => reference(last, 1))])));
    // The largest key lists that are kept: an array 16 header and as many distinct 3-byte keys as fit.
    const keys = Math.floor((RECORD_KEEP_BYTES - 3) / 3);
    for (let slot = 0; slot < last; slot++) {
      // Each used five times, so that msgpackr compiles a reader for it too.
      await hostile.write(frameOf(arrayOf([definition(slot, keys, true), ...Array.from({ length: 4 }, () => reference(slot, keys))])));
    }
    const open = await reportWhen((r) => r.values >= baseline.values + RECORD_SLOTS);
    expect(await reachable([markerKey])).toEqual([markerKey]);
    expect(open.errors).toEqual(baseline.errors);
    // Still usable: a reference to every slot decodes.
    await hostile.write(frameOf(arrayOf([...Array.from({ length: last }, (_, slot) => reference(slot, keys)), reference(last, 1)])));
    await reportWhen((r) => r.values >= open.values + 1);
    await hostile.write(frameOf(new Uint8Array(0), FrameKind.END));
    await hostile.closed;
    const closed = await reportWhen((r) => r.open === 0);
    expect(await reachable([markerKey])).toEqual([]);
    console.log(
      `decoder memory: ${RECORD_SLOTS} kept key lists of ${keys} keys, compiled: ${((open.heapUsed - baseline.heapUsed) / MiB).toFixed(1)} MiB while open, ` +
        `${((closed.heapUsed - baseline.heapUsed) / MiB).toFixed(1)} MiB once closed`,
    );
    expect(open.heapUsed - baseline.heapUsed).toBeLessThan(4 * MiB);
    expect(closed.heapUsed - baseline.heapUsed).toBeLessThan(2 * MiB);
    expect(closed.errors).toEqual(baseline.errors);
    expect(exited).toBeNull();
  }, 120_000);
});
