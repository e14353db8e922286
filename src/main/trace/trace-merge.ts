/**
 * Reading a trace directory back (SPEC §13, `datasocket trace <dir>`): every
 * process's `<pid>.jsonl` merged into one timeline ordered by time, and that timeline
 * printed for a person. The files are input from elsewhere (a process may have died
 * mid-line), so a line that is not a record is counted, never fatal.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { asDataSocketError, DataSocketError, ErrorCode } from '../../shared/errors.js';
import type { TraceRecord } from './trace-writer.js';

/** A record as read back: with the time it was written and the process that wrote it. */
export interface TraceEntry extends TraceRecord {
  /** Milliseconds since the epoch, with µs. */
  time: number;
  pid: number;
}

/** What readTrace found. */
export interface TraceRead {
  /** Every record, ordered by time (equal times: by file, then by line). */
  entries: TraceEntry[];
  /** Lines that were not a JSON object with a numeric time. */
  malformed: number;
  /** How many .jsonl files were read. */
  files: number;
}

/** The longest value text a timeline line shows. */
const MAX_VALUE_CHARS = 1024;

/** Fields every line shows in its own column, or that the details say in their own words. */
const SHOWN = new Set(['time', 'pid', 'thread', 'socket', 'role', 'endpoint', 'event', 'bytes', 'count', 'code', 'message', 'value', 'values', 'peer', 'page']);

/**
 * Reads every `*.jsonl` file in `dir` and merges their records by time. A missing
 * directory rejects with a DataSocketError coded as the OS said (ENOENT, ENOTDIR…).
 */
export async function readTrace(dir: string): Promise<TraceRead> {
  let names: string[];
  try {
    names = (await fs.readdir(dir)).filter((name) => name.endsWith('.jsonl'));
  } catch (error) {
    const failure = asDataSocketError(error, ErrorCode.INVALID_ARGUMENT);
    const what = failure.code === 'ENOENT' ? 'no such directory' : failure.message;
    throw new DataSocketError(failure.code, `cannot read the trace directory ${dir}: ${what}`, { syscall: failure.syscall, cause: error });
  }
  orderTraceFiles(names);
  const entries: TraceEntry[] = [];
  let malformed = 0;
  for (const name of names) {
    const parsed = parseTraceLines((await fs.readFile(path.join(dir, name), 'utf8')).split('\n'), name);
    for (const entry of parsed.entries) entries.push(entry);
    malformed += parsed.malformed;
  }
  // Array.prototype.sort is stable: equal times keep file-then-line order.
  entries.sort((a, b) => a.time - b.time);
  return { entries, malformed, files: names.length };
}

/** Sorts trace file names as readTrace reads them: numeric names (pids) in numeric order, so equal times list processes the same way every time. */
export function orderTraceFiles(names: string[]): string[] {
  return names.sort((a, b) => parseInt(a, 10) - parseInt(b, 10) || (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * The records in `lines` of the trace file `fileName` (`<pid>.jsonl`, `<pid>-<thread>.jsonl`:
 * a record without a pid takes the file's), and how many lines were not records. A line
 * repeated in one file is the writer's last batch written again at exit (trace-writer.ts
 * says when): every record has its µs time and socket, so an exact repeat is never a new
 * event, and it is dropped.
 */
export function parseTraceLines(lines: Iterable<string>, fileName: string): { entries: TraceEntry[]; malformed: number } {
  const filePid = /^\d+(-\d+)?\.jsonl$/.test(fileName) ? parseInt(fileName, 10) : undefined;
  const seen = new Set<string>();
  const entries: TraceEntry[] = [];
  let malformed = 0;
  for (const line of lines) {
    if (line.trim() === '' || seen.has(line)) continue;
    seen.add(line);
    const entry = parseEntry(line, filePid);
    if (entry === undefined) malformed++;
    else entries.push(entry);
  }
  return { entries, malformed };
}

function parseEntry(line: string, filePid: number | undefined): TraceEntry | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  const record = parsed as Record<string, unknown>;
  if (typeof record.time !== 'number' || !Number.isFinite(record.time)) return undefined;
  if (typeof record.pid !== 'number') {
    if (filePid === undefined) return undefined;
    record.pid = filePid;
  }
  return record as TraceEntry;
}

/**
 * The timeline as text, one line per entry in aligned columns: local time
 * (HH:MM:SS.mmm), milliseconds since the first entry, pid, socket (`pid#id`), role,
 * endpoint, event, then what the event carries ("3 values, 120 B", "ECONNRESET: …",
 * the peer socket, the page, any other field as key=value, then `value`/`values`).
 */
export function formatTimeline(entries: readonly TraceEntry[]): string {
  if (entries.length === 0) return '';
  const first = entries[0]!.time;
  const rows = entries.map((entry) => [
    clock(entry.time),
    `+${(entry.time - first).toFixed(3)}ms`,
    String(entry.pid),
    entry.socket === undefined ? '-' : `${owner(entry)}#${String(entry.socket)}`,
    field(entry.role),
    field(entry.endpoint),
    field(entry.event),
    details(entry),
  ]);
  // A loop, not Math.max(...column): a long trace would pass more arguments than a call can take.
  const widths = rows[0]!.map(() => 0);
  for (const row of rows) row.forEach((cell, column) => (widths[column] = Math.max(widths[column]!, cell.length)));
  // The Δ column reads best right-aligned (its digits line up); the last column is not padded.
  return rows
    .map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : column === 1 ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!))).join('  ').trimEnd())
    .join('\n')
    .concat('\n');
}

function clock(time: number): string {
  const date = new Date(time);
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}.${String(date.getMilliseconds()).padStart(3, '0')}`;
}

function field(value: unknown): string {
  if (value === undefined) return '-';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function details(entry: TraceEntry): string {
  const parts: string[] = [];
  if (entry.event === 'trace-dropped') {
    parts.push(`${String(entry.count)} records dropped (the disk could not keep up)`);
  } else {
    const size: string[] = [];
    if (entry.count !== undefined) size.push(`${String(entry.count)} ${entry.count === 1 ? 'value' : 'values'}`);
    if (entry.bytes !== undefined) size.push(`${String(entry.bytes)} B`);
    if (size.length > 0) parts.push(size.join(', '));
  }
  if (entry.code !== undefined || entry.message !== undefined) {
    parts.push([entry.code, entry.message].filter((part) => part !== undefined).map(String).join(': '));
  }
  if (entry.peer !== undefined) parts.push(`peer ${owner(entry)}#${String(entry.peer)}`);
  if (entry.page !== undefined) parts.push(`page ${field(entry.page)}`);
  for (const [key, value] of Object.entries(entry)) {
    if (!SHOWN.has(key)) parts.push(`${key}=${field(value)}`);
  }
  // Last: the longest part, and the one a reader skims past.
  if (Object.hasOwn(entry, 'value')) parts.push(`value ${valueText(entry.value)}`);
  if (Object.hasOwn(entry, 'values')) parts.push(`values ${valueText(entry.values)}`);
  return parts.join('  ');
}

function valueText(value: unknown): string {
  const text = value === undefined ? 'undefined' : JSON.stringify(value);
  return text.length > MAX_VALUE_CHARS ? `${text.slice(0, MAX_VALUE_CHARS)}…` : text;
}

/** Whose socket ids these are: the pid, and the worker thread when it was one (each numbers its sockets). */
function owner(entry: TraceEntry): string {
  return entry.thread === undefined ? String(entry.pid) : `${entry.pid}.${String(entry.thread)}`;
}
