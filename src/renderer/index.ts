/**
 * For page code: the typed `DataSocket` that the preload's `exposeDataSocket()`
 * installed on `window.Net`, and the `Window` typings. Import it from your
 * renderer bundle:
 *
 * ```ts
 * import { DataSocket } from 'electron-datasocket/renderer';
 * const socket = DataSocket.connect('my-app');
 * ```
 *
 * The page can also use `window.Net.DataSocket` directly; this module adds
 * types and a clear error when the preload is missing.
 */
import type { PageDataSocket, PageDataSocketClass, PageOptions, PageRendezvousOptions } from './client.js';

export { ErrorCode } from '../shared/errors.js';
export type { DataSocketError, DataSocketErrorCode } from '../shared/errors.js';
export type { Acceptor, DataSocketAddress, DataSocketEvents, DataSocketState, ValueOf } from '../shared/socket-core.js';
export type { AbortSignalLike, RequestOptions } from '../shared/requests.js';
export type { InferOutput, StandardIssue, StandardResult, StandardSchemaV1 } from '../shared/standard-schema.js';
export type { Rendezvous, RendezvousEvents, RendezvousOptions, RendezvousRole } from '../shared/rendezvous.js';
export type { PageDataSocket, PageDataSocketClass, PageOptions, PageRendezvousOptions };

/** The API the preload exposes at `window.Net`. */
export interface NetApi {
  readonly DataSocket: PageDataSocketClass;
}

declare global {
  interface Window {
    /** Installed by `exposeDataSocket()` in the preload. */
    readonly Net: NetApi;
  }
}

/** The page's DataSocket class at `window[key]`; throws a clear error if the preload did not install it. */
export function getDataSocket(key = 'Net'): PageDataSocketClass {
  const api = (globalThis as Record<string, unknown>)[key] as NetApi | undefined;
  if (api?.DataSocket === undefined) {
    throw new Error(
      `electron-datasocket: window.${key}.DataSocket is missing. Call exposeDataSocket() in this window's preload ` +
        `(with contextIsolation and sandbox on) and installDataSocketBridge() in the main process.`,
    );
  }
  return api.DataSocket;
}

/** `window.Net.DataSocket`, looked up at each call. */
export const DataSocket: PageDataSocketClass = {
  connect: (name: string, port?: number | PageOptions, options?: PageOptions): PageDataSocket => getDataSocket().connect(name, port, options),
  listen: (acceptor, name, port, options) => getDataSocket().listen(acceptor, name, port, options),
  connectOrListen: (acceptor, name, port, options) => getDataSocket().connectOrListen(acceptor, name, port, options),
};
