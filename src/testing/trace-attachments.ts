/**
 * What a failed test gets attached to its Playwright report (SPEC §13): the merged
 * socket trace of every process of the test, as a timeline to read and as the JSON
 * lines to process, and what each launched instance wrote to stdout and stderr.
 * No Playwright here; the fixture hands these to `testInfo.attach`.
 */
import { formatTimeline, readTrace } from '../main/trace/trace-merge.js';
import { closeTraceWriter } from '../main/trace/trace-writer.js';

/** One attachment, in the shape `testInfo.attach(name, { body, contentType })` takes. */
export interface Attachment {
  readonly name: string;
  readonly body: string;
  readonly contentType: string;
}

/**
 * The attachments for the trace in `dir`: `datasocket-trace` (the timeline) and
 * `datasocket-trace.jsonl` (its records, merged, one JSON object a line), or none when
 * nothing was traced. Never rejects: a trace that cannot be read must not hide the
 * test's own failure, so it becomes a `datasocket-trace-error` attachment saying why.
 */
export async function traceAttachments(dir: string): Promise<Attachment[]> {
  try {
    // This process's own sockets (the test's probes) write in batches: get them on disk first.
    await closeTraceWriter(dir);
    const { entries, malformed } = await readTrace(dir);
    if (entries.length === 0) return [];
    const note = malformed > 0 ? `(${malformed} line${malformed === 1 ? '' : 's'} that were not trace records left out)\n` : '';
    return [
      { name: 'datasocket-trace', body: note + formatTimeline(entries), contentType: 'text/plain' },
      { name: 'datasocket-trace.jsonl', body: entries.map((entry) => JSON.stringify(entry)).join('\n') + '\n', contentType: 'application/x-ndjson' },
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
