/**
 * The listening side: bind a local socket (0700 directory, 0600 file, stale
 * files replaced, live ones left alone) or a TCP port; run each incoming
 * handshake within `handshakeTimeoutMs`; hold each authenticated connection
 * until its owner accepts or refuses it (within `acceptTimeoutMs`).
 * Shared by Node's DataSocket and the Electron bridge's host.
 */
import fs from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { asDataSocketError, DataSocketError, ErrorCode } from '../../shared/errors.js';
import type { ResolvedOptions } from '../../shared/options.js';
import type { DataSocketAddress } from '../../shared/socket-core.js';
import { ensureTargetDirectory, isLoopbackHost, isSocketFile, probeLocalSocket, withTlsOptions, type Target } from './endpoint.js';
import { Handshake, rememberPeer } from './handshake.js';

/** An incoming connection that passed its handshake and waits for a verdict. */
export interface PendingConnection {
  /** The accepted connection's address: the listener's name and path, or the peer's host and port. */
  readonly address: DataSocketAddress;
  /** Called once if the peer leaves, breaks the protocol or the accept timeout passes before a verdict. */
  onGone: (() => void) | null;
  /** Sends ACCEPTED and hands over the socket; null if the peer is already gone. */
  accept(): net.Socket | null;
  /** Sends REJECTED and closes. */
  refuse(): void;
}

/** What a listener reports. */
export interface ListenerEvents {
  bound(address: DataSocketAddress): void;
  /** Binding failed, or the server failed later; nothing is reported afterwards. */
  failed(error: DataSocketError): void;
  incoming(pending: PendingConnection): void;
  /** An incoming connection failed before its verdict: TLS or DataSocket handshake error, timeout, or the peer left. */
  refused(error: DataSocketError): void;
}

/** A listener in progress or bound. */
export interface Listening {
  /** Stops accepting and removes the socket file; accepted connections stay open. */
  close(): void;
}

/** How long a refused or failed socket may take to read its verdict before it is cut. */
const LINGER_MS = 1_000;

/** Binds `target` and serves handshakes. */
export function listen(target: Target, options: ResolvedOptions, tlsOptions: tls.TlsOptions | undefined, events: ListenerEvents): Listening {
  const server: net.Server = tlsOptions ? withTlsOptions(() => tls.createServer({ ...tlsOptions, handshakeTimeout: options.handshakeTimeoutMs })) : net.createServer();
  let closed = false;
  let isBound = false;
  let retriedStale = false;

  const fail = (error: DataSocketError): void => {
    if (closed) return;
    closed = true;
    server.close();
    events.failed(error);
  };

  server.on(tlsOptions ? 'secureConnection' : 'connection', (socket: net.Socket) => {
    if (closed) {
      socket.destroy();
      return;
    }
    serveHandshake(socket, target, options, events);
  });
  if (tlsOptions) {
    // A client that fails the TLS handshake (or its timeout) never reaches serveHandshake: report it the same way.
    server.on('tlsClientError', (error: Error) => {
      if (!closed) events.refused(asDataSocketError(error, ErrorCode.PROTOCOL));
    });
  }
  server.on('error', async (error: NodeJS.ErrnoException) => {
    if (closed) return;
    // Windows pipes leave no stale name behind, and a stat of a pipe name would connect to it.
    if (!isBound && error.code === 'EADDRINUSE' && target.kind === 'local' && process.platform !== 'win32' && !retriedStale && isSocketFile(target.path)) {
      retriedStale = true;
      if (await probeLocalSocket(target.path)) {
        fail(new DataSocketError('EADDRINUSE', `a DataSocket listener is live at ${target.path}`, { syscall: 'listen', address: target.path }));
        return;
      }
      try {
        fs.unlinkSync(target.path);
      } catch (unlinkError) {
        fail(asDataSocketError(unlinkError, ErrorCode.PROTOCOL));
        return;
      }
      if (!closed) server.listen(target.path);
      return;
    }
    fail(asDataSocketError(error, ErrorCode.PROTOCOL));
  });
  server.on('listening', () => {
    if (closed) return;
    isBound = true;
    if (target.kind === 'local') {
      if (process.platform !== 'win32') {
        try {
          fs.chmodSync(target.path, 0o600);
        } catch (error) {
          fail(asDataSocketError(error, ErrorCode.PROTOCOL));
          return;
        }
      }
      events.bound({ name: target.name, path: target.path });
    } else {
      const bound = server.address() as net.AddressInfo;
      if (!isLoopbackHost(target.host) && options.token === undefined && tlsOptions === undefined) {
        process.emitWarning(
          `DataSocket listening on ${target.host}:${bound.port} without 'token' or 'tls': anyone who can reach this address can connect`,
          { type: 'DataSocketWarning', code: 'DATASOCKET_INSECURE_LISTEN' },
        );
      }
      events.bound({ name: target.name, port: bound.port });
    }
  });

  // Directory checks touch the file system: do them after listen() returned, so every failure is an event.
  queueMicrotask(() => {
    if (closed) return;
    if (target.kind === 'local') {
      try {
        ensureTargetDirectory(target, true);
      } catch (error) {
        fail(asDataSocketError(error, ErrorCode.PROTOCOL));
        return;
      }
      server.listen(target.path);
    } else {
      server.listen({ host: target.host, port: target.port });
    }
  });

  return {
    close(): void {
      if (closed) return;
      closed = true;
      // Closing the handle removes the socket file; connections already accepted live on.
      server.close();
    },
  };
}

function serveHandshake(socket: net.Socket, target: Target, options: ResolvedOptions, events: ListenerEvents): void {
  if (target.kind === 'tcp') socket.setNoDelay(true);
  let phase: 'handshake' | 'pending' | 'settled' = 'handshake';
  let pending: PendingConnection | null = null;
  const handshake = new Handshake('listener', options.token, (bytes) => socket.write(bytes));

  const detach = (): void => {
    clearTimeout(timer);
    socket.off('data', onData);
    socket.off('close', onClose);
    socket.off('error', onError);
    // Whoever holds the socket next adds its own handler; until then, and while lingering, errors are moot.
    socket.on('error', ignore);
  };
  const linger = (): void => {
    socket.end();
    setTimeout(() => socket.destroy(), LINGER_MS).unref();
  };
  /** Gives the connection up before its verdict: the peer left, broke the protocol, or took too long. */
  const giveUp = (why: DataSocketError, then: 'destroy' | 'linger'): void => {
    if (phase === 'settled') return;
    const wasPending = phase === 'pending';
    phase = 'settled';
    detach();
    if (then === 'linger') linger();
    else socket.destroy();
    if (wasPending) pending?.onGone?.();
    else events.refused(why);
  };
  const onClose = (): void => giveUp(new DataSocketError('ECONNRESET', 'the client left during the handshake'), 'destroy');
  const onError = (error: Error): void => giveUp(asDataSocketError(error, ErrorCode.PROTOCOL), 'destroy');
  const onData = (chunk: Buffer): void => {
    let step;
    try {
      step = handshake.push(chunk);
    } catch (error) {
      // The handshake already wrote the verdict the client should see, if any: let it be read.
      giveUp(asDataSocketError(error, ErrorCode.PROTOCOL), 'linger');
      return;
    }
    if (!step.done || phase !== 'handshake') return;
    phase = 'pending';
    clearTimeout(timer);
    timer = setTimeout(() => {
      if (phase !== 'pending') return;
      pending!.refuse();
      pending!.onGone?.();
    }, options.acceptTimeoutMs);
    pending = {
      address: target.kind === 'local' ? { name: target.name, path: target.path } : { name: socket.remoteAddress ?? '', port: socket.remotePort },
      onGone: null,
      accept(): net.Socket | null {
        if (phase !== 'pending') return null;
        phase = 'settled';
        detach();
        handshake.sendVerdict(true);
        rememberPeer(socket, handshake);
        return socket;
      },
      refuse(): void {
        if (phase !== 'pending') return;
        phase = 'settled';
        detach();
        handshake.sendVerdict(false);
        linger();
      },
    };
    events.incoming(pending);
  };
  let timer = setTimeout(
    () => giveUp(new DataSocketError(ErrorCode.TIMEOUT, `the client did not finish its handshake within ${options.handshakeTimeoutMs} ms`), 'destroy'),
    options.handshakeTimeoutMs,
  );
  socket.on('data', onData);
  socket.on('close', onClose);
  socket.on('error', onError);
  handshake.start();
}

function ignore(): void {}
