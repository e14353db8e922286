/**
 * The election of `connectOrListen` (SPEC §9): who may listen on a rendezvous endpoint.
 *
 * Why it is atomic. A member listens on the endpoint only while it holds the
 * endpoint's election lock, and the lock is one the OS hands to one process at a
 * time and takes back by itself when that process dies:
 * - Linux: a socket bound in the abstract namespace (`\0datasocket-election-<hash of
 *   the socket's real path>`). A second bind fails with EADDRINUSE; the name vanishes
 *   with the last descriptor, so a SIGKILLed leader frees it at once and leaves no file
 *   behind. Abstract names have no permissions: another local user could bind it first
 *   and keep every member from leading — members then end with ERR_DATASOCKET_TIMEOUT,
 *   never with two leaders (the socket file itself stays in the 0700 directory).
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
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { asDataSocketError, DataSocketError, ErrorCode } from '../../shared/errors.js';
import type { ResolvedOptions } from '../../shared/options.js';
import { ensureTargetDirectory, isSocketFile, type Target } from './endpoint.js';
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

/** Linux's sun_path: 108 bytes, the leading NUL of an abstract name included. */
const SUN_PATH_BYTES = 108;

/**
 * The abstract socket name that stands for the election at `socketPath`: a hash of the
 * socket's real location (its directory resolved through symlinks, so `/var/run/x.sock`
 * and `/run/x.sock` are one election), padded to fill sun_path. Filling it matters:
 * Node 20 binds an abstract name padded with NULs to all 108 bytes, Node 22 binds it at
 * its length, and the kernel compares the bytes bound — so a shorter name would be two
 * locks between an Electron main (Node 22) and a Node 20 service.
 */
export function abstractLockName(socketPath: string): string {
  const digest = createHash('sha256').update(realLocation(socketPath)).digest('hex');
  const name = `\0datasocket-election-${digest}`;
  return name.padEnd(SUN_PATH_BYTES, '.');
}

/** `socketPath` with its directory resolved (the socket itself may not exist yet). */
function realLocation(socketPath: string): string {
  const dir = path.dirname(socketPath);
  let real: string;
  try {
    real = fs.realpathSync(dir);
  } catch {
    real = path.resolve(dir); // binding will report why the directory is unusable
  }
  return path.join(real, path.basename(socketPath));
}

function abstractLock(socketPath: string): Promise<ElectionLock | null> {
  const name = abstractLockName(socketPath);
  return new Promise((resolve, reject) => {
    // Anyone may connect to an abstract socket: close what comes, and never let an error through.
    const server = net.createServer((socket) => socket.destroy());
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE') resolve(null);
      else reject(error);
    });
    server.listen(name, () => {
      server.on('error', () => {}); // an accept that fails later (EMFILE) does not end the lock
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
async function acquireElectionLock(target: Extract<Target, { kind: 'local' }>): Promise<ElectionLock | null> {
  switch (electionLockKind()) {
    case 'abstract-socket':
      ensureTargetDirectory(target, true); // so its real path is known
      return abstractLock(target.path);
    case 'locked-file':
      ensureTargetDirectory(target, true); // the lock file lives there
      return lockedFile(target.path);
    case 'pipe':
      return NO_LOCK;
    case 'none':
      throw new DataSocketError(ErrorCode.INVALID_ARGUMENT, `connectOrListen on a local socket is not supported on ${process.platform}; give a port`);
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
  // Every failure, thrown or not, arrives as `failed`: never as an exception of the caller's.
  Promise.resolve(target)
    .then(acquireElectionLock)
    .then(
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
      inner = listen(target, options, tlsOptions, {
        ...events,
        failed: (error) => {
          // A file that is not a socket holds the name: nobody can lead there, and nobody to follow.
          if (error.code === 'EADDRINUSE' && process.platform !== 'win32' && fs.existsSync(target.path) && !isSocketFile(target.path)) {
            fail(new DataSocketError('EEXIST', `${target.path} exists and is not a socket; remove it or use another name`, { syscall: 'listen', address: target.path }));
          } else {
            fail(error);
          }
        },
      });
    })
    .catch((error: unknown) => fail(asDataSocketError(error, ErrorCode.PROTOCOL)));
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
