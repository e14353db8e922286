/**
 * A relay between a DataSocket client and a listener that keeps every byte crossing
 * each way, so a test can see which frames the two ends exchanged (a PING, a PONG)
 * without touching either. The relay lives in the test process; both ends are real.
 */
import net from 'node:net';
import path from 'node:path';
import { FRAME_HEADER_BYTES, HELLO_BYTES, readFrameLength, VERDICT_BYTES } from '../../src/shared/protocol.js';
import { tempDir } from './sockets.js';

export type Direction = 'toListener' | 'toClient';

/** What a relay has seen, and how to stop it. */
export interface RecordingRelay {
  /** Where a client connects instead of the listener: an absolute socket path, or 127.0.0.1 and a port. */
  readonly at: { name: string; port?: number };
  /** The kinds of the whole frames that crossed after the handshake (no token), in order. */
  kinds(direction: Direction): number[];
  /** How many frames of `kind` crossed that way. */
  count(direction: Direction, kind: number): number;
  /** Every byte that crossed that way after the handshake (no token), as one buffer. */
  bytes(direction: Direction): Buffer;
  close(): void;
}

/** Starts a relay to the listener at `target` (a socket path, or a TCP port on 127.0.0.1), of the same transport. */
export async function recordingRelay(target: { path: string } | { port: number }): Promise<RecordingRelay> {
  const seen: Record<Direction, Buffer[]> = { toListener: [], toClient: [] };
  const sockets: net.Socket[] = [];
  const server = net.createServer((fromClient) => {
    const toListener = 'path' in target ? net.connect(target.path) : net.connect(target.port, '127.0.0.1');
    sockets.push(fromClient, toListener);
    const pipe = (from: net.Socket, to: net.Socket, direction: Direction): void => {
      from.on('data', (chunk: Buffer) => {
        seen[direction].push(chunk);
        to.write(chunk);
      });
      from.on('end', () => to.end());
      from.on('error', () => to.destroy());
      from.on('close', () => to.destroy());
    };
    pipe(fromClient, toListener, 'toListener');
    pipe(toListener, fromClient, 'toClient');
  });
  const at = await new Promise<{ name: string; port?: number }>((resolve) => {
    if ('path' in target) {
      const file = path.join(tempDir('relay-'), 'relay.sock');
      server.listen(file, () => resolve({ name: file }));
    } else {
      server.listen(0, '127.0.0.1', () => resolve({ name: '127.0.0.1', port: (server.address() as net.AddressInfo).port }));
    }
  });
  // The client's HELLO; the listener's HELLO and its verdict.
  const bytes = (direction: Direction): Buffer => Buffer.concat(seen[direction]).subarray(direction === 'toListener' ? HELLO_BYTES : HELLO_BYTES + VERDICT_BYTES);
  const kinds = (direction: Direction): number[] => {
    const stream = bytes(direction);
    let i = 0;
    const found: number[] = [];
    while (stream.length - i >= FRAME_HEADER_BYTES) {
      const end = i + FRAME_HEADER_BYTES + readFrameLength(stream, i);
      if (end > stream.length) break;
      found.push(stream[i + 4]!);
      i = end;
    }
    return found;
  };
  return {
    at,
    kinds,
    bytes,
    count: (direction, kind) => kinds(direction).filter((k) => k === kind).length,
    close(): void {
      server.close();
      for (const socket of sockets) socket.destroy();
    },
  };
}
