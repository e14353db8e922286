/**
 * The election of `connectOrListen` (SPEC §9), piece by piece: which lock each OS
 * uses, the BSD lock file's open flags, the Linux lock's name, which hosts count as this machine for the TCP flavour, and the
 * Windows pipe a name maps to. The races themselves are in rendezvous-processes.test.ts.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DataSocket } from '../../../src/index.js';
import { abstractLockName, electionLockKind, lockedFileFlags } from '../../../src/main/socket/election.js';
import { isLocalHost, resolveTarget } from '../../../src/main/socket/endpoint.js';
import type { Rendezvous } from '../../../src/shared/rendezvous.js';
import { useRuntimeDir } from '../../helpers/runtime-dir.js';
import { tempDir, uniqueName } from '../../helpers/sockets.js';

// This file's own per-user directory.
const runtimeDir = useRuntimeDir();

function role(rendezvous: Rendezvous<DataSocket>, wanted: string): Promise<void> {
  return new Promise((resolve, reject) => {
    if (rendezvous.role === wanted) return resolve();
    rendezvous.on('role', (r) => r === wanted && resolve());
    rendezvous.on('close', () => reject(new Error(`closed before role ${wanted}`)));
  });
}

/** Binds an abstract socket name; resolves with the server, or with the error code. */
function bindAbstract(name: string): Promise<net.Server | string> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
    server.listen(name, () => resolve(server));
  });
}

describe('§9 the election lock of each platform', () => {
  it('is an abstract socket on Linux and Android, a locked file on macOS and the BSDs, the pipe itself on Windows, and none elsewhere', () => {
    expect(electionLockKind('linux')).toBe('abstract-socket');
    expect(electionLockKind('android')).toBe('abstract-socket');
    for (const bsd of ['darwin', 'freebsd', 'openbsd', 'netbsd'] as const) expect(electionLockKind(bsd), bsd).toBe('locked-file');
    expect(electionLockKind('win32')).toBe('pipe');
    expect(electionLockKind('aix')).toBe('none');
    expect(electionLockKind('sunos')).toBe('none');
  });

  it('opens the BSD lock file with O_EXLOCK (0x20) and O_NONBLOCK | O_CREAT | O_RDWR of the constants given', () => {
    // macOS's <sys/fcntl.h>: O_RDWR 0x2, O_NONBLOCK 0x4, O_CREAT 0x200.
    const mac = { O_RDWR: 0x2, O_CREAT: 0x200, O_NONBLOCK: 0x4 };
    expect(lockedFileFlags(mac)).toBe(0x2 | 0x4 | 0x200 | 0x20);
    const flags = lockedFileFlags({ O_RDWR: 0x2, O_CREAT: 0x40, O_NONBLOCK: 0x800 });
    for (const bit of [0x20, 0x2, 0x40, 0x800]) expect(flags & bit, `bit 0x${bit.toString(16)}`).toBe(bit);
    expect(lockedFileFlags() & fs.constants.O_NONBLOCK).toBe(fs.constants.O_NONBLOCK);
  });

  it('names the Linux lock after the socket path: a NUL first, another name for another path, and all 108 bytes of sun_path', () => {
    const name = abstractLockName('/run/user/1000/datasocket/app.sock');
    expect(name.startsWith('\0datasocket-election-')).toBe(true);
    expect(name).toBe(abstractLockName('/run/user/1000/datasocket/app.sock'));
    expect(abstractLockName('/run/user/1000/datasocket/other.sock')).not.toBe(name);
    // A path that is a prefix of another is another lock.
    expect(abstractLockName('/run/user/1000/datasocket/app.soc')).not.toBe(name);
    // Exactly sun_path's 108 bytes, whatever the socket path's length: Node 20 pads an abstract
    // name with NULs to 108 bytes and Node 22 does not, so only a full name is one lock for both.
    for (const socketPath of ['/a.sock', `/${'p'.repeat(106)}`]) expect(Buffer.byteLength(abstractLockName(socketPath))).toBe(108);
  });

  it('names one lock for one socket however its directory is reached (through a symlink)', () => {
    const real = tempDir('real-');
    const link = path.join(tempDir('link-'), 'via');
    fs.symlinkSync(real, link);
    try {
      expect(abstractLockName(path.join(link, 'app.sock'))).toBe(abstractLockName(path.join(real, 'app.sock')));
      expect(abstractLockName(path.join(link, 'app.sock'))).not.toBe(abstractLockName(path.join(real, 'other.sock')));
    } finally {
      fs.rmSync(link);
      fs.rmSync(real, { recursive: true, force: true });
    }
  });

  it.runIf(electionLockKind() === 'abstract-socket' && otherNode() !== null)(
    'is one lock for Node 20 and Node 22 (an Electron main and a Node service): held by this Node, the other cannot bind it',
    () => {
      const name = abstractLockName(path.join(runtimeDir, `${uniqueName('versions')}.sock`));
      const other = otherNode()!;
      const child = (): string => execFileSync(other, ['-e', OTHER_NODE_BIND, Buffer.from(name, 'latin1').toString('hex')], { encoding: 'utf8', timeout: 10_000 }).trim();
      const held = net.createServer();
      return new Promise<void>((resolve, reject) => {
        held.once('error', reject);
        held.listen(name, () => {
          try {
            expect(child()).toBe('EADDRINUSE');
          } catch (error) {
            reject(error);
            return;
          } finally {
            held.close();
          }
          resolve();
        });
      });
    },
  );

  it.runIf(electionLockKind() === 'abstract-socket')('a leader holds its lock until it closes; it leaves nothing but its socket file in the directory', async () => {
    const name = uniqueName('lock');
    const leader = DataSocket.connectOrListen(() => true, name);
    await role(leader, 'leader');
    const dir = path.join(runtimeDir, 'datasocket');
    expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
    expect(fs.readdirSync(dir)).toContain(`${name}.sock`);
    expect(fs.readdirSync(dir).filter((file) => file.includes(name))).toEqual([`${name}.sock`]);
    const lockName = abstractLockName(path.join(dir, `${name}.sock`));
    expect(await bindAbstract(lockName)).toBe('EADDRINUSE');
    leader.close();
    const free = await bindAbstract(lockName);
    expect(free).toBeInstanceOf(net.Server);
    (free as net.Server).close();
  });
});

describe('§9 connectOrListen with a port: only addresses of this machine', () => {
  it('counts loopback names and addresses, and every address of every interface, as this machine', () => {
    for (const host of ['127.0.0.1', '127.0.0.2', '::1', '[::1]', 'localhost', 'LOCALHOST', '::ffff:127.0.0.1']) expect(isLocalHost(host), host).toBe(true);
    const addresses = Object.entries(os.networkInterfaces()).flatMap(([nic, list]) => (list ?? []).map((i) => ({ nic, ...i })));
    expect(addresses.length).toBeGreaterThan(0);
    for (const { address, family, nic } of addresses) {
      expect(isLocalHost(address), address).toBe(true);
      if (family === 'IPv6') {
        expect(isLocalHost(`[${address}]`), `[${address}]`).toBe(true);
        expect(isLocalHost(`${address}%${nic}`), `${address}%${nic}`).toBe(true);
        // Another spelling of the same address: every group written out, upper case.
        const full = expandIPv6(address).toUpperCase();
        expect(isLocalHost(full), full).toBe(true);
      } else {
        // The IPv4-mapped IPv6 form of this machine's IPv4 address.
        expect(isLocalHost(`::ffff:${address}`), `::ffff:${address}`).toBe(true);
      }
    }
  });

  it('does not count the wildcard addresses (every interface, so reachable from elsewhere) or other hosts', () => {
    for (const host of ['0.0.0.0', '::', '[::]', '8.8.8.8', '2001:4860:4860::8888', 'example.com']) expect(isLocalHost(host), host).toBe(false);
  });
});

describe('§5 the Windows pipe a connectOrListen name maps to (checked on the mapping; no pipes on this OS)', () => {
  it('maps a bare name to \\\\.\\pipe\\<name> and keeps a full pipe name; the pipe is its own lock there', () => {
    expect(resolveTarget({ name: 'my-app', port: undefined }, 'win32')).toEqual({ kind: 'local', name: 'my-app', path: '\\\\.\\pipe\\my-app', dir: undefined });
    expect(resolveTarget({ name: '\\\\.\\pipe\\team\\app', port: undefined }, 'win32')).toMatchObject({ kind: 'local', path: '\\\\.\\pipe\\team\\app' });
    expect(electionLockKind('win32')).toBe('pipe');
  });
});

/** An IPv6 address with every group written out (no '::'). */
function expandIPv6(address: string): string {
  const [head, tail] = address.includes('::') ? address.split('::') : [address, undefined];
  const left = head === '' ? [] : head!.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const middle = tail === undefined ? [] : Array<string>(8 - left.length - right.length).fill('0');
  return [...left, ...middle, ...right].map((group) => group.padStart(4, '0')).join(':');
}

/** Binds the abstract name given in hex; prints BOUND or the error code. */
const OTHER_NODE_BIND = `
const net = require('node:net');
const name = Buffer.from(process.argv[1], 'hex').toString('latin1');
const server = net.createServer();
server.on('error', (error) => { console.log(error.code); process.exit(0); });
server.listen(name, () => { console.log('BOUND'); server.close(); });
`;

/** A Node of the other major version than this one's (20 or 22), if this machine has one: the system's, or the one npm run test:node22 fetched. */
function otherNode(): string | null {
  const mine = process.versions.node.split('.')[0];
  const candidates = [path.join(process.cwd(), `.cache/node22/node_modules/node-${process.platform}-${process.arch}/bin/node`), 'node', '/usr/bin/node', '/usr/local/bin/node'];
  for (const candidate of candidates) {
    try {
      const major = execFileSync(candidate, ['-p', 'process.versions.node.split(".")[0]'], { encoding: 'utf8', timeout: 10_000 }).trim();
      if (major !== mine && (major === '20' || major === '22')) return candidate;
    } catch {
      // not there
    }
  }
  return null;
}
