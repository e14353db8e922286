/**
 * The client side of opening a connection: connect (net or tls), run the
 * handshake within `handshakeTimeoutMs`, and report either the accepted socket
 * or one error. Shared by Node's DataSocket and the Electron bridge's host.
 */
import net from 'node:net';
import tls from 'node:tls';
import { asDataSocketError, DataSocketError, ErrorCode } from '../../shared/errors.js';
import type { ResolvedOptions } from '../../shared/options.js';
import { ensureTargetDirectory, withTlsOptions, type Target } from './endpoint.js';
import { Handshake, rememberPeer } from './handshake.js';

/** How a dial ends: exactly one of these is called, unless it is aborted first. */
export interface DialEvents {
  /** Accepted by the listener; `rest` holds the first frame bytes, if any came with the verdict. */
  accepted(socket: net.Socket, rest: Uint8Array): void;
  failed(error: DataSocketError): void;
}

/** A dial in progress. */
export interface Dialing {
  /** Stops the dial; no event is reported afterwards. */
  abort(): void;
}

/** Opens a connection to `target` and runs the client handshake. */
export function dial(target: Target, options: ResolvedOptions, tlsOptions: tls.ConnectionOptions | undefined, events: DialEvents): Dialing {
  if (target.kind === 'local' && target.dir !== undefined) {
    // Connecting into someone else's directory could reach an impostor listener.
    try {
      ensureTargetDirectory(target, false);
    } catch (error) {
      let aborted = false;
      queueMicrotask(() => aborted || events.failed(asDataSocketError(error, ErrorCode.PROTOCOL)));
      return { abort: () => (aborted = true) };
    }
  }
  const connectEvent = tlsOptions ? 'secureConnect' : 'connect';
  let socket: net.Socket;
  if (target.kind === 'local') {
    socket = tlsOptions ? withTlsOptions(() => tls.connect({ ...tlsOptions, path: target.path })) : net.connect({ path: target.path });
  } else if (tlsOptions) {
    const servername = net.isIP(target.host) === 0 ? target.host : undefined;
    socket = withTlsOptions(() => tls.connect({ servername, ...tlsOptions, host: target.host, port: target.port }));
  } else {
    socket = net.connect({ host: target.host, port: target.port });
  }
  let settled = false;
  let connected = false;
  const handshake = new Handshake('client', options.token, (bytes) => socket.write(bytes));

  const cleanup = (): void => {
    settled = true;
    clearTimeout(timer);
    socket.off(connectEvent, onConnect);
    socket.off('data', onData);
    socket.off('error', onError);
    socket.off('close', onClose);
  };
  const stop = (): void => {
    cleanup();
    socket.on('error', ignore);
    socket.destroy();
  };
  const fail = (error: DataSocketError): void => {
    if (settled) return;
    stop();
    events.failed(error);
  };
  const onConnect = (): void => {
    connected = true;
    if (target.kind === 'tcp') socket.setNoDelay(true);
    handshake.start();
  };
  const onData = (chunk: Buffer): void => {
    let step;
    try {
      step = handshake.push(chunk);
    } catch (error) {
      fail(asDataSocketError(error, ErrorCode.PROTOCOL));
      return;
    }
    if (!step.done) return;
    cleanup();
    rememberPeer(socket, handshake);
    events.accepted(socket, step.rest);
  };
  const onError = (error: Error): void => fail(asDataSocketError(error, ErrorCode.PROTOCOL));
  const onClose = (): void => {
    fail(
      handshake.helloReceived
        ? new DataSocketError('ECONNRESET', 'the listener closed the connection during the handshake')
        : new DataSocketError(ErrorCode.PROTOCOL, 'the peer closed the connection without identifying as a DataSocket'),
    );
  };
  const timer = setTimeout(() => {
    const ms = options.handshakeTimeoutMs;
    if (!connected) fail(new DataSocketError(ErrorCode.TIMEOUT, `connecting took longer than ${ms} ms`));
    else if (!handshake.helloReceived) fail(new DataSocketError(ErrorCode.PROTOCOL, `the peer did not identify as a DataSocket within ${ms} ms`));
    else fail(new DataSocketError(ErrorCode.TIMEOUT, `the listener gave no verdict within ${ms} ms`));
  }, options.handshakeTimeoutMs);

  socket.once(connectEvent, onConnect);
  socket.on('data', onData);
  socket.on('error', onError);
  socket.on('close', onClose);
  return {
    abort(): void {
      if (!settled) stop();
    },
  };
}

function ignore(): void {}
