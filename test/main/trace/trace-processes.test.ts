/**
 * SPEC §13 trace files written by real processes (test/fixtures/trace-child.ts):
 * several processes into one directory, merged by time; a process that exits right
 * after writing, even mid-batch; a writer that does no synchronous I/O while the app
 * runs; a directory that cannot be written.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { readTrace, type TraceEntry } from '../../../src/main/trace/trace-merge.js';
import type { TraceChildCommand, TraceChildEvent } from '../../fixtures/trace-child.js';

const FIXTURE = fileURLToPath(new URL('../../fixtures/trace-child.ts', import.meta.url));

/** A trace-child process: its IPC events and its stderr, which the writer's warnings go to. */
class TraceChild {
  readonly events: TraceChildEvent[] = [];
  stderr = '';
  /** The exit code, once the process exited and its stderr ended. */
  readonly exited: Promise<number | null>;
  readonly #child: ChildProcess;
  #listeners: (() => void)[] = [];

  constructor(execArgv: string[] = []) {
    this.#child = fork(FIXTURE, [], { execArgv: ['--import', 'tsx', ...execArgv], serialization: 'advanced', stdio: ['ignore', 'inherit', 'pipe', 'ipc'] });
    this.#child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (this.stderr += chunk));
    this.#child.on('message', (event: TraceChildEvent) => {
      this.events.push(event);
      for (const listener of [...this.#listeners]) listener();
    });
    this.#child.on('error', () => {}); // a send to a process that just exited; its exit is what tests look at
    // Not 'close': after disconnect() Node does not always emit it.
    const exit = new Promise<number | null>((resolve) => this.#child.on('exit', (code) => resolve(code)));
    const stderrEnd = new Promise((resolve) => this.#child.stderr!.on('close', resolve));
    this.exited = Promise.all([exit, stderrEnd]).then(([code]) => code);
    children.push(this);
  }

  get pid(): number {
    return this.#child.pid!;
  }

  /** Sends a command and resolves once the child ran it. */
  async run(command: TraceChildCommand): Promise<void> {
    const from = this.events.length;
    this.#child.send(command);
    const ran = await this.next((e) => (e.ev === 'done' || e.ev === 'threw') && e.op === command.op, from);
    if (ran.ev === 'threw') throw new Error(`${command.op} threw ${ran.code}: ${ran.message}`);
  }

  /** Sends a command after which the child exits by itself; resolves with the exit code. */
  async runToExit(command: TraceChildCommand): Promise<number | null> {
    this.#child.send(command);
    return this.exited;
  }

  next(match: (e: TraceChildEvent) => boolean, from = 0, timeoutMs = 15_000): Promise<TraceChildEvent> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching event within ${timeoutMs} ms; saw ${JSON.stringify(this.events)}; stderr ${this.stderr}`)), timeoutMs);
      const check = (): void => {
        const found = this.events.slice(from).find(match);
        if (found === undefined) return;
        clearTimeout(timer);
        this.#listeners = this.#listeners.filter((l) => l !== check);
        resolve(found);
      };
      this.#listeners.push(check);
      check();
    });
  }

  /** Ends the child the way its parent going away would: it exits 0 when IPC disconnects. */
  async stop(): Promise<number | null> {
    if (this.#child.connected) this.#child.disconnect();
    return this.exited;
  }

  kill(): void {
    this.#child.kill('SIGKILL');
  }
}

const children: TraceChild[] = [];
const dirs: string[] = [];

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'datasocket-trace-'));
  dirs.push(dir);
  return dir;
}

function lines(file: string): string[] {
  return fs.readFileSync(file, 'utf8').split('\n').slice(0, -1);
}

afterEach(async () => {
  for (const child of children.splice(0)) {
    child.kill();
    await child.exited;
  }
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('§13 DATASOCKET_TRACE: one file per process, merged by time', () => {
  it('three processes writing in turn into one directory merge into the order they wrote in', async () => {
    const dir = tempDir();
    const processes = [new TraceChild(), new TraceChild(), new TraceChild()];
    for (let seq = 0; seq < 12; seq++) {
      await processes[seq % 3]!.run({ op: 'write', dir, label: `p${seq % 3}`, from: seq, count: 1 });
      // Each process has its own clock origin; a few ms apart is far beyond any drift between them.
      await sleep(5);
    }
    for (const child of processes) await child.run({ op: 'flush', dir });

    const { entries, malformed, files } = await readTrace(dir);
    expect(files).toBe(3);
    expect(malformed).toBe(0);
    expect(entries.map((e) => e.seq)).toEqual([...Array(12).keys()]);
    expect(entries.map((e) => e.pid)).toEqual(Array.from({ length: 12 }, (_, seq) => processes[seq % 3]!.pid));
    for (const child of processes) expect(fs.existsSync(path.join(dir, `${child.pid}.jsonl`))).toBe(true);
    expect(entries[0]).toMatchObject({ socket: 1, role: 'child', endpoint: 'p0', event: 'data', count: 1, seq: 0 });
  });

  it('a process that calls process.exit() right after writing still has every line', async () => {
    const dir = tempDir();
    const child = new TraceChild();
    expect(await child.runToExit({ op: 'write', dir, label: 'quick', from: 0, count: 50, exit: true })).toBe(0);
    const written = lines(path.join(dir, `${child.pid}.jsonl`)).map((line) => JSON.parse(line) as TraceEntry);
    expect(written.map((e) => e.seq)).toEqual([...Array(50).keys()]);
    expect(written.every((e) => e.pid === child.pid && typeof e.time === 'number')).toBe(true);
  });

  it('exiting while a large batch is being written loses nothing and doubles nothing', async () => {
    const dir = tempDir();
    const child = new TraceChild();
    // 20,000 records of ~300 bytes: a batch of 6 MB in flight (under the 8 MiB cap) when the process exits.
    const count = 20_000;
    expect(await child.runToExit({ op: 'exitMidBatch', dir, count, pad: 150 })).toBe(0);
    const { entries, malformed } = await readTrace(dir);
    expect(malformed).toBe(0);
    expect(entries.map((e) => e.seq)).toEqual([-1, ...Array(count + 10).keys()]);
  });

  it('a process ended by its parent (IPC gone, then its own exit) writes what it buffered', async () => {
    const dir = tempDir();
    const child = new TraceChild();
    await child.run({ op: 'write', dir, label: 'stopped', from: 0, count: 3 });
    expect(await child.stop()).toBe(0);
    expect((await readTrace(dir)).entries.map((e) => e.seq)).toEqual([0, 1, 2]);
  });
});

describe('§13 tracing never keeps a process alive', () => {
  it('a process that writes records and has nothing else to do exits by itself, its records written', async () => {
    const dir = tempDir();
    const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, dir, '5'], { stdio: 'ignore' });
    const code = await new Promise<number | null>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error('the process did not exit within 10 s'));
      }, 10_000);
      child.on('exit', (exitCode) => {
        clearTimeout(timer);
        resolve(exitCode);
      });
    });
    expect(code).toBe(0);
    expect(lines(path.join(dir, `${child.pid}.jsonl`)).map((line) => (JSON.parse(line) as TraceEntry).seq)).toEqual([0, 1, 2, 3, 4]);
  });
});

describe('§13 tracing never blocks the event loop', () => {
  it('write() only buffers: the file does not exist when 20,000 writes return, and the loop keeps turning while they are written', async () => {
    const dir = path.join(tempDir(), 'made-on-first-use');
    const child = new TraceChild();
    await child.run({ op: 'backlog', dir, count: 20_000, pad: 200 });
    const report = child.events.find((e) => e.ev === 'backlog');
    expect(report).toMatchObject({ existedAfterWrites: false });
    // mkdir, open and the writes are each a round trip to the thread pool: other work runs in between.
    expect((report as { turnsWhileWriting: number }).turnsWhileWriting).toBeGreaterThan(2);
    expect(lines(path.join(dir, `${child.pid}.jsonl`))).toHaveLength(20_000);
    expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
  });

  it('no synchronous I/O while the process runs (node --trace-sync-io reports none)', async () => {
    const dir = tempDir();
    const child = new TraceChild(['--trace-sync-io']);
    for (let round = 0; round < 5; round++) {
      await child.run({ op: 'write', dir, label: 'async', from: round * 100, count: 100, pad: 50 });
      await child.run({ op: 'flush', dir });
    }
    // The control: a sync call made on purpose is reported, so the flag works in this Node.
    await child.run({ op: 'syncControl' });
    expect(await child.stop()).toBe(0);
    const warnings = child.stderr.split('WARNING: Detected use of sync API').slice(1);
    expect(warnings.filter((stack) => stack.includes('deliberateSyncIo')).length).toBeGreaterThan(0);
    expect(warnings.filter((stack) => /trace-writer/.test(stack))).toEqual([]);
    expect(lines(path.join(dir, `${child.pid}.jsonl`))).toHaveLength(500);
  });
});

describe('§13 a trace directory that cannot be written costs the app nothing but one warning', () => {
  it('a file where the directory should be: no throw, one warning naming the file and the reason, nothing written, the process goes on', async () => {
    const parent = tempDir();
    fs.writeFileSync(path.join(parent, 'taken'), 'not a directory');
    const dir = path.join(parent, 'taken', 'trace');
    const child = new TraceChild();
    await child.run({ op: 'write', dir, label: 'lost', from: 0, count: 10 });
    await child.run({ op: 'flush', dir });
    await child.run({ op: 'write', dir, label: 'lost', from: 10, count: 10 });
    await child.run({ op: 'flush', dir });
    expect(await child.stop()).toBe(0);
    const warnings = child.stderr.split('\n').filter((line) => line.includes('trace'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(path.join(dir, `${child.pid}.jsonl`));
    expect(warnings[0]).toMatch(/ENOTDIR|EEXIST/);
    expect(fs.readFileSync(path.join(parent, 'taken'), 'utf8')).toBe('not a directory');
  });

  it('the same at exit, when the exit hook is the first to try: one warning, exit code unchanged', async () => {
    const parent = tempDir();
    fs.writeFileSync(path.join(parent, 'taken'), '');
    const dir = path.join(parent, 'taken', 'trace');
    const child = new TraceChild();
    expect(await child.runToExit({ op: 'write', dir, label: 'lost', from: 0, count: 5, exit: true })).toBe(0);
    expect(child.stderr.split('\n').filter((line) => line.includes('cannot write the trace file'))).toHaveLength(1);
  });
});
