/**
 * A client that speaks the protocol byte by byte, for tests that must send what
 * no DataSocket would: it does the plain handshake (no token), then writes the
 * frames it is given and reports when the listener hangs up.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { encodeHello, FRAME_HEADER_BYTES, FrameKind, HELLO_BYTES, writeFrameHeader } from '../../src/shared/protocol.js';

/** A frame of `kind` around `body`. */
export function frameOf(body: Uint8Array, kind: number = FrameKind.VALUE): Uint8Array {
  const frame = new Uint8Array(FRAME_HEADER_BYTES + body.length);
  writeFrameHeader(frame, 0, body.length, kind);
  frame.set(body, FRAME_HEADER_BYTES);
  return frame;
}

/** Bytes from hex pairs separated by spaces (`'92 c4 01 ff'`). */
export function fromHex(text: string): Uint8Array {
  return Uint8Array.from(text.trim().split(/\s+/), (b) => parseInt(b, 16));
}

/** An accepted raw connection. */
export interface RawClient {
  /** Writes bytes; resolves once they were handed to the OS (or the socket is gone). */
  write(bytes: Uint8Array): Promise<void>;
  /** Resolves when the listener closed or reset the connection. */
  readonly closed: Promise<void>;
  /** Bytes received after the verdict. */
  readonly received: Buffer[];
  destroy(): void;
}

/** Connects to a plain (no token, no TLS) listener at `path` (a local socket) or `port` on 127.0.0.1; resolves once accepted. */
export function rawConnect(at: { path?: string; port?: number }): Promise<RawClient> {
  const socket = at.path !== undefined ? net.connect({ path: at.path }) : net.connect({ host: '127.0.0.1', port: at.port! });
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  const received: Buffer[] = [];
  return new Promise((resolve, reject) => {
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      if (head.length < HELLO_BYTES + 2) return;
      socket.off('data', onData);
      if (head[HELLO_BYTES] !== 0x56 || head[HELLO_BYTES + 1] !== 0x00) {
        reject(new Error(`not accepted: ${head.subarray(HELLO_BYTES).toString('hex')}`));
        return;
      }
      if (head.length > HELLO_BYTES + 2) received.push(head.subarray(HELLO_BYTES + 2));
      socket.on('data', (more: Buffer) => received.push(more));
      resolve({
        write: (bytes) => new Promise((done) => (socket.destroyed ? done() : socket.write(bytes, () => done()))),
        closed,
        received,
        destroy: () => socket.destroy(),
      });
    };
    socket.on('data', onData);
    socket.once('close', () => reject(new Error('the listener closed the connection during the handshake')));
    socket.once('connect', () => socket.write(encodeHello(0x00, randomBytes(16))));
  });
}
