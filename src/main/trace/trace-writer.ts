/**
 * The trace files of SPEC §13: with DATASOCKET_TRACE=<dir>, each process appends one
 * JSON line per socket event to `<dir>/<pid>.jsonl` (`<pid>-<threadId>.jsonl` from a
 * worker thread, which numbers its sockets on its own). A trace must never slow or break
 * the app it watches, so writing is asynchronous and batched (one write in flight,
 * the next batch after it), memory is bounded (records past the cap are dropped and
 * counted in a `trace-dropped` record), a directory that cannot be written costs one
 * warning, and whatever is still buffered when the process exits normally (its 'exit'
 * event: process.exit(), an empty event loop, app.quit() in Electron) is written then.
 * A process killed by a signal loses what was still buffered: at most one turn's records.
 */
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { threadId } from 'node:worker_threads';

/** Where and how much to trace, from the environment. */
export interface TraceSettings {
  /** The trace directory, resolved against the working directory. */
  readonly dir: string;
  /** DATASOCKET_TRACE_VALUES=1: records carry the values themselves (rendered by traceValue). */
  readonly values: boolean;
}

/** What a trace record says happened. `trace-dropped` is written by the writer itself. */
export type TraceEvent = 'listening' | 'connect' | 'accept' | 'reject' | 'sent' | 'data' | 'request' | 'reply' | 'error' | 'close' | 'trace-dropped';

/** One socket event, as a socket hands it to its writer (the writer adds `time` and `pid`). */
export interface TraceRecord {
  /** The socket's id in this process, from nextTraceSocketId(). */
  socket: number;
  role: string;
  endpoint: string;
  event: TraceEvent;
  bytes?: number;
  count?: number;
  code?: string;
  message?: string;
  /** The value, rendered by traceValue() (only with DATASOCKET_TRACE_VALUES=1). */
  value?: unknown;
  /** The socket id of the other side within this process (e.g. the connection a listener's accept made). */
  peer?: number;
  /** For page sockets traced by main: which page (e.g. "webContents 3"). */
  page?: string;
  [key: string]: unknown;
}

/** A worker thread's records say which thread: its socket ids are its own (so is its file). */
const THREAD = threadId === 0 ? '' : `,"thread":${threadId}`;

/** How many times close() waits for a writer that keeps getting records before it leaves the file open. */
const CLOSE_ROUNDS = 5;

/** How much may wait in memory for the disk before records are dropped. */
const MAX_WAITING_BYTES = 8 * 1024 * 1024;

/** At exit, how long a batch in flight may show no progress before its rest is written again. */
const EXIT_WAIT_MS = 100;
/** Atomics.wait on this is a sleep: the one way to wait without an event loop, at exit. */
const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** Every writer of this process, for the exit hook. */
const writers = new Map<string, TraceWriter>();
const live = new Set<TraceWriter>();
let exitHooked = false;
let lastSocketId = 0;

/**
 * The trace settings in `env` (default: this process's environment, read at each call):
 * null when DATASOCKET_TRACE is unset or empty, so an untraced socket does nothing more.
 */
export function traceSettings(env: NodeJS.ProcessEnv = process.env): TraceSettings | null {
  const dir = env.DATASOCKET_TRACE;
  if (dir === undefined || dir === '') return null;
  return { dir: path.resolve(dir), values: env.DATASOCKET_TRACE_VALUES === '1' };
}

/** This process's writer for `dir` (resolved; one per directory, made on first use). */
export function traceWriter(dir: string): TraceWriter {
  const resolved = path.resolve(dir);
  let writer = writers.get(resolved);
  if (writer === undefined) {
    writer = new TraceWriter(resolved);
    writers.set(resolved, writer);
  }
  return writer;
}

/**
 * Writes out what this process traced into `dir` and closes its file (see TraceWriter.close);
 * nothing if it never traced there. For a test runner that gives each test its own directory:
 * a long-lived worker would otherwise hold one open file per test.
 */
export async function closeTraceWriter(dir: string): Promise<void> {
  // The writer itself stays (a few hundred bytes): a socket still tracing there writes through it, and reopens the file.
  await writers.get(path.resolve(dir))?.close();
}

/** A new socket id, unique in this process (1, 2, 3…). */
export function nextTraceSocketId(): number {
  return ++lastSocketId;
}

/** Options of a TraceWriter made directly; for tests. */
export interface TraceWriterOptions {
  /** How many bytes may wait for the disk before records are dropped (default 8 MiB). */
  maxWaitingBytes?: number;
}

/**
 * Appends trace records to `<dir>/<pid>.jsonl`. Get one with traceWriter(); the
 * constructor is for tests that need their own cap.
 */
export class TraceWriter {
  /** The file this writer appends to. */
  readonly file: string;
  readonly #dir: string;
  readonly #pid = process.pid;
  readonly #maxWaiting: number;
  #state: 'new' | 'opening' | 'open' | 'failed' = 'new';
  #fd = -1;
  /** Lines not yet handed to the OS, and their length in characters. */
  #queue: string[] = [];
  #queued = 0;
  /** The batch being written, how much of it is written, and the file's size before it. */
  #batch: Buffer | undefined;
  #batchDone = 0;
  #batchAt = 0;
  /** The file's size as far as this writer knows (it is the file's only writer). */
  #size = 0;
  /** Records dropped since the last `trace-dropped` record. */
  #dropped = 0;
  #scheduled = false;
  #exited = false;
  #idle: (() => void)[] = [];

  constructor(dir: string, options: TraceWriterOptions = {}) {
    this.#dir = path.resolve(dir);
    // A worker thread shares the pid: its own file, so the one-writer-per-file reckoning at exit holds.
    this.file = path.join(this.#dir, threadId === 0 ? `${this.#pid}.jsonl` : `${this.#pid}-${threadId}.jsonl`);
    this.#maxWaiting = options.maxWaitingBytes ?? MAX_WAITING_BYTES;
    live.add(this);
    if (!exitHooked) {
      exitHooked = true;
      // Not ref'd, so it keeps nothing alive; exit is the one place where sync I/O cannot hurt.
      process.on('exit', () => {
        for (const writer of live) writer.#writeSync();
      });
    }
  }

  /**
   * Appends one record as a JSON line, `time` (ms since the epoch, with µs) and `pid`
   * first, then the record's own fields in their order. Never blocks and never throws:
   * the line goes out with the next batch; a record JSON refuses is written with its
   * value replaced by a note.
   */
  write(record: TraceRecord): void {
    if (this.#state === 'failed') return;
    const line = this.#line(record);
    // Once dropping, drop until the count is written, so no record lands out of its place.
    if (this.#dropped > 0 || this.#queued + this.#waitingInBatch() + line.length > this.#maxWaiting) {
      this.#dropped++;
      // The count is written with the next batch: make sure there is one, even on an idle writer.
      if (!this.#exited) this.#schedule();
      return;
    }
    this.#queue.push(line);
    this.#queued += line.length;
    if (this.#exited) this.#writeSync();
    else this.#schedule();
  }

  /** Resolves once every record written so far is on disk, dropped, or lost to a failed directory. */
  flush(): Promise<void> {
    if (this.#isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /**
   * Resolves once everything written so far is on disk and the file is closed. A record
   * written later opens it again: a socket still tracing here loses nothing.
   */
  async close(): Promise<void> {
    // A socket still tracing may add records while this waits: a few rounds, then the file stays open for it.
    for (let round = 0; round < CLOSE_ROUNDS; round++) {
      await this.flush();
      if (this.#state === 'new' || this.#state === 'failed') return;
      // Only while idle: a batch scheduled or written since would still need the descriptor.
      if (this.#state !== 'open' || !this.#isIdle() || this.#scheduled) continue;
      const fd = this.#fd;
      this.#fd = -1;
      this.#state = 'new';
      await new Promise<void>((resolve) => fs.close(fd, () => resolve()));
      return;
    }
  }

  #line(record: Record<string, unknown>): string {
    const time = Math.round((performance.timeOrigin + performance.now()) * 1000) / 1000;
    let body: string | undefined;
    try {
      body = JSON.stringify(record);
    } catch (error) {
      body = fallback(record, error);
    }
    if (typeof body !== 'string' || !body.startsWith('{')) body = '{}';
    return `{"time":${time},"pid":${this.#pid}${THREAD}${body.length > 2 ? ',' : ''}${body.slice(1)}\n`;
  }

  #waitingInBatch(): number {
    return this.#batch === undefined ? 0 : this.#batch.length - this.#batchDone;
  }

  #isIdle(): boolean {
    return this.#state === 'failed' || (this.#queue.length === 0 && this.#dropped === 0 && this.#batch === undefined);
  }

  #schedule(): void {
    if (this.#scheduled || this.#batch !== undefined || this.#state === 'opening') return;
    this.#scheduled = true;
    // Unref'd: a trace never keeps a process alive; if the loop ends first, the exit hook writes.
    setImmediate(() => {
      this.#scheduled = false;
      if (this.#state === 'new') this.#open();
      else if (this.#state === 'open') this.#writeBatch();
    }).unref();
  }

  #open(): void {
    this.#state = 'opening';
    fs.mkdir(this.#dir, { recursive: true, mode: 0o700 }, (mkdirError) => {
      if (mkdirError) return this.#fail(mkdirError);
      // 0o600: with DATASOCKET_TRACE_VALUES the file holds what the app sent.
      fs.open(this.file, 'a', 0o600, (openError, fd) => {
        if (openError) return this.#fail(openError);
        fs.fstat(fd, (statError, stats) => {
          if (statError) return this.#fail(statError);
          this.#fd = fd;
          this.#size = stats.size;
          this.#state = 'open';
          this.#writeBatch();
        });
      });
    });
  }

  #takeBatch(): Buffer | undefined {
    if (this.#dropped > 0) {
      const count = this.#dropped;
      this.#dropped = 0;
      this.#queue.push(this.#line({ event: 'trace-dropped', count }));
    }
    if (this.#queue.length === 0) return undefined;
    const batch = Buffer.from(this.#queue.join(''));
    this.#queue = [];
    this.#queued = 0;
    return batch;
  }

  #writeBatch(): void {
    const batch = this.#takeBatch();
    if (batch === undefined) return this.#settle();
    this.#batch = batch;
    this.#batchDone = 0;
    this.#batchAt = this.#size;
    this.#writeRest();
  }

  #writeRest(): void {
    const batch = this.#batch!;
    fs.write(this.#fd, batch, this.#batchDone, batch.length - this.#batchDone, null, (error, written) => {
      if (error) return this.#fail(error);
      this.#batchDone += written;
      this.#size += written;
      if (this.#batchDone < batch.length) return this.#writeRest();
      this.#batch = undefined;
      if (this.#queue.length > 0 || this.#dropped > 0) this.#schedule();
      else this.#settle();
    });
  }

  #settle(): void {
    if (!this.#isIdle()) return;
    for (const resolve of this.#idle.splice(0)) resolve();
  }

  #fail(error: NodeJS.ErrnoException): void {
    if (this.#state === 'failed') return;
    this.#state = 'failed';
    this.#queue = [];
    this.#queued = 0;
    this.#batch = undefined;
    this.#dropped = 0;
    if (this.#fd >= 0) fs.close(this.#fd, () => {});
    this.#fd = -1;
    console.warn(`datasocket: cannot write the trace file ${this.file} (${error.code ?? error.name}: ${error.message}); this process is not traced from here on`);
    this.#settle();
  }

  /**
   * How much of the batch in flight reached the file. Its write runs on libuv's thread
   * pool and may be queued, running, or done. The file's size tells: wait while it grows;
   * once it stops short of the batch's end for EXIT_WAIT_MS, the rest is written here.
   * A write still queued then (the pool busy with other work) runs anyway when Node shuts
   * the pool down after the exit handlers, so that rest lands twice — whole lines, which
   * readTrace drops — rather than risk losing it.
   */
  #writtenAtExit(batch: Buffer): number {
    const end = this.#batchAt + batch.length;
    let size = fs.fstatSync(this.#fd).size;
    let changed = Date.now();
    while (size < end && Date.now() - changed < EXIT_WAIT_MS) {
      Atomics.wait(sleeper, 0, 0, 1);
      const now = fs.fstatSync(this.#fd).size;
      if (now !== size) {
        size = now;
        changed = Date.now();
      }
    }
    return Math.min(Math.max(size - this.#batchAt, 0), batch.length);
  }

  /** At exit: the unwritten rest of a batch in flight, then the queue, written synchronously. */
  #writeSync(): void {
    this.#exited = true;
    if (this.#state === 'failed') return;
    try {
      let rest: Buffer | undefined;
      if (this.#batch !== undefined) {
        rest = this.#batch.subarray(this.#writtenAtExit(this.#batch));
        this.#batch = undefined;
      }
      const queued = this.#takeBatch();
      const out = rest === undefined ? queued : queued === undefined ? rest : Buffer.concat([rest, queued]);
      if (out === undefined || out.length === 0) return;
      if (this.#fd < 0) {
        fs.mkdirSync(this.#dir, { recursive: true, mode: 0o700 });
        this.#fd = fs.openSync(this.file, 'a', 0o600);
        this.#state = 'open';
      }
      for (let done = 0; done < out.length; ) done += fs.writeSync(this.#fd, out, done);
    } catch (error) {
      this.#fail(error as NodeJS.ErrnoException);
    }
  }
}

/** The record with its value replaced by a note; failing that, its plain fields alone. */
function fallback(record: Record<string, unknown>, error: unknown): string {
  let note = 'not serializable';
  try {
    note = `not serializable: ${error instanceof Error ? error.message : String(error)}`;
  } catch {
    // An error whose message cannot be read still leaves the note.
  }
  try {
    return JSON.stringify({ ...record, value: { $unrenderable: note } });
  } catch {
    try {
      const plain: Record<string, unknown> = {};
      for (const [key, field] of Object.entries(record)) {
        if (typeof field === 'string' || typeof field === 'boolean' || (typeof field === 'number' && Number.isFinite(field))) plain[key] = field;
      }
      plain.unserializable = note;
      return JSON.stringify(plain);
    } catch {
      return JSON.stringify({ unserializable: note });
    }
  }
}
