/**
 * What a failed test gets attached to its Playwright report (SPEC §13): the merged
 * socket trace of every process of the test, as a timeline to read and as the JSON
 * lines to process, and what each launched instance wrote to stdout and stderr.
 * No Playwright here; the fixture hands these to `testInfo.attach`.
 *
 * A trace has no size limit on disk (a busy test writes hundreds of MB), but an
 * attachment is held in the worker's memory and sent to the runner, so each is capped:
 * the end of the trace, which is where a failing test failed, with a first line that
 * says how much was left out and where the whole trace is. A big trace is never read
 * whole either: of each file only its end is parsed, the rest only counted.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { formatTimeline, orderTraceFiles, parseTraceLines, readTrace, type TraceEntry } from '../main/trace/trace-merge.js';
import { closeTraceWriter } from '../main/trace/trace-writer.js';

/** One attachment, in the shape `testInfo.attach(name, { body, contentType })` takes. */
export interface Attachment {
  readonly name: string;
  readonly body: string;
  readonly contentType: string;
}

/** The most each trace attachment holds, in bytes (UTF-8). */
export const MAX_TRACE_ATTACHMENT_BYTES = 8 * 1024 * 1024;

/**
 * The attachments for the trace in `dir`: `datasocket-trace` (the timeline) and
 * `datasocket-trace.jsonl` (its records, merged, one JSON object a line), or none when
 * nothing was traced. Each holds at most `maxBytes` (default 8 MiB) of the trace's
 * end; when records were left out, its first line says how many and names the
 * directory (`npx datasocket trace <dir>` prints all of it) — in the JSONL as a JSON
 * object of its own, `{"leftOut": …}`. Never rejects: a trace that cannot be read must
 * not hide the test's own failure, so it becomes a `datasocket-trace-error`
 * attachment saying why.
 */
export async function traceAttachments(dir: string, maxBytes: number = MAX_TRACE_ATTACHMENT_BYTES): Promise<Attachment[]> {
  try {
    // This process's own sockets (the test's probes) write in batches: get them on disk first.
    await closeTraceWriter(dir);
    const { entries, malformed, leftOut } = await readTraceEnd(dir, maxBytes);
    if (entries.length === 0 && leftOut === 0) return [];
    const jsonl = lastLines(entries.map((entry) => JSON.stringify(entry)), maxBytes);
    const timeline = timelineWithin(entries.slice(jsonl.leftOut), maxBytes);
    const jsonlLeftOut = leftOut + jsonl.leftOut;
    const timelineLeftOut = jsonlLeftOut + timeline.leftOut;
    const jsonlNote = jsonlLeftOut > 0 ? `${JSON.stringify({ leftOut: jsonlLeftOut, note: leftOutNote(jsonlLeftOut, dir, maxBytes) })}\n` : '';
    const timelineNote = timelineLeftOut > 0 ? `(${leftOutNote(timelineLeftOut, dir, maxBytes)})\n` : '';
    const malformedNote = malformed > 0 ? `(${malformed} line${malformed === 1 ? '' : 's'} that were not trace records left out)\n` : '';
    return [
      { name: 'datasocket-trace', body: timelineNote + malformedNote + timeline.text, contentType: 'text/plain' },
      { name: 'datasocket-trace.jsonl', body: jsonlNote + (jsonl.lines.length === 0 ? '' : `${jsonl.lines.join('\n')}\n`), contentType: 'application/x-ndjson' },
    ];
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ENOENT') return []; // nothing ever traced there
    return [{ name: 'datasocket-trace-error', body: `the trace in ${dir} could not be read: ${String(error)}`, contentType: 'text/plain' }];
  }
}

/** The attachments for what launched instances wrote: `<label>-stdout`, `<label>-stderr`, the non-empty ones. */
export function outputAttachments(instances: readonly { label: string; output(): { stdout: string; stderr: string } }[]): Attachment[] {
  const list: Attachment[] = [];
  for (const instance of instances) {
    const output = instance.output();
    for (const stream of ['stdout', 'stderr'] as const) {
      if (output[stream] !== '') list.push({ name: `${instance.label}-${stream}`, body: output[stream], contentType: 'text/plain' });
    }
  }
  return list;
}

function leftOutNote(count: number, dir: string, maxBytes: number): string {
  const mib = Math.round((maxBytes / (1024 * 1024)) * 100) / 100;
  return `the first ${count} records of this trace are left out, to keep this attachment under ${mib} MiB; the whole trace is in ${dir}: \`npx datasocket trace ${dir}\` prints it`;
}

/** The last of `lines` that fit in `maxBytes` (each with its newline), and how many did not. */
function lastLines(lines: readonly string[], maxBytes: number): { lines: string[]; leftOut: number } {
  let bytes = 0;
  let first = lines.length;
  while (first > 0) {
    const size = Buffer.byteLength(lines[first - 1]!) + 1;
    if (bytes + size > maxBytes) break;
    bytes += size;
    first--;
  }
  return { lines: lines.slice(first), leftOut: first };
}

/**
 * The timeline of the last of `entries` that fits in `maxBytes`, and how many entries
 * did not fit. Its lines run longer than the JSON (aligned columns), so entries are
 * dropped off the front by the average line's size until it fits: a few rounds at most.
 */
function timelineWithin(entries: readonly TraceEntry[], maxBytes: number): { text: string; leftOut: number } {
  let kept = entries;
  let text = formatTimeline(kept);
  for (let bytes = Buffer.byteLength(text); bytes > maxBytes; bytes = Buffer.byteLength(text)) {
    const drop = Math.min(kept.length, Math.ceil((bytes - maxBytes) / (bytes / kept.length)) + 1);
    kept = kept.slice(drop);
    text = formatTimeline(kept);
  }
  return { text, leftOut: entries.length - kept.length };
}

/** The end of a trace: its records from the ends of its files, and how many lines came before those ends. */
interface TraceEnd {
  entries: TraceEntry[];
  malformed: number;
  leftOut: number;
}

/**
 * The trace in `dir`, whole (readTrace) when its files add up to `maxBytes` or less;
 * else the last `maxBytes` of each file, merged by time, from the latest time at which
 * a file's end begins (before it, records of that file were not read), with all lines
 * before counted as records left out. Each file is written in time order, so the last
 * `maxBytes` of records by time — all an attachment can hold — come from those ends.
 */
async function readTraceEnd(dir: string, maxBytes: number): Promise<TraceEnd> {
  // readTrace when small: the same errors for a missing directory, and the reader the CLI uses.
  const names = (await fs.readdir(dir)).filter((name) => name.endsWith('.jsonl'));
  // A file gone since the listing counts as empty (its ENOENT would read as "nothing was traced here").
  const sizes = await Promise.all(names.map(async (name) => (await fs.stat(path.join(dir, name)).catch(() => ({ size: 0 }))).size));
  if (sizes.reduce((sum, size) => sum + size, 0) <= maxBytes) {
    const { entries, malformed } = await readTrace(dir);
    return { entries, malformed, leftOut: 0 };
  }
  orderTraceFiles(names);
  const entries: TraceEntry[] = [];
  let malformed = 0;
  let leftOut = 0;
  // Before the latest start of a file's end, some file's records were not read: the merge is whole only from there on.
  let wholeFrom = -Infinity;
  for (const name of names) {
    const end = await readFileEnd(path.join(dir, name), maxBytes);
    leftOut += end.linesBefore;
    const parsed = parseTraceLines(end.lines, name);
    malformed += parsed.malformed;
    let earliest = Infinity;
    for (const entry of parsed.entries) {
      entries.push(entry);
      earliest = Math.min(earliest, entry.time);
    }
    if (end.linesBefore > 0 && earliest !== Infinity) wholeFrom = Math.max(wholeFrom, earliest);
  }
  entries.sort((a, b) => a.time - b.time); // stable: equal times keep file-then-line order
  const first = entries.findIndex((entry) => entry.time >= wholeFrom);
  const partial = first === -1 ? entries.length : first;
  return { entries: entries.slice(partial), malformed, leftOut: leftOut + partial };
}

/** The whole lines in the last `maxBytes` of a file, and how many lines come before them (counted, not read into memory). */
async function readFileEnd(file: string, maxBytes: number): Promise<{ lines: string[]; linesBefore: number }> {
  const handle = await fs.open(file, 'r');
  try {
    const { size } = await handle.stat();
    const start = Math.max(0, size - maxBytes);
    const buffer = Buffer.alloc(size - start);
    let read = 0;
    while (read < buffer.length) {
      const { bytesRead } = await handle.read(buffer, read, buffer.length - read, start + read);
      if (bytesRead === 0) break;
      read += bytesRead;
    }
    const tail = buffer.subarray(0, read);
    if (start === 0) return { lines: tail.toString('utf8').split('\n'), linesBefore: 0 };
    // The first line was cut where the end began: it belongs to the part before.
    const cut = tail.indexOf(0x0a);
    const before = await countNewlines(handle, start);
    if (cut === -1) return { lines: [], linesBefore: before + (read > 0 ? 1 : 0) };
    return { lines: tail.subarray(cut + 1).toString('utf8').split('\n'), linesBefore: before + 1 };
  } finally {
    await handle.close();
  }
}

/** The newlines in the first `end` bytes of a file, read 1 MiB at a time. */
async function countNewlines(handle: fs.FileHandle, end: number): Promise<number> {
  const buffer = Buffer.alloc(Math.min(end, 1024 * 1024));
  let count = 0;
  for (let position = 0; position < end; ) {
    const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, end - position), position);
    if (bytesRead === 0) break;
    const chunk = buffer.subarray(0, bytesRead);
    for (let at = chunk.indexOf(0x0a); at !== -1; at = chunk.indexOf(0x0a, at + 1)) count++;
    position += bytesRead;
  }
  return count;
}
