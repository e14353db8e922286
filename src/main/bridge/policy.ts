/**
 * Which sockets a page may open. The main process decides, per request; the
 * default allows local sockets, and TCP only on loopback.
 */
import { isLoopbackHost } from '../socket/endpoint.js';

/** One request from a page, as the policy sees it. */
export interface SocketRequest {
  /** `connect` or `listen`. */
  action: 'connect' | 'listen';
  /** `local` for a Unix socket or named pipe, `tcp` with a port. */
  transport: 'local' | 'tcp';
  /** The name the page gave: a socket name or path, or a TCP host. */
  name: string;
  /** The socket file or pipe the name maps to (local sockets). */
  path?: string;
  /** The TCP port (0 for listen means any free port). */
  port?: number;
}

/**
 * Decides on a request; anything but `true` (or a Promise of it) refuses with
 * ERR_DATASOCKET_NOT_ALLOWED. `C` is what the bridge adds about the requester
 * (the webContents, frame and URL, in Electron).
 */
export type SocketPolicy<C = unknown> = (request: SocketRequest & C) => boolean | Promise<boolean>;

/** Local sockets: yes. TCP: only to or on a loopback address. */
export function defaultPolicy(request: SocketRequest): boolean {
  return request.transport === 'local' || isLoopbackHost(request.name);
}
