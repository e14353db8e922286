/**
 * The election of `connectOrListen` (SPEC §9): who may listen on a rendezvous endpoint.
 *
 * Why it is atomic. A member listens on the endpoint only while it holds the
 * endpoint's election lock, and the lock is one the OS hands to one process at a
 * time and takes back by itself when that process dies:
 * - Linux: a socket bound in the abstract namespace (`\0datasocket-election-<hash>`).
 *   A second bind fails with EADDRINUSE; the name vanishes with the last descriptor,
 *   so a SIGKILLed leader frees it at once and leaves no file behind. The hash is
 *   keyed with a secret kept in the per-user 0700 directory, so another user cannot
 *   squat the lock name.
 * - macOS and the BSDs: a `<socket path>.lock` file opened with O_EXLOCK|O_NONBLOCK, a
 *   flock(2) lock, released when the process dies. The lock file is never removed
 *   (removing a lock file others may hold open would let two processes lock two files).
 * - Windows: no lock is needed. Creating a pipe server uses FILE_FLAG_FIRST_PIPE_INSTANCE
 *   (libuv's uv_pipe_bind), so a second server of the same name fails with EADDRINUSE,
 *   and a pipe disappears when its last handle closes, so there is no stale name.
 * - TCP (a port on a local address): the bind itself; a port is freed when its process dies.
 *
 * Holding the lock, a member may replace a stale socket file (one nobody accepts on)
 * without racing anyone: every other member that could replace it is waiting for the
 * same lock. So at most one member listens — and every member that does not hold the
 * lock connects to the one that does (or retries until it can), so none is left electing.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { asDataSocketError, DataSocketError, ErrorCode } from '../../shared/errors.js';
import type { ResolvedOptions } from '../../shared/options.js';
import { ensureSocketDirectory, socketDirectory, type Target } from './endpoint.js';
import { listen, type ListenerEvents, type Listening } from './listener.js';

/** How this OS arbitrates the election of a local endpoint. */
export type ElectionLockKind = 'abstract-socket' | 'locked-file' | 'pipe' | 'none';

/** The lock a platform uses for a local endpoint; 'none' means connectOrListen needs a TCP port there. */
export function electionLockKind(platform: NodeJS.Platform = process.platform): ElectionLockKind {
  switch (platform) {
    case 'linux':
    case 'android':
      return 'abstract-socket';
    case 'darwin':
    case 'freebsd':
    case 'openbsd':
    case 'netbsd':
      return 'locked-file';
    case 'win32':
      return 'pipe';
    default:
      return 'none';
  }
}

/**
 * open(2) flags of the BSD lock file: O_EXLOCK (0x20 in <sys/fcntl.h> of macOS and the
 * BSDs, which Node does not export) with O_NONBLOCK, so a held lock fails with EAGAIN
 * instead of waiting.
 */
export function lockedFileFlags(constants: { O_RDWR: number; O_CREAT: number; O_NONBLOCK: number } = fs.constants): number {
  const O_EXLOCK = 0x20;
  return constants.O_RDWR | constants.O_CREAT | constants.O_NONBLOCK | O_EXLOCK;
}

/** A held election lock. */
interface ElectionLock {
  release(): void;
}

const NO_LOCK: ElectionLock = { release() {} };

let electionKey: Buffer | null = null;

/**
 * This user's secret for naming abstract locks: 32 random bytes in `<dir>/election.key`
 * (0600, in the 0700 directory). Written to a temporary file and linked into place, so a
 * reader never sees a half-written key and two first writers agree on one.
 */
function readElectionKey(): Buffer {
  if (electionKey !== null) return electionKey;
  const dir = socketDirectory();
  ensureSocketDirectory(dir, true);
  const file = path.join(dir, 'election.key');
  try {
    electionKey = fs.readFileSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    const temporary = path.join(dir, `election.key.${process.pid}.${randomBytes(6).toString('hex')}`);
    fs.writeFileSync(temporary, randomBytes(32), { mode: 0o600, flag: 'wx' });
    try {
      fs.linkSync(temporary, file);
    } catch (linkError) {
      if ((linkError as NodeJS.ErrnoException).code !== 'EEXIST') throw linkError;
    } finally {
      fs.unlinkSync(temporary);
    }
    electionKey = fs.readFileSync(file);
  }
  if (electionKey.length < 16) throw new DataSocketError('EACCES', `${file} is not an election key; remove it`, { syscall: 'read', address: file });
  return electionKey;
}

/** The abstract socket name that stands for `socketPath`'s election. */
export function abstractLockName(socketPath: string, key: Uint8Array): string {
  const digest = createHash('sha256').update(key).update('\0').update(socketPath).digest('hex').slice(0, 40);
  return `\0datasocket-election-${digest}`;
}

function abstractLock(socketPath: string): Promise<ElectionLock | null> {
  const name = abstractLockName(socketPath, readElectionKey());
  return new Promise((resolve, reject) => {
    const server = net.createServer((socket) => socket.destroy());
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE') resolve(null);
      else reject(error);
    });
    server.listen(name, () => {
      // The lock alone must not keep a process alive; the listener it guards does.
      server.unref();
      resolve({ release: () => server.close() });
    });
  });
}

function lockedFile(socketPath: string): Promise<ElectionLock | null> {
  return new Promise((resolve, reject) => {
    fs.open(`${socketPath}.lock`, lockedFileFlags(), 0o600, (error, fd) => {
      if (error) {
        if (error.code === 'EAGAIN' || error.code === 'EWOULDBLOCK') resolve(null);
        else reject(error);
        return;
      }
      let held = true;
      resolve({
        release: () => {
          if (!held) return;
          held = false;
          fs.close(fd, () => {});
        },
      });
    });
  });
}

/** Takes the election lock of a local endpoint: the lock, or null when another process holds it. */
function acquireElectionLock(socketPath: string): Promise<ElectionLock | null> {
  switch (electionLockKind()) {
    case 'abstract-socket':
      return abstractLock(socketPath);
    case 'locked-file':
      return lockedFile(socketPath);
    case 'pipe':
      return Promise.resolve(NO_LOCK);
    case 'none':
      return Promise.reject(new DataSocketError(ErrorCode.INVALID_ARGUMENT, `connectOrListen on a local socket is not supported on ${process.platform}; give a port`));
  }
}

/**
 * `listen` for a rendezvous: binds `target` only while holding its election lock.
 * When another member holds it, fails with EADDRINUSE ("another member leads").
 * The lock is released when the listener closes or fails. TCP needs no lock.
 */
export function listenElected(target: Target, options: ResolvedOptions, tlsOptions: Parameters<typeof listen>[2], events: ListenerEvents): Listening {
  if (target.kind === 'tcp') return listen(target, options, tlsOptions, events);
  let closed = false;
  let lock: ElectionLock | null = null;
  let inner: Listening | null = null;
  const release = (): void => {
    const held = lock;
    lock = null;
    held?.release();
  };
  const fail = (error: DataSocketError): void => {
    if (closed) return;
    closed = true;
    release();
    events.failed(error);
  };
  acquireElectionLock(target.path).then(
    (acquired) => {
      if (closed) {
        acquired?.release();
        return;
      }
      if (acquired === null) {
        fail(new DataSocketError('EADDRINUSE', `another member leads at ${target.path}`, { syscall: 'listen', address: target.path }));
        return;
      }
      lock = acquired;
      inner = listen(target, options, tlsOptions, { ...events, failed: fail });
    },
    (error: unknown) => fail(asDataSocketError(error, ErrorCode.PROTOCOL)),
  );
  return {
    close(): void {
      if (closed) return;
      closed = true;
      // Closing removes the socket file first; only then may another member take the lock and bind.
      inner?.close();
      release();
    },
  };
}
