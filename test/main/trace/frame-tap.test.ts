/**
 * §13 main's look at a page socket's frames (src/main/trace/frame-tap.ts): without the
 * page's consent it only walks headers — every value, request and reply counted however
 * the stream is cut into chunks, no body kept — and with it, it decodes the values a
 * record lists.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ValueEncoder } from '../../../src/shared/codec.js';
import { FrameWriter } from '../../../src/shared/frames.js';
import { FrameKind } from '../../../src/shared/protocol.js';
import { FrameTap, loadDecoder } from '../../../src/main/trace/frame-tap.js';
import { SocketTrace } from '../../../src/main/trace/socket-trace.js';
import { readTrace } from '../../../src/main/trace/trace-merge.js';
import { closeTraceWriter } from '../../../src/main/trace/trace-writer.js';
import { concat } from '../../helpers/bytes.js';
import { useTraceDir } from '../../helpers/datasocket-env.js';

const traceDir = useTraceDir('tap-', { values: false });
afterEach(() => closeTraceWriter(traceDir()));

/** A stream of 40 values (one of 200 KiB), 5 requests and 3 replies, as one byte array. */
function stream(): Uint8Array {
  const writer = new FrameWriter();
  const encoder = new ValueEncoder();
  const limits = { maxFrameBytes: 1 << 24, budget: 1 << 30 };
  for (let i = 0; i < 40; i++) encoder.encode(i === 7 ? new Uint8Array(200 * 1024) : { i, text: 'x'.repeat(i) }, writer, limits);
  for (let id = 1; id <= 5; id++) encoder.encode(`request ${id}`, writer, limits, FrameKind.REQUEST, id);
  for (let id = 1; id <= 3; id++) encoder.encode(`reply ${id}`, writer, limits, FrameKind.REPLY, id);
  writer.appendControl(FrameKind.PING);
  return concat(writer.take().chunks);
}

async function dataRecords() {
  await closeTraceWriter(traceDir());
  return (await readTrace(traceDir())).entries.filter((e) => e.event === 'data');
}

describe('§13 FrameTap', () => {
  for (const cut of [1, 3, 5, 7, 4096, Infinity]) {
    it(`headers only: every value, request and reply counted with the stream cut every ${cut} bytes`, async () => {
      const trace = SocketTrace.open('client', 'x', { values: false })!;
      const tap = new FrameTap(trace, 'in', 1 << 24);
      const bytes = stream();
      const step = Math.min(cut, bytes.length);
      for (let at = 0; at < bytes.length; at += step) {
        const chunk = bytes.subarray(at, at + step);
        tap.push(chunk);
        trace.read(chunk.length);
      }
      const records = await dataRecords();
      const total = (field: string) => records.reduce((t, e) => t + ((e[field] as number | undefined) ?? 0), 0);
      expect([total('count'), total('requests'), total('replies')]).toEqual([40, 5, 3]);
      expect(total('bytes')).toBeLessThanOrEqual(bytes.length);
      expect(records.some((e) => e.values !== undefined)).toBe(false);
    });
  }

  it('with the page\'s consent and values on, it decodes the values a record lists', async () => {
    process.env.DATASOCKET_TRACE_VALUES = '1';
    loadDecoder();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const trace = SocketTrace.open('client', 'x', { values: true })!;
    const tap = new FrameTap(trace, 'in', 1 << 24);
    const bytes = stream();
    tap.push(bytes.subarray(0, 1000));
    tap.push(bytes.subarray(1000));
    trace.read(bytes.length);
    const [record] = await dataRecords();
    expect(record!.count).toBe(40);
    expect((record!.values as unknown[])[0]).toEqual({ i: 0, text: '' });
    const requests = (await readTrace(traceDir())).entries.filter((e) => e.event === 'request');
    expect(requests.map((e) => [e.id, e.value])).toEqual([1, 2, 3, 4, 5].map((id) => [id, `request ${id}`]));
  });
});
