/**
 * SPEC §13: when a test fails, its merged trace is attached to the report. What gets
 * attached is built here from real trace files (this process's TraceWriter, another
 * process's file, real sockets traced through DATASOCKET_TRACE); a trace that cannot
 * be read turns into a note, never into a second failure.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DataSocket } from '../../src/index.js';
import { traceWriter } from '../../src/main/trace/trace-writer.js';
import { setEnv } from '../../src/testing/instance-env.js';
import { MAX_TRACE_ATTACHMENT_BYTES, traceAttachments } from '../../src/testing/trace-attachments.js';
import { useCleanup } from '../helpers/cleanup.js';
import { useRuntimeDir } from '../helpers/runtime-dir.js';
import { once, tempDir, uniqueName } from '../helpers/sockets.js';

useRuntimeDir();
const { track } = useCleanup();
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

function traceDir(): string {
  const dir = tempDir('kit-trace-');
  dirs.push(dir);
  return dir;
}

function named(attachments: readonly { name: string; body: string }[], name: string): string | undefined {
  return attachments.find((a) => a.name === name)?.body;
}

describe('§13 the trace attached to a failed test', () => {
  it('is the timeline and the JSON lines of every process, merged by time — this process’s unwritten records included', async () => {
    const dir = traceDir();
    const otherPid = process.pid + 100_000;
    const first = Date.now() - 1000;
    fs.writeFileSync(
      path.join(dir, `${otherPid}.jsonl`),
      `${JSON.stringify({ time: first, pid: otherPid, socket: 1, role: 'listener', endpoint: 'kit-merge', event: 'listening' })}\n`,
    );
    // Written in batches: without a flush first, this record would not be on disk yet.
    traceWriter(dir).write({ socket: 7, role: 'client', endpoint: 'kit-merge', event: 'connect' });
    const attachments = await traceAttachments(dir);
    expect(attachments.map((a) => [a.name, a.contentType])).toEqual([
      ['datasocket-trace', 'text/plain'],
      ['datasocket-trace.jsonl', 'application/x-ndjson'],
    ]);
    const lines = named(attachments, 'datasocket-trace.jsonl')!.trimEnd().split('\n').map((line) => JSON.parse(line));
    expect(lines.map((l) => [l.pid, l.event])).toEqual([
      [otherPid, 'listening'],
      [process.pid, 'connect'],
    ]);
    const timeline = named(attachments, 'datasocket-trace')!;
    expect(timeline.indexOf('listening')).toBeLessThan(timeline.indexOf('connect'));
    expect(timeline).toContain(`${process.pid}#7`);
  });

  it('shows what real sockets did while DATASOCKET_TRACE named the directory', async () => {
    const dir = traceDir();
    const restore = setEnv({ DATASOCKET_TRACE: dir });
    try {
      const name = uniqueName('kit-traced');
      const listener = track(DataSocket.listen(() => true, name));
      await once(listener, 'listening');
      const client = track(DataSocket.connect(name));
      await once(client, 'connect');
      client.send({ hello: 'trace' });
      client.close();
      await once(client, 'close');
    } finally {
      restore();
    }
    const timeline = named(await traceAttachments(dir), 'datasocket-trace')!;
    expect(timeline).toMatch(/listening/);
    expect(timeline).toMatch(/connect/);
    expect(timeline).toMatch(/sent/);
  });

  it('says how many lines were not trace records', async () => {
    const dir = traceDir();
    fs.writeFileSync(path.join(dir, '1.jsonl'), `${JSON.stringify({ time: Date.now(), pid: 1, socket: 1, role: 'client', endpoint: 'x', event: 'close' })}\nnot json\n{"cut off`);
    const timeline = named(await traceAttachments(dir), 'datasocket-trace')!;
    expect(timeline.split('\n')[0]).toBe('(2 lines that were not trace records left out)');
    expect(timeline).toContain('close');
  });

  it('is nothing when nothing was traced: no directory, or no records in it', async () => {
    const dir = traceDir();
    expect(await traceAttachments(path.join(dir, 'never-made'))).toEqual([]);
    expect(await traceAttachments(dir)).toEqual([]);
    fs.writeFileSync(path.join(dir, '1.jsonl'), '');
    expect(await traceAttachments(dir)).toEqual([]);
  });

  it('becomes a note, not an error, when the trace cannot be read', async () => {
    const file = path.join(traceDir(), 'a-file');
    fs.writeFileSync(file, '');
    const attachments = await traceAttachments(file);
    expect(attachments).toHaveLength(1);
    expect(attachments[0]!.name).toBe('datasocket-trace-error');
    expect(attachments[0]!.body).toContain('ENOTDIR');
  });
});

/** One synthetic record: `seq` orders them all, `time` follows it (1 ms apart). */
function record(seq: number, pid: number): string {
  return JSON.stringify({ time: 1_700_000_000_000 + seq, pid, socket: 1, role: 'client', endpoint: 'kit-big', event: 'data', bytes: 64, count: 1, seq });
}

/**
 * Writes `total` records into `<pid>.jsonl` files, record `seq` to the file `pidOf(seq)`
 * says, in 1 MiB writes, without holding the whole trace in memory.
 */
function writeTrace(dir: string, total: number, pidOf: (seq: number) => number): void {
  const files = new Map<number, { fd: number; pending: string[]; size: number }>();
  const flush = (file: { fd: number; pending: string[]; size: number }): void => {
    fs.writeSync(file.fd, file.pending.join(''));
    file.pending = [];
    file.size = 0;
  };
  for (let seq = 0; seq < total; seq++) {
    const pid = pidOf(seq);
    let file = files.get(pid);
    if (file === undefined) files.set(pid, (file = { fd: fs.openSync(path.join(dir, `${pid}.jsonl`), 'w'), pending: [], size: 0 }));
    const line = `${record(seq, pid)}\n`;
    file.pending.push(line);
    file.size += line.length;
    if (file.size >= 1024 * 1024) flush(file);
  }
  for (const file of files.values()) {
    flush(file);
    fs.closeSync(file.fd);
  }
}

/** The JSONL attachment's note (its first line, when it is not a record) and its records' seq numbers. */
function jsonlOf(attachments: readonly { name: string; body: string }[]): { note: { leftOut: number; note: string } | undefined; seqs: number[] } {
  const lines = named(attachments, 'datasocket-trace.jsonl')!.trimEnd().split('\n').map((line) => JSON.parse(line));
  const note = 'leftOut' in lines[0] ? lines.shift() : undefined;
  return { note, seqs: lines.map((l) => l.seq as number) };
}

describe('§13 the trace attached to a failed test: a trace too big to attach', () => {
  it('attaches the last records by time across files, each attachment within the cap, its first line saying how many were left out and where the trace is', async () => {
    const dir = traceDir();
    // Two processes, interleaved; the second file is cut mid-line where its end begins.
    writeTrace(dir, 400, (seq) => (seq % 3 === 0 ? 2 : 1));
    const maxBytes = 4000;
    const attachments = await traceAttachments(dir, maxBytes);
    const { note, seqs } = jsonlOf(attachments);
    expect(seqs.length).toBeGreaterThan(10);
    // Exactly the last ones, in order, nothing skipped between them.
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => 400 - seqs.length + i));
    expect(note!.leftOut).toBe(400 - seqs.length);
    expect(note!.note).toContain(`the whole trace is in ${dir}`);
    expect(note!.note).toContain(`npx datasocket trace ${dir}`);
    const jsonlBody = named(attachments, 'datasocket-trace.jsonl')!;
    expect(Buffer.byteLength(jsonlBody) - Buffer.byteLength(jsonlBody.split('\n')[0]!) - 1).toBeLessThanOrEqual(maxBytes);

    const timeline = named(attachments, 'datasocket-trace')!.split('\n');
    const [first, ...rows] = timeline.slice(0, -1);
    expect(Buffer.byteLength(rows.join('\n')) + 1).toBeLessThanOrEqual(maxBytes);
    expect(first).toMatch(new RegExp(`^\\(the first ${400 - rows.length} records of this trace are left out`));
    expect(first).toContain(`npx datasocket trace ${dir}`);
    // Its rows are the last records too: the last row is record 399's.
    expect(rows.at(-1)).toContain('seq=399');
    expect(rows[0]).toContain(`seq=${400 - rows.length}`);
  });

  it('leaves out and counts a process whose records all came early', async () => {
    const dir = traceDir();
    writeTrace(dir, 300, (seq) => (seq < 50 ? 7 : 8));
    const { note, seqs } = jsonlOf(await traceAttachments(dir, 3000));
    expect(seqs.at(-1)).toBe(299);
    expect(seqs[0]).toBeGreaterThan(50);
    expect(note!.leftOut).toBe(300 - seqs.length);
  });

  it('counts a single line longer than the cap as left out', async () => {
    const dir = traceDir();
    const long = JSON.stringify({ time: 1, pid: 3, socket: 1, role: 'client', endpoint: 'x', event: 'data', padding: 'y'.repeat(5000) });
    fs.writeFileSync(path.join(dir, '3.jsonl'), `${long}\n`);
    const attachments = await traceAttachments(dir, 1000);
    const { note, seqs } = jsonlOf(attachments);
    expect(seqs).toEqual([]);
    expect(note!.leftOut).toBe(1);
    expect(named(attachments, 'datasocket-trace')).toMatch(/^\(the first 1 records of this trace are left out/);
  });

  it('reads a 200 MB trace within seconds, attaching at most 8 MiB of each form', async () => {
    const dir = traceDir();
    const total = 2_000_000; // about 100 bytes each
    writeTrace(dir, total, (seq) => (seq % 10 === 0 ? 2002 : 2001));
    const onDisk = fs.readdirSync(dir).reduce((sum, name) => sum + fs.statSync(path.join(dir, name)).size, 0);
    expect(onDisk).toBeGreaterThan(200_000_000);
    const started = performance.now();
    const attachments = await traceAttachments(dir);
    const elapsed = performance.now() - started;
    for (const attachment of attachments) expect(Buffer.byteLength(attachment.body)).toBeLessThanOrEqual(MAX_TRACE_ATTACHMENT_BYTES + 1024);
    const { note, seqs } = jsonlOf(attachments);
    expect(seqs.at(-1)).toBe(total - 1);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => total - seqs.length + i));
    expect(note!.leftOut).toBe(total - seqs.length);
    expect(named(attachments, 'datasocket-trace')!.split('\n', 1)[0]).toContain(`npx datasocket trace ${dir}`);
    // Reading it whole took about 56 s for a 487 MB trace on the same machine.
    expect(elapsed).toBeLessThan(15_000);
  }, 120_000);
});
