/**
 * electron-datasocket for Node ≥ 20 and the Electron main process.
 *
 * ```ts
 * import { DataSocket } from 'electron-datasocket';
 * const server = DataSocket.listen((connection) => true, 'my-app');
 * const client = DataSocket.connect('my-app').on('connect', () => client.send({ hello: 'world' }));
 * ```
 */
export { DataSocket, type ConnectOptions, type ConnectOrListenOptions, type ListenOptions } from './main/socket/data-socket.js';
export { Rendezvous, type RendezvousEvents, type RendezvousOptions, type RendezvousRole } from './shared/rendezvous.js';
export { DataSocketError, ErrorCode, type DataSocketErrorCode } from './shared/errors.js';
export type { DataSocketOptions } from './shared/options.js';
export type { Acceptor, DataSocketAddress, DataSocketEvents, DataSocketState, ValueOf } from './shared/socket-core.js';
export type { AbortSignalLike, RequestOptions } from './shared/requests.js';
export type { InferOutput, StandardIssue, StandardResult, StandardSchemaV1 } from './shared/standard-schema.js';
