/**
 * Where a DataSocket lives (SPEC §5): a bare name → a socket file in the
 * per-user directory (a named pipe on Windows), inside its namespace when there
 * is one (SPEC §13), an absolute path as given, or TCP with a host and port. Also the file-system care a local socket needs:
 * the 0700 directory owned by the user, 0600 socket files, stale-file replacement.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { DataSocketError, ErrorCode, invalidArgument } from '../../shared/errors.js';
import { checkLocalName, checkNamespace, type Endpoint } from '../../shared/options.js';

/** A resolved endpoint: a local socket path (or pipe name), or a TCP host and port. */
export type Target =
  /**
   * `dir` is the directory the socket file goes in when `name` was a bare name: the per-user
   * directory, or its `namespace` sub-directory.
   */
  | { kind: 'local'; name: string; path: string; dir: string | undefined; namespace?: string | undefined }
  | { kind: 'tcp'; name: string; host: string; port: number };

/** The address a socket at `target` reports: `{ name, path }` or `{ name, port }`. */
export function addressOf(target: Target): { name: string; path?: string; port?: number } {
  return target.kind === 'local' ? { name: target.name, path: target.path } : { name: target.name, port: target.port };
}

/** The longest socket path, in bytes, the OS accepts (sun_path minus its NUL). */
export function maxSocketPathBytes(platform: NodeJS.Platform = process.platform): number {
  return platform === 'linux' || platform === 'android' ? 107 : 103;
}

/** The per-user directory bare names map into (not used on Windows). */
export function socketDirectory(env: NodeJS.ProcessEnv = process.env): string {
  const runtime = env.XDG_RUNTIME_DIR;
  if (runtime !== undefined && path.isAbsolute(runtime)) return path.join(runtime, 'datasocket');
  const uid = typeof process.getuid === 'function' ? process.getuid() : 'user';
  return path.join(os.tmpdir(), `datasocket-${uid}`);
}

/**
 * The namespace bare names resolve in: the one given, else DATASOCKET_NAMESPACE (read at
 * each call, so a test runner can set it per test), else none. Throws
 * ERR_DATASOCKET_INVALID_ARGUMENT for an invalid one, naming where it came from.
 */
export function namespaceOf(given: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (given !== undefined) return checkNamespace(given, "the 'namespace' option");
  const fromEnv = env.DATASOCKET_NAMESPACE;
  if (fromEnv === undefined || fromEnv === '') return undefined;
  return checkNamespace(fromEnv, 'DATASOCKET_NAMESPACE');
}

/** Maps `(name, port)` to where the socket is, checking the name. Throws ERR_DATASOCKET_INVALID_ARGUMENT. */
export function resolveTarget(endpoint: Endpoint, platform: NodeJS.Platform = process.platform): Target {
  const { name, port } = endpoint;
  if (port !== undefined) {
    // '[::1]' is how people write IPv6 hosts next to a port; the socket wants '::1'.
    const host = /^\[.*\]$/.test(name) ? name.slice(1, -1) : name;
    if (host.length === 0 || host.length > 253 || /[\s/\\[\]]/.test(host)) throw invalidArgument(`'${name}' is not a host name or address`);
    return { kind: 'tcp', name, host, port };
  }
  const kind = checkLocalName(name, platform);
  // Checked even for a path, which it does not change: a wrong namespace is a mistake either way.
  const namespace = namespaceOf(endpoint.namespace);
  if (platform === 'win32') {
    if (kind === 'full') return { kind: 'local', name, path: name, dir: undefined };
    const pipe = namespace === undefined ? name : `datasocket-${namespace}-${name}`;
    return { kind: 'local', name, path: `\\\\.\\pipe\\${pipe}`, dir: undefined, namespace };
  }
  if (kind === 'full') return checkedLocal(name, name, undefined, undefined, platform);
  const base = socketDirectory();
  const dir = namespace === undefined ? base : path.join(base, namespace);
  return checkedLocal(name, path.join(dir, `${name}.sock`), dir, namespace, platform);
}

function checkedLocal(name: string, socketPath: string, dir: string | undefined, namespace: string | undefined, platform: NodeJS.Platform): Target {
  const bytes = Buffer.byteLength(socketPath);
  const limit = maxSocketPathBytes(platform);
  if (bytes > limit) {
    const shorter = namespace === undefined ? 'a shorter name or path' : 'a shorter name or namespace';
    throw invalidArgument(`the socket path ${socketPath} has ${bytes} bytes; this OS allows ${limit} (use ${shorter})`);
  }
  return { kind: 'local', name, path: socketPath, dir, namespace };
}

/**
 * Makes sure the directory a bare name's socket goes in is usable (see
 * ensureSocketDirectory): the per-user directory, then its namespace directory.
 */
export function ensureTargetDirectory(target: Extract<Target, { kind: 'local' }>, create: boolean): void {
  if (target.dir === undefined) return;
  if (target.namespace !== undefined) ensureSocketDirectory(path.dirname(target.dir), create);
  ensureSocketDirectory(target.dir, create);
}

/**
 * Makes sure the per-user directory exists, is a real directory owned by this
 * user and open to nobody else. Another user's directory (someone could have
 * made it first in a shared /tmp) is refused with EACCES.
 */
export function ensureSocketDirectory(dir: string, create: boolean): void {
  if (process.platform === 'win32') return;
  if (create) {
    try {
      fs.mkdirSync(dir, { mode: 0o700 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  let stat: fs.Stats;
  try {
    stat = fs.lstatSync(dir);
  } catch (error) {
    if (!create && (error as NodeJS.ErrnoException).code === 'ENOENT') return; // connect will report ENOENT for the socket
    throw error;
  }
  const uid = process.getuid?.();
  if (!stat.isDirectory() || (uid !== undefined && stat.uid !== uid)) {
    throw new DataSocketError('EACCES', `${dir} is not a directory owned by this user; refusing to use it for sockets`, {
      syscall: 'lstat',
      address: dir,
    });
  }
  if ((stat.mode & 0o077) !== 0) fs.chmodSync(dir, 0o700);
}

/** Whether a listener answers on the local socket at `socketPath`. */
export function probeLocalSocket(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.connect(socketPath);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}

/** Whether a socket file exists at `socketPath` (a regular file there is not ours to remove). */
export function isSocketFile(socketPath: string): boolean {
  try {
    return fs.lstatSync(socketPath).isSocket();
  } catch {
    return false;
  }
}

/** Whether binding `host` exposes the socket beyond this machine. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  if (/^::ffff:127\./.test(h)) return true;
  return net.isIPv4(h) && h.startsWith('127.');
}

/** Whether `host` names this machine: a loopback name or address, or an address of one of its interfaces. */
export function isLocalHost(host: string): boolean {
  if (isLoopbackHost(host)) return true;
  const h = canonicalAddress(host.replace(/^\[|\]$/g, '').replace(/%.*$/, ''));
  if (h === '0.0.0.0' || h === '::') return false; // every interface, so reachable from elsewhere
  return Object.values(os.networkInterfaces()).some((list) => list?.some((i) => canonicalAddress(i.address) === h));
}

/** One spelling per address: IPv6 compressed and lower-case (the URL parser's form), an IPv4-mapped IPv6 as its IPv4. */
function canonicalAddress(address: string): string {
  if (net.isIPv6(address)) {
    const canonical = new URL(`http://[${address}]/`).hostname.slice(1, -1);
    const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(canonical);
    if (mapped === null) return canonical;
    const high = parseInt(mapped[1]!, 16);
    const low = parseInt(mapped[2]!, 16);
    return `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`;
  }
  return address.toLowerCase();
}

/** Runs a node:tls constructor; its synchronous throw on unusable options (a bad key, CA or certificate) is a wrong argument. */
export function withTlsOptions<T>(make: () => T): T {
  try {
    return make();
  } catch (error) {
    throw new DataSocketError(ErrorCode.INVALID_ARGUMENT, `the 'tls' options are not usable: ${(error as Error).message}`, { cause: error });
  }
}
