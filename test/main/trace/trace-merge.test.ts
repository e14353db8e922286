/**
 * SPEC §13 reading a trace directory back: every process's file merged by time,
 * lines that are not records counted and skipped, and the timeline a person reads.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DataSocketError } from '../../../src/shared/errors.js';
import { formatTimeline, readTrace, type TraceEntry } from '../../../src/main/trace/trace-merge.js';
import { rejection } from '../../helpers/rejection.js';

const dirs: string[] = [];

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'datasocket-trace-'));
  dirs.push(dir);
  return dir;
}

function file(dir: string, name: string, lines: (string | object)[], end = '\n'): void {
  fs.writeFileSync(path.join(dir, name), lines.map((line) => (typeof line === 'string' ? line : JSON.stringify(line))).join('\n') + end);
}

afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

describe('§13 readTrace merges every process file by time', () => {
  it('entries from all *.jsonl files, ordered by time; equal times by file (pids in numeric order), then by line', async () => {
    const dir = tempDir();
    const record = { socket: 1, role: 'client', endpoint: 'app', event: 'data' };
    file(dir, '100.jsonl', [
      { time: 1000.5, pid: 100, ...record, n: 'a' },
      { time: 3000, pid: 100, ...record, n: 'd' },
      { time: 3000, pid: 100, ...record, n: 'e' },
    ]);
    file(dir, '20.jsonl', [
      { time: 2000, pid: 20, ...record, n: 'b' },
      { time: 3000, pid: 20, ...record, n: 'c' },
      { time: 4000, pid: 20, ...record, n: 'f' },
    ]);
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'not a trace file\n');
    const { entries, malformed, files } = await readTrace(dir);
    expect(files).toBe(2);
    expect(malformed).toBe(0);
    expect(entries.map((e) => e.n)).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
    expect(entries[0]).toEqual({ time: 1000.5, pid: 100, ...record, n: 'a' });
  });

  it('lines that are not records with a numeric time are counted, not thrown; blank lines are not lines', async () => {
    const dir = tempDir();
    file(
      dir,
      '7.jsonl',
      [
        { time: 1, pid: 7, event: 'connect' },
        'not json',
        '[1,2]',
        'null',
        '{"time":"yesterday","pid":7}',
        '{"pid":7,"event":"close"}',
        '',
        '   ',
        { time: 2, pid: 7, event: 'close' },
        // A process that died mid-line leaves the last line cut.
        '{"time":3,"pid":7,"ev',
      ],
      '',
    );
    const { entries, malformed } = await readTrace(dir);
    expect(entries.map((e) => e.event)).toEqual(['connect', 'close']);
    expect(malformed).toBe(6);
  });

  it('a record without a pid takes it from its file name <pid>.jsonl; in another file it is malformed', async () => {
    const dir = tempDir();
    file(dir, '42.jsonl', [{ time: 1, event: 'listening' }]);
    file(dir, 'copy.jsonl', [{ time: 2, event: 'close' }]);
    const { entries, malformed } = await readTrace(dir);
    expect(entries).toEqual([{ time: 1, event: 'listening', pid: 42 }]);
    expect(malformed).toBe(1);
  });

  it('an empty directory: no entries, no files', async () => {
    expect(await readTrace(tempDir())).toEqual({ entries: [], malformed: 0, files: 0 });
  });

  it('a missing directory rejects with DataSocketError ENOENT naming it; a file instead of a directory with ENOTDIR', async () => {
    const missing = path.join(tempDir(), 'nope');
    const error = await rejection(readTrace(missing));
    expect(error).toBeInstanceOf(DataSocketError);
    expect(error).toMatchObject({ code: 'ENOENT', message: expect.stringContaining(missing) });
    const notDir = path.join(tempDir(), 'plain');
    fs.writeFileSync(notDir, '');
    expect(await rejection(readTrace(notDir))).toMatchObject({ code: 'ENOTDIR' });
  });
});

describe('§13 formatTimeline: one aligned line per event', () => {
  // 2024-05-06 local time, so the clock column is what a person in this time zone expects.
  const start = new Date(2024, 4, 6, 9, 8, 7, 654).getTime() + 0.321;
  const entries: TraceEntry[] = [
    { time: start, pid: 20, socket: 1, role: 'listener', endpoint: '/run/app.sock', event: 'listening' },
    { time: start + 1.5, pid: 20, socket: 2, role: 'server', endpoint: '/run/app.sock', event: 'accept', peer: 1 },
    { time: start + 12.25, pid: 31337, socket: 1, role: 'client', endpoint: '/run/app.sock', event: 'sent', count: 3, bytes: 120, values: [1, 'two', null] },
    { time: start + 12.5, pid: 20, socket: 2, role: 'server', endpoint: '/run/app.sock', event: 'data', count: 1, bytes: 40, value: { $map: [['k', 1]] } },
    { time: start + 20, pid: 20, socket: 5, role: 'page', endpoint: '127.0.0.1:7000', event: 'request', page: 'webContents 3', direction: 'in', id: 7 },
    { time: start + 1500, pid: 31337, socket: 1, role: 'client', endpoint: '/run/app.sock', event: 'error', code: 'ECONNRESET', message: 'read ECONNRESET' },
    { time: start + 1501, pid: 31337, event: 'trace-dropped', count: 5 } as TraceEntry,
  ];
  const lines = formatTimeline(entries).split('\n');

  it('one line per entry, ending with a newline; nothing for no entries', () => {
    expect(lines).toHaveLength(entries.length + 1);
    expect(lines.at(-1)).toBe('');
    expect(formatTimeline([])).toBe('');
  });

  it('local time HH:MM:SS.mmm, then +ms since the first entry', () => {
    expect(lines[0]).toMatch(/^09:08:07\.654\s+\+0\.000ms\s/);
    expect(lines[2]).toMatch(/^09:08:07\.666\s+\+12\.250ms\s/);
    expect(lines[5]).toMatch(/^09:08:09\.154\s+\+1500\.000ms\s/);
  });

  it('pid, socket as pid#id, role, endpoint and event in their columns', () => {
    expect(lines[0]).toMatch(/\s20\s+20#1\s+listener\s+\/run\/app\.sock\s+listening$/);
    expect(lines[2]).toMatch(/\s31337\s+31337#1\s+client\s+\/run\/app\.sock\s+sent\s/);
    // Aligned: each column starts at the same place on every line.
    for (const column of ['/run/app.sock', '127.0.0.1:7000']) {
      const starts = new Set(lines.filter((line) => line.includes(column)).map((line) => line.indexOf(column)));
      expect(starts.size).toBe(1);
    }
    const eventStart = lines[0]!.indexOf('listening');
    expect(lines[1]!.indexOf('accept')).toBe(eventStart);
    expect(lines[5]!.indexOf('error')).toBe(eventStart);
  });

  it("each event's details: counts and sizes, error code and message, value, peer, page, other fields", () => {
    expect(lines[1]).toMatch(/accept\s+peer 20#1$/);
    expect(lines[2]).toMatch(/sent\s+3 values, 120 B {2}values \[1,"two",null\]$/);
    expect(lines[3]).toMatch(/data\s+1 value, 40 B {2}value {"\$map":\[\["k",1\]\]}$/);
    expect(lines[4]).toMatch(/request\s+page webContents 3 {2}direction=in {2}id=7$/);
    expect(lines[5]).toMatch(/error\s+ECONNRESET: read ECONNRESET$/);
  });

  it('a trace-dropped record says how many records were lost, with no socket', () => {
    expect(lines[6]).toMatch(/\s31337\s+-\s+-\s+-\s+trace-dropped\s+5 records dropped/);
  });
});

describe('§13 readTrace and the exit hook', () => {
  it('drops a line repeated within one file (a batch written again at exit), and only that', async () => {
    const fsp = await import('node:fs/promises');
    const os = await import('node:os');
    const pathMod = await import('node:path');
    const dir = await fsp.mkdtemp(pathMod.join(os.tmpdir(), 'dedupe-'));
    const line = (time: number, event: string) => JSON.stringify({ time, pid: 7, socket: 1, role: 'client', endpoint: 'x', event });
    await fsp.writeFile(pathMod.join(dir, '7.jsonl'), [line(1, 'connect'), line(2, 'sent'), line(3, 'close'), line(2, 'sent'), line(3, 'close'), ''].join('\n'));
    await fsp.writeFile(pathMod.join(dir, '8.jsonl'), [line(2, 'sent').replace('"pid":7', '"pid":8'), ''].join('\n'));
    const { entries } = await readTrace(dir);
    expect(entries.map((e) => [e.pid, e.event])).toEqual([
      [7, 'connect'],
      [7, 'sent'],
      [8, 'sent'],
      [7, 'close'],
    ]);
    await fsp.rm(dir, { recursive: true, force: true });
  });
});
