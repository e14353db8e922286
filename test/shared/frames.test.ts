/**
 * §4 frames out: what FrameWriter hands out, and when it may write into memory again.
 * A send is a snapshot, so a value's bytes are copied; a large value's buffer is kept a
 * moment after its bytes reached the OS, so the next large value is copied into memory
 * already touched (several times quicker than fresh pages) — and never before.
 */
import { describe, expect, it } from 'vitest';
import { FrameWriter } from '../../src/shared/frames.js';
import { FRAME_HEADER_BYTES } from '../../src/shared/protocol.js';

const LARGE = 4 * 1024 * 1024;

function body(size: number, fill: number): Uint8Array {
  return new Uint8Array(size).fill(fill);
}

/** The ArrayBuffers holding a batch's bytes. */
function buffersOf(chunks: Uint8Array[]): ArrayBufferLike[] {
  return chunks.map((chunk) => chunk.buffer);
}

describe('§4 a large frame gets a buffer of its own, reused only once its bytes reached the OS', () => {
  it('a large frame is copied whole into its own buffer: header, then the body', () => {
    const writer = new FrameWriter();
    const value = body(LARGE, 7);
    writer.append(0x10, value);
    value.fill(9); // a send is a snapshot: later changes do not reach what was taken
    const { chunks } = writer.take();
    expect(chunks).toHaveLength(1);
    expect(chunks[0]!.length).toBe(FRAME_HEADER_BYTES + LARGE);
    expect(chunks[0]!.subarray(FRAME_HEADER_BYTES).every((b) => b === 7)).toBe(true);
  });

  it('while a batch is in flight its buffer is never handed out again', () => {
    const writer = new FrameWriter();
    writer.append(0x10, body(LARGE, 1));
    const first = writer.take();
    writer.append(0x10, body(LARGE, 2));
    const second = writer.take();
    expect(buffersOf(second.chunks)).not.toContain(first.chunks[0]!.buffer);
    // The first batch's bytes are untouched by the second append.
    expect(first.chunks[0]!.subarray(FRAME_HEADER_BYTES).every((b) => b === 1)).toBe(true);
  });

  it('once recycled, the next large frame (of this or another writer) reuses it, if it fits without wasting more than half', () => {
    const writer = new FrameWriter();
    writer.append(0x10, body(LARGE, 1));
    const sent = writer.take();
    writer.recycle(sent.retired);
    const other = new FrameWriter();
    other.append(0x10, body(LARGE - 100, 3));
    const reused = other.take();
    expect(reused.chunks[0]!.buffer).toBe(sent.chunks[0]!.buffer);
    expect(reused.chunks[0]!.length).toBe(FRAME_HEADER_BYTES + LARGE - 100);
    expect(reused.chunks[0]!.subarray(FRAME_HEADER_BYTES).every((b) => b === 3)).toBe(true);
    // It was handed out: a third large frame gets fresh memory, not the one in flight.
    other.append(0x10, body(LARGE, 4));
    expect(other.take().chunks[0]!.buffer).not.toBe(sent.chunks[0]!.buffer);
  });

  it('a kept buffer much larger than the frame is left alone (a small frame does not pin a large buffer), and stays kept for one that fits', () => {
    const writer = new FrameWriter();
    writer.append(0x10, body(LARGE, 1));
    const sent = writer.take();
    writer.recycle(sent.retired);
    writer.append(0x10, body(LARGE / 4, 2));
    expect(writer.take().chunks[0]!.buffer).not.toBe(sent.chunks[0]!.buffer);
    writer.append(0x10, body(LARGE, 5));
    expect(writer.take().chunks[0]!.buffer).toBe(sent.chunks[0]!.buffer);
  });
});
