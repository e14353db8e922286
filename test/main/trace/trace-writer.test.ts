/**
 * SPEC §13 trace writer, in this process: the settings from the environment, the
 * line format, one writer per directory, socket ids, the memory cap and what it
 * leaves in the file, and records JSON refuses. Processes: trace-processes.test.ts.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { closeTraceWriter, nextTraceSocketId, traceSettings, traceWriter, TraceWriter, type TraceRecord } from '../../../src/main/trace/trace-writer.js';

const dirs: string[] = [];

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'datasocket-trace-'));
  dirs.push(dir);
  return dir;
}

function records(file: string): Record<string, unknown>[] {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .slice(0, -1)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

const saved = { trace: process.env.DATASOCKET_TRACE, values: process.env.DATASOCKET_TRACE_VALUES };

afterEach(() => {
  for (const [name, value] of [['DATASOCKET_TRACE', saved.trace], ['DATASOCKET_TRACE_VALUES', saved.values]] as const) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

describe('§13 DATASOCKET_TRACE and DATASOCKET_TRACE_VALUES', () => {
  it('unset or empty: off (null), so an untraced socket does nothing more', () => {
    expect(traceSettings({})).toBeNull();
    expect(traceSettings({ DATASOCKET_TRACE: '' })).toBeNull();
    expect(traceSettings({ DATASOCKET_TRACE_VALUES: '1' })).toBeNull();
  });

  it('a directory, relative ones resolved against the working directory; values only with exactly "1"', () => {
    expect(traceSettings({ DATASOCKET_TRACE: '/tmp/t' })).toEqual({ dir: path.resolve('/tmp/t'), values: false });
    expect(traceSettings({ DATASOCKET_TRACE: 'rel/t', DATASOCKET_TRACE_VALUES: '1' })).toEqual({ dir: path.resolve('rel/t'), values: true });
    expect(traceSettings({ DATASOCKET_TRACE: '/tmp/t', DATASOCKET_TRACE_VALUES: 'true' })?.values).toBe(false);
  });

  it("reads this process's environment at each call", () => {
    delete process.env.DATASOCKET_TRACE;
    expect(traceSettings()).toBeNull();
    process.env.DATASOCKET_TRACE = '/tmp/now-on';
    process.env.DATASOCKET_TRACE_VALUES = '1';
    expect(traceSettings()).toEqual({ dir: path.resolve('/tmp/now-on'), values: true });
  });
});

describe('§13 one JSON line per record in <dir>/<pid>.jsonl', () => {
  it('each record lands as one line: time and pid first, then its fields in the order given; records in the order written', async () => {
    const dir = path.join(tempDir(), 'new', 'trace');
    const writer = traceWriter(dir);
    expect(writer.file).toBe(path.join(dir, `${process.pid}.jsonl`));
    const before = Date.now();
    writer.write({ socket: 1, role: 'listener', endpoint: '/run/a.sock', event: 'listening' });
    writer.write({ socket: 2, role: 'server', endpoint: '/run/a.sock', event: 'accept', peer: 1 });
    writer.write({ socket: 2, role: 'server', endpoint: '/run/a.sock', event: 'data', bytes: 120, count: 3 });
    writer.write({ socket: 2, role: 'server', endpoint: '/run/a.sock', event: 'error', code: 'ECONNRESET', message: 'read ECONNRESET' });
    await writer.flush();
    const after = Date.now();

    const lines = fs.readFileSync(writer.file, 'utf8').split('\n');
    expect(lines).toHaveLength(5);
    expect(lines[4]).toBe('');
    const written = lines.slice(0, 4).map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(Object.keys(written[0]!)).toEqual(['time', 'pid', 'socket', 'role', 'endpoint', 'event']);
    expect(Object.keys(written[3]!)).toEqual(['time', 'pid', 'socket', 'role', 'endpoint', 'event', 'code', 'message']);
    expect(written.map((r) => r.event)).toEqual(['listening', 'accept', 'data', 'error']);
    expect(written[1]).toMatchObject({ pid: process.pid, peer: 1 });
    expect(written[2]).toMatchObject({ bytes: 120, count: 3 });
    const times = written.map((r) => r.time as number);
    // Milliseconds since the epoch with sub-ms digits, on the wall clock, never going back.
    for (const time of times) expect(time).toBeGreaterThanOrEqual(before - 5_000);
    for (const time of times) expect(time).toBeLessThanOrEqual(after + 5_000);
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    expect(times.some((time) => !Number.isInteger(time))).toBe(true);
  });

  it('the directory is made private (0700) and the file readable by its owner only (0600): values may be in it', async () => {
    const dir = path.join(tempDir(), 'private');
    const writer = traceWriter(dir);
    writer.write({ socket: 1, role: 'client', endpoint: 'x', event: 'connect' });
    await writer.flush();
    expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
    expect(fs.statSync(writer.file).mode & 0o777).toBe(0o600);
  });

  it('appends to a file already there (a pid used before) instead of replacing it', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, `${process.pid}.jsonl`), '{"time":1,"pid":1,"event":"close"}\n');
    const writer = traceWriter(dir);
    writer.write({ socket: 1, role: 'client', endpoint: 'x', event: 'connect' });
    await writer.flush();
    expect(records(writer.file).map((r) => r.event)).toEqual(['close', 'connect']);
  });

  it('one writer per directory in a process, however the path is spelled', () => {
    const dir = tempDir();
    expect(traceWriter(dir)).toBe(traceWriter(`${dir}/./`));
    expect(traceWriter(path.join(dir, 'a', '..'))).toBe(traceWriter(dir));
    expect(traceWriter(path.join(dir, 'other'))).not.toBe(traceWriter(dir));
  });

  it('socket ids are unique in the process: each one more than the last', () => {
    const first = nextTraceSocketId();
    expect([nextTraceSocketId(), nextTraceSocketId()]).toEqual([first + 1, first + 2]);
    expect(first).toBeGreaterThanOrEqual(1);
  });

  it('flush() resolves at once when nothing is waiting', async () => {
    await expect(traceWriter(path.join(tempDir(), 'never-written')).flush()).resolves.toBeUndefined();
  });
});

describe('§13 a record JSON refuses is written anyway, never thrown', () => {
  it('a value JSON cannot hold (a BigInt, a cycle) is replaced by a note; the other fields stay', async () => {
    const writer = traceWriter(tempDir());
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    expect(() => writer.write({ socket: 1, role: 'client', endpoint: 'x', event: 'sent', bytes: 9, value: 12n })).not.toThrow();
    expect(() => writer.write({ socket: 1, role: 'client', endpoint: 'x', event: 'sent', bytes: 9, value: cycle })).not.toThrow();
    await writer.flush();
    const [big, cyclic] = records(writer.file);
    expect(big).toMatchObject({ socket: 1, event: 'sent', bytes: 9, value: { $unrenderable: expect.stringMatching(/^not serializable: .*BigInt/) } });
    expect(cyclic).toMatchObject({ event: 'sent', value: { $unrenderable: expect.stringMatching(/circular/i) } });
  });

  it('a field other than value that JSON refuses: the plain fields alone, with the note', async () => {
    const writer = traceWriter(tempDir());
    writer.write({ socket: 3, role: 'client', endpoint: 'x', event: 'data', odd: 1n } as TraceRecord);
    await writer.flush();
    expect(records(writer.file)[0]).toEqual({ time: expect.any(Number), pid: process.pid, socket: 3, role: 'client', endpoint: 'x', event: 'data', unserializable: expect.stringContaining('BigInt') });
  });
});

describe('§13 bounded memory: what the disk cannot take in time is dropped, and the drop is recorded', () => {
  it('past the cap, records are dropped until the backlog is written; then one trace-dropped record with the count, then new records again', async () => {
    const writer = new TraceWriter(tempDir(), { maxWaitingBytes: 4096 });
    const pad = 'x'.repeat(150);
    for (let seq = 0; seq < 100; seq++) writer.write({ socket: 1, role: 'client', endpoint: 'x', event: 'sent', seq, value: pad });
    await writer.flush();
    writer.write({ socket: 1, role: 'client', endpoint: 'x', event: 'close', seq: 100 });
    await writer.flush();

    const written = records(writer.file);
    const kept = written.filter((r) => r.event === 'sent');
    expect(kept.length).toBeGreaterThan(0);
    expect(kept.length).toBeLessThan(100);
    // The first records in, in order: the cap drops the newest, never a record in the middle.
    expect(kept.map((r) => r.seq)).toEqual([...Array(kept.length).keys()]);
    expect(written.slice(kept.length)).toEqual([
      { time: expect.any(Number), pid: process.pid, event: 'trace-dropped', count: 100 - kept.length },
      expect.objectContaining({ event: 'close', seq: 100 }),
    ]);
  });
});

describe('§13 closing a writer (a test runner ends each test\'s trace)', () => {
  /** How many of this process's open descriptors are `file`. */
  function openCount(file: string): number {
    return fs.readdirSync('/proc/self/fd').filter((fd) => {
      try {
        return fs.readlinkSync(`/proc/self/fd/${fd}`) === file;
      } catch {
        return false;
      }
    }).length;
  }

  it.skipIf(process.platform !== 'linux')('closeTraceWriter writes everything out and closes the file; a later record opens it again and loses nothing', async () => {
    const dir = tempDir();
    const writer = traceWriter(dir);
    const record: TraceRecord = { socket: 1, role: 'client', endpoint: 'x', event: 'connect' };
    writer.write(record);
    await writer.flush();
    expect(openCount(writer.file)).toBe(1);
    writer.write({ ...record, event: 'close' });
    await closeTraceWriter(dir);
    expect(openCount(writer.file)).toBe(0);
    expect(records(writer.file).map((r) => r.event)).toEqual(['connect', 'close']);
    writer.write({ ...record, event: 'error' });
    await writer.flush();
    expect(records(writer.file).map((r) => r.event)).toEqual(['connect', 'close', 'error']);
    await closeTraceWriter(dir);
    // A directory this process never traced into: nothing to close, nothing made.
    const untouched = path.join(tempDir(), 'never');
    await closeTraceWriter(untouched);
    expect(fs.existsSync(untouched)).toBe(false);
  });
});

describe('§13 the writer under pressure, and at its edges', () => {
  it('a record larger than the cap on an idle writer is dropped and counted, and the writer goes on (flush resolves)', async () => {
    const dir = tempDir();
    const writer = new TraceWriter(dir, { maxWaitingBytes: 200 });
    writer.write({ socket: 1, role: 'client', endpoint: 'x', event: 'data', message: 'y'.repeat(500) });
    await writer.flush();
    writer.write({ socket: 1, role: 'client', endpoint: 'x', event: 'close' });
    await writer.flush();
    expect(records(writer.file).map((r) => [r.event, r.count ?? null])).toEqual([
      ['trace-dropped', 1],
      ['close', null],
    ]);
  });

  it('a worker thread writes its own <pid>-<threadId>.jsonl, which readTrace merges as that pid', async () => {
    const { Worker } = await import('node:worker_threads');
    const { readTrace } = await import('../../../src/main/trace/trace-merge.js');
    const dir = tempDir();
    const script = new URL('../../fixtures/trace-thread.ts', import.meta.url).href;
    // The fixture is TypeScript: the thread registers tsx's loader for itself first.
    const boot = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(script)}); })`;
    const worker = new Worker(boot, { eval: true, workerData: { dir } });
    const threadId = worker.threadId;
    await new Promise((resolve, reject) => worker.once('exit', resolve).once('error', reject));
    expect(fs.readdirSync(dir)).toEqual([`${process.pid}-${threadId}.jsonl`]);
    const { entries } = await readTrace(dir);
    expect(entries.map((e) => [e.pid, e.thread, e.event])).toEqual([[process.pid, threadId, 'connect']]);
    const { formatTimeline } = await import('../../../src/main/trace/trace-merge.js');
    expect(formatTimeline(entries)).toContain(`${process.pid}.${threadId}#1`);
  });
});
