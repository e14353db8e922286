/**
 * SPEC §13 `launchInstance`: what an instance writes is kept for the report — the
 * last MiB of each stream, in time proportional to what arrives, however chatty the app.
 */
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/shared/errors.js';
import { OutputTail } from '../../src/testing/output-tail.js';

const MIB = 1024 * 1024;

describe('§13 launchInstance: the output kept for the report', () => {
  it('keeps exactly the last maxChars characters, cutting into a chunk where the limit falls', () => {
    const tail = new OutputTail(10);
    const all: string[] = [];
    for (const chunk of ['abc', 'defgh', 'ij', 'klmnopq', 'r', '', 'stuvwxyz0123']) {
      tail.push(chunk);
      all.push(chunk);
      expect(tail.text()).toBe(all.join('').slice(-10));
    }
  });

  it('keeps one chunk longer than the limit as its end', () => {
    const tail = new OutputTail(4);
    tail.push('0123456789');
    expect(tail.text()).toBe('6789');
  });

  it('keeps everything while under the limit', () => {
    const tail = new OutputTail(MIB);
    tail.push('one\n');
    tail.push(Buffer.from('two\n'));
    expect(tail.text()).toBe('one\ntwo\n');
    expect(tail.text()).toBe('one\ntwo\n');
  });

  it('decodes a UTF-8 character split between two chunks', () => {
    const tail = new OutputTail(100);
    const bytes = Buffer.from('grüße €', 'utf8');
    tail.push(bytes.subarray(0, 3)); // 'gr' and the first byte of 'ü'
    tail.push(bytes.subarray(3, bytes.length - 1)); // … and the first two bytes of '€'
    tail.push(bytes.subarray(bytes.length - 1));
    expect(tail.text()).toBe('grüße €');
  });

  it('takes 50,000 chunks past 1 MiB in linear time, and keeps the last MiB of them exactly', () => {
    const tail = new OutputTail(MIB);
    const chunks: string[] = [];
    const started = performance.now();
    for (let i = 0; i < 50_000; i++) {
      const chunk = `line ${String(i).padStart(6, '0')} ${'x'.repeat(68)}\n`;
      chunks.push(chunk);
      tail.push(chunk);
    }
    const text = tail.text();
    const elapsed = performance.now() - started;
    expect(text.length).toBe(MIB);
    expect(text).toBe(chunks.join('').slice(-MIB));
    expect(text.endsWith(`line 049999 ${'x'.repeat(68)}\n`)).toBe(true);
    // Appending to one string and slicing its end took about 67 s for this on the same machine.
    expect(elapsed).toBeLessThan(5_000);
  });

  it.each([0, -1, 1.5, Number.NaN])('refuses a limit of %s with ERR_DATASOCKET_INVALID_ARGUMENT', (limit) => {
    expect(() => new OutputTail(limit)).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }));
  });
});
