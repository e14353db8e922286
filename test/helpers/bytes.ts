/** Byte helpers the tests share. */

/** The chunks, joined into one new buffer. */
export function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

/** Bytes as lowercase hex pairs separated by spaces, cut after `max` bytes. */
export function hex(data: Uint8Array, max = Infinity): string {
  const shown = Array.from(data.subarray(0, Math.min(data.length, max)), (b) => b.toString(16).padStart(2, '0')).join(' ');
  return data.length > max ? `${shown} … (${data.length} bytes)` : shown;
}
