/**
 * A listener that is no DataSocket: it sends a HELLO with the flags it is given, accepts
 * the client (56 00) once the client's HELLO is in, and keeps every byte the client writes.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import path from 'node:path';
import { encodeHello, encodeVerdict, HELLO_BYTES, Verdict } from '../../src/shared/protocol.js';
import { tempDir } from './sockets.js';

/** Listens on a socket file in a fresh directory (named with `dirPrefix`); the caller closes `server`. */
export async function foreignListener(helloFlags: number, dirPrefix: string): Promise<{ server: net.Server; file: string; received: Buffer[] }> {
  const file = path.join(tempDir(dirPrefix), 'foreign.sock');
  const received: Buffer[] = [];
  const server = net.createServer((socket) => {
    socket.write(encodeHello(helloFlags, randomBytes(16)));
    let verdictSent = false;
    socket.on('data', (chunk) => {
      received.push(chunk);
      if (!verdictSent && Buffer.concat(received).length >= HELLO_BYTES) {
        verdictSent = true;
        socket.write(encodeVerdict(Verdict.ACCEPTED));
      }
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(file, resolve));
  return { server, file, received };
}
