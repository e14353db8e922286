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
import { traceAttachments } from '../../src/testing/trace-attachments.js';
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
