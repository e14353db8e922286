import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DataSocket, DataSocketError, ErrorCode } from '../../../src/index.js';
import { isLoopbackHost, maxSocketPathBytes, resolveTarget, socketDirectory } from '../../../src/main/socket/endpoint.js';
import { useCleanup } from '../../helpers/cleanup.js';
import { listenIn } from '../../helpers/peer.js';
import { listening, once, record, sleep, tempDir, uniqueName } from '../../helpers/sockets.js';

const { track, spawn } = useCleanup();
let runtimeDir: string;
let savedRuntimeDir: string | undefined;
beforeEach(() => {
  savedRuntimeDir = process.env.XDG_RUNTIME_DIR;
  runtimeDir = tempDir('xdg-');
  process.env.XDG_RUNTIME_DIR = runtimeDir;
});
afterEach(() => {
  if (savedRuntimeDir === undefined) delete process.env.XDG_RUNTIME_DIR;
  else process.env.XDG_RUNTIME_DIR = savedRuntimeDir;
  fs.rmSync(runtimeDir, { recursive: true, force: true });
});

function mode(file: string): number {
  return fs.statSync(file).mode & 0o777;
}

describe('§5 local sockets: names and paths', () => {
  it('maps a bare name to $XDG_RUNTIME_DIR/datasocket/<name>.sock, directory 0700, socket file 0600', async () => {
    const name = uniqueName('bare');
    const listener = track(DataSocket.listen(() => true, name));
    await listening(listener);
    const dir = path.join(runtimeDir, 'datasocket');
    expect(listener.address).toEqual({ name, path: path.join(dir, `${name}.sock`) });
    expect(mode(dir)).toBe(0o700);
    expect(fs.statSync(listener.address.path!).isSocket()).toBe(true);
    expect(mode(listener.address.path!)).toBe(0o600);
    const client = track(DataSocket.connect(name));
    await once(client, 'connect');
  });

  it('uses <tmpdir>/datasocket-<uid> when XDG_RUNTIME_DIR is not set, or not an absolute path', () => {
    delete process.env.XDG_RUNTIME_DIR;
    expect(socketDirectory()).toBe(path.join(os.tmpdir(), `datasocket-${process.getuid!()}`));
    expect(resolveTarget({ name: 'app', port: undefined })).toMatchObject({ kind: 'local', path: path.join(os.tmpdir(), `datasocket-${process.getuid!()}`, 'app.sock') });
    process.env.XDG_RUNTIME_DIR = 'relative/run';
    expect(socketDirectory()).toBe(path.join(os.tmpdir(), `datasocket-${process.getuid!()}`));
  });

  it('uses an absolute path as given, with a 0600 socket file', async () => {
    const file = path.join(tempDir(), 'abs.sock');
    const listener = track(DataSocket.listen(() => true, file));
    await listening(listener);
    expect(listener.address).toEqual({ name: file, path: file });
    expect(mode(file)).toBe(0o600);
    const client = track(DataSocket.connect(file));
    await once(client, 'connect');
  });

  it('leaves the directory of an absolute path as it is', async () => {
    const dir = tempDir();
    fs.chmodSync(dir, 0o755);
    const listener = track(DataSocket.listen(() => true, path.join(dir, 'abs.sock')));
    await listening(listener);
    const client = track(DataSocket.connect(listener.address.path!));
    await once(client, 'connect');
    expect(mode(dir)).toBe(0o755);
    client.close();
    listener.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('tightens a per-user directory that is open to others', async () => {
    const dir = path.join(runtimeDir, 'datasocket');
    fs.mkdirSync(dir, { mode: 0o755 });
    fs.chmodSync(dir, 0o755);
    const listener = track(DataSocket.listen(() => true, uniqueName()));
    await listening(listener);
    expect(mode(dir)).toBe(0o700);
  });

  it('has a client tighten an open per-user directory too, before it connects', async () => {
    const name = uniqueName();
    await listening(track(DataSocket.listen(() => true, name)));
    const dir = path.join(runtimeDir, 'datasocket');
    fs.chmodSync(dir, 0o755);
    const client = track(DataSocket.connect(name));
    expect(mode(dir)).toBe(0o700);
    await once(client, 'connect');
  });

  it('never has a client create the per-user directory: without it, connecting fails with ENOENT', async () => {
    const dir = path.join(runtimeDir, 'datasocket');
    const events = record(track(DataSocket.connect(uniqueName())));
    await events.closed;
    expect(events.errors.map((e) => e.code)).toEqual(['ENOENT']);
    expect(fs.existsSync(dir)).toBe(false);
  });

  it('refuses a per-user directory that is a symbolic link or not a directory with EACCES, on both sides', async () => {
    const dir = path.join(runtimeDir, 'datasocket');
    const real = tempDir(); // a 0700 directory of this user: only the link itself is wrong
    try {
      for (const plant of [() => fs.symlinkSync(real, dir), () => fs.writeFileSync(dir, '')]) {
        plant();
        for (const open of [() => DataSocket.listen(() => true, uniqueName()), () => DataSocket.connect(uniqueName())]) {
          const events = record(track(open()));
          await events.closed;
          expect(events.log).toEqual(['error:EACCES', 'close']);
        }
        fs.rmSync(dir);
      }
      expect(fs.readdirSync(real)).toEqual([]);
    } finally {
      fs.rmSync(real, { recursive: true, force: true });
    }
  });

  it.runIf(process.getuid?.() === 0)('refuses a per-user directory owned by another user with EACCES', async () => {
    const dir = path.join(runtimeDir, 'datasocket');
    fs.mkdirSync(dir, { mode: 0o700 });
    fs.chownSync(dir, 65534, 65534);
    for (const make of [() => DataSocket.listen(() => true, uniqueName()), () => DataSocket.connect(uniqueName())]) {
      const events = record(track(make()));
      await events.closed;
      expect(events.errors.map((e) => e.code)).toEqual(['EACCES']);
    }
  });

  it('maps names to Windows named pipes (checked on the mapping; no pipes on this OS)', () => {
    expect(resolveTarget({ name: 'my-app', port: undefined }, 'win32')).toEqual({ kind: 'local', name: 'my-app', path: '\\\\.\\pipe\\my-app', dir: undefined });
    expect(resolveTarget({ name: '\\\\.\\pipe\\custom\\name', port: undefined }, 'win32')).toMatchObject({ path: '\\\\.\\pipe\\custom\\name' });
    expect(() => resolveTarget({ name: 'C:\\not-a-pipe', port: undefined }, 'win32')).toThrow(DataSocketError);
  });

  it('knows the socket path limits: 107 bytes on Linux, 103 on macOS', () => {
    expect(maxSocketPathBytes('linux')).toBe(107);
    expect(maxSocketPathBytes('darwin')).toBe(103);
  });

  it('refuses a path over the OS limit with ERR_DATASOCKET_INVALID_ARGUMENT, not a crash', () => {
    const longPath = `/tmp/${'p'.repeat(120)}.sock`;
    expect(() => DataSocket.listen(() => true, longPath)).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }));
    expect(() => DataSocket.connect(longPath)).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }));
    const macPath = `/tmp/${'m'.repeat(95)}.sock`;
    expect(() => resolveTarget({ name: macPath, port: undefined }, 'darwin')).toThrow(DataSocketError);
    expect(() => resolveTarget({ name: macPath, port: undefined }, 'linux')).not.toThrow();
  });

  it('refuses a bare name whose mapped path passes the limit', () => {
    process.env.XDG_RUNTIME_DIR = `/tmp/${'d'.repeat(40)}`;
    expect(() => DataSocket.connect('n'.repeat(70))).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }));
  });

  it('refuses bad names: too long, bad characters, dots only', () => {
    for (const name of ['x'.repeat(101), 'a b', 'semi;colon', 'ünïcode', '..', '.', 'rel/path']) {
      expect(() => DataSocket.connect(name), name).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }));
    }
  });
});

describe('§5 local sockets: stale and live files', () => {
  it('replaces a stale socket file left by a killed process', async () => {
    const name = uniqueName('stale');
    const peer = spawn({ XDG_RUNTIME_DIR: runtimeDir });
    const bound = { address: (await listenIn(peer, { name })) as { path: string } };
    peer.kill('SIGKILL');
    await peer.exited;
    expect(fs.existsSync(bound.address.path)).toBe(true);
    const listener = track(DataSocket.listen(() => true, name));
    await listening(listener);
    const client = track(DataSocket.connect(name));
    await once(client, 'connect');
  });

  it('gives EADDRINUSE for a live listener and leaves its file and its service alone', async () => {
    const name = uniqueName('live');
    const first = track(DataSocket.listen(() => true, name));
    await listening(first);
    const second = track(DataSocket.listen(() => true, name));
    const events = record(second);
    await events.closed;
    expect(events.errors.map((e) => e.code)).toEqual(['EADDRINUSE']);
    expect(fs.existsSync(first.address.path!)).toBe(true);
    const client = track(DataSocket.connect(name));
    await once(client, 'connect');
  });

  it('never removes a file that is not a socket', async () => {
    const file = path.join(tempDir(), 'regular.sock');
    fs.writeFileSync(file, 'important');
    const events = record(track(DataSocket.listen(() => true, file)));
    await events.closed;
    expect(events.errors.map((e) => e.code)).toEqual(['EADDRINUSE']);
    expect(fs.readFileSync(file, 'utf8')).toBe('important');
  });

  it('reports ENOENT when nothing listens under a name, and ECONNREFUSED for a dead TCP port', async () => {
    const local = record(track(DataSocket.connect(uniqueName('none'))));
    await local.closed;
    expect(local.errors.map((e) => e.code)).toEqual(['ENOENT']);
    const tcp = record(track(DataSocket.connect('127.0.0.1', 1)));
    await tcp.closed;
    expect(tcp.errors.map((e) => e.code)).toEqual(['ECONNREFUSED']);
    expect(tcp.errors[0]).toMatchObject({ syscall: 'connect', address: '127.0.0.1', port: 1 });
  });
});

describe('§5 TCP', () => {
  it('binds an ephemeral port for port 0', async () => {
    const a = track(DataSocket.listen(() => true, '127.0.0.1', 0));
    const b = track(DataSocket.listen(() => true, '127.0.0.1', 0));
    await listening(a);
    await listening(b);
    expect(a.address.port).not.toBe(b.address.port);
  });

  it('prints one warning when binding a non-loopback address without token or tls, and none otherwise', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error): void => {
      if ((w as { code?: string }).code === 'DATASOCKET_INSECURE_LISTEN') warnings.push(w);
    };
    process.on('warning', onWarning);
    try {
      await listening(track(DataSocket.listen(() => true, '127.0.0.1', 0)));
      await listening(track(DataSocket.listen(() => true, 'localhost', 0)));
      await listening(track(DataSocket.listen(() => true, '0.0.0.0', 0, { token: 'secret' })));
      await sleep(20);
      expect(warnings).toHaveLength(0);
      await listening(track(DataSocket.listen(() => true, '0.0.0.0', 0)));
      await sleep(20);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]!.message).toContain('0.0.0.0');
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('tells loopback from other hosts', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1']) expect(isLoopbackHost(host), host).toBe(true);
    for (const host of ['0.0.0.0', '::', '192.168.1.2', 'example.com', '10.0.0.1']) expect(isLoopbackHost(host), host).toBe(false);
  });

  it('reports EADDRINUSE for a TCP port in use', async () => {
    const a = track(DataSocket.listen(() => true, '127.0.0.1', 0));
    await listening(a);
    const b = record(track(DataSocket.listen(() => true, '127.0.0.1', a.address.port)));
    await b.closed;
    expect(b.errors.map((e) => e.code)).toEqual(['EADDRINUSE']);
  });
});
