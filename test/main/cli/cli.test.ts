/**
 * The built `datasocket` CLI (SPEC §8), run as real processes: `node dist/main/cli/cli.js …`
 * talking to itself over Unix sockets and TCP on 127.0.0.1, through stdin and stdout,
 * with exit codes and stderr checked as a script would see them.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generate } from 'selfsigned';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DataSocket } from '../../../src/index.js';
import { socketDirectory } from '../../../src/main/socket/endpoint.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const CLI = path.join(ROOT, 'dist/main/cli/cli.js');

/** Newest modification time under `dir`, in ms. */
function newest(dir: string): number {
  let latest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) latest = Math.max(latest, fs.statSync(path.join(entry.parentPath, entry.name)).mtimeMs);
  }
  return latest;
}

beforeAll(() => {
  // `npm test` builds first; a direct `vitest run` rebuilds only when src changed since.
  if (!fs.existsSync(CLI) || fs.statSync(CLI).mtimeMs < newest(path.join(ROOT, 'src'))) {
    try {
      execFileSync(process.execPath, [path.join(ROOT, 'scripts/build.mjs')], { cwd: ROOT, stdio: 'pipe', encoding: 'utf8' });
    } catch (error) {
      const { stdout, stderr } = error as { stdout?: string; stderr?: string };
      throw new Error(`npm run build failed; these tests run the built CLI:\n${stdout ?? ''}${stderr ?? ''}`);
    }
  }
}, 60_000);

// The CLI would take a token from the environment; these tests say which one they mean.
const { DATASOCKET_TOKEN: _ignored, ...ENV } = process.env;

/** A running `datasocket` process and everything it printed so far. */
class Cli {
  stdout = '';
  stderr = '';
  readonly exited: Promise<number | null>;
  readonly #child: ChildProcess;
  #waiters: (() => void)[] = [];

  constructor(args: string[], options: { stdin?: 'pipe' | 'ignore'; env?: Record<string, string> } = {}) {
    this.#child = spawn(process.execPath, [CLI, ...args], { env: { ...ENV, ...options.env }, stdio: [options.stdin ?? 'pipe', 'pipe', 'pipe'] });
    this.#child.stdout!.setEncoding('utf8').on('data', (chunk: string) => this.#append('stdout', chunk));
    this.#child.stderr!.setEncoding('utf8').on('data', (chunk: string) => this.#append('stderr', chunk));
    this.#child.stdin?.on('error', () => {}); // a process that exited first is the test's finding, not an EPIPE crash
    this.exited = new Promise((resolve) => this.#child.on('close', (code) => resolve(code)));
  }

  get running(): boolean {
    return this.#child.exitCode === null && this.#child.signalCode === null;
  }

  /** The complete lines on stdout. */
  get lines(): string[] {
    return this.stdout.split('\n').slice(0, -1);
  }

  /** Resolves with the first match of `pattern` in `stream`; rejects after `timeoutMs` with what was printed. */
  waitFor(stream: 'stdout' | 'stderr', pattern: RegExp, timeoutMs = 5_000): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const match = this[stream].match(pattern);
        if (match) resolve(match);
        return match !== null;
      };
      if (check()) return;
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        reject(new Error(`no ${pattern} on ${stream} within ${timeoutMs} ms; stdout: ${JSON.stringify(this.stdout)}; stderr: ${JSON.stringify(this.stderr)}`));
      }, timeoutMs);
      const waiter = (): void => {
        if (!check()) return;
        clearTimeout(timer);
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
      };
      this.#waiters.push(waiter);
    });
  }

  /** Waits for `count` lines on stdout. */
  async waitForLines(count: number, timeoutMs?: number): Promise<string[]> {
    await this.waitFor('stdout', new RegExp(`^(?:.*\\n){${count}}`), timeoutMs);
    return this.lines;
  }

  write(text: string): void {
    this.#child.stdin!.write(text);
  }

  end(text?: string): void {
    this.#child.stdin!.end(text);
  }

  signal(signal: NodeJS.Signals): void {
    this.#child.kill(signal);
  }

  /** The exit code; rejects if the process is still running after `timeoutMs`. */
  exitCode(timeoutMs = 5_000): Promise<number | null> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`still running after ${timeoutMs} ms; stderr: ${JSON.stringify(this.stderr)}`)), timeoutMs);
    });
    return Promise.race([this.exited, timeout]).finally(() => clearTimeout(timer));
  }

  #append(stream: 'stdout' | 'stderr', chunk: string): void {
    this[stream] += chunk;
    for (const waiter of [...this.#waiters]) waiter();
  }
}

const running: Cli[] = [];
const names: string[] = [];
let counter = 0;

function cli(args: string[], options?: ConstructorParameters<typeof Cli>[1]): Cli {
  const child = new Cli(args, options);
  running.push(child);
  return child;
}

/** Runs the CLI to completion; resolves with its exit code and output. */
async function run(args: string[], options?: ConstructorParameters<typeof Cli>[1]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = cli(args, { stdin: 'ignore', ...options });
  const code = await child.exitCode();
  return { code, stdout: child.stdout, stderr: child.stderr };
}

/** A bare socket name no other test uses. */
function uniqueName(): string {
  const name = `cli-${process.pid}-${++counter}`;
  names.push(name);
  return name;
}

/** Starts `datasocket listen` and resolves once it reports where it listens. */
async function listen(args: string[], options?: ConstructorParameters<typeof Cli>[1]): Promise<{ listener: Cli; address: string; port: number }> {
  const listener = cli(['listen', ...args], options);
  const match = await listener.waitFor('stderr', /^datasocket: listening on (\S+?)(?::(\d+))?$/m);
  return { listener, address: match[1]!, port: Number(match[2]) };
}

afterEach(async () => {
  const leftovers = running.splice(0).filter((p) => p.running);
  for (const p of leftovers) p.signal('SIGKILL');
  await Promise.all(leftovers.map((p) => p.exited));
  // A killed listener leaves its socket file behind.
  for (const name of names.splice(0)) fs.rmSync(path.join(socketDirectory(), `${name}.sock`), { force: true });
});

describe('§8 --help', () => {
  it('prints the help on stdout and exits 0', async () => {
    const { code, stdout, stderr } = await run(['--help']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/datasocket listen\s+<name> \[port\]/);
    expect(stdout).toMatch(/datasocket send\s+<name> \[port\] <value>/);
    expect(stdout).toContain('--tls-insecure');
    expect(stdout).toMatch(/datasocket request\s+<name> \[port\] <value>/);
    expect(stdout).toContain('--reply <value>');
    expect(stdout).toContain('--request-timeout <ms>');
    expect(stdout).toContain('Exit codes');
    expect(stderr).toBe('');
  });

  it('-h after a command does the same', async () => {
    const { code, stdout } = await run(['connect', '-h']);
    expect(code).toBe(0);
    expect(stdout).toContain('Exit codes');
  });
});

describe('§8 usage errors exit 2 with the reason and a short usage on stderr', () => {
  it.each([
    [[], /missing command/],
    [['frobnicate', 'app'], /unknown command 'frobnicate'/],
    [['connect'], /missing <name>/],
    [['connect', 'app', '--bogus'], /unknown option '--bogus'/],
    [['connect', '127.0.0.1', 'http'], /bad port 'http'/],
    [['listen', '127.0.0.1', '70000'], /bad port '70000'/],
    [['send', 'app'], /missing <value>/],
    [['request', 'app'], /missing <value> to request/],
    [['listen', 'app', '--request-timeout', '100'], /'--request-timeout' is for request/],
    [['request', 'app', '1', '--reply', '2'], /'--reply' is for listen, connect and join/],
    [['connect', 'app', '--token'], /'--token' needs a value/],
    [['connect', 'app', '--tls-cert', 'cert.pem'], /'--tls-cert' is for listen/],
    [['connect', 'not/a/name'], /ERR_DATASOCKET_INVALID_ARGUMENT: 'not\/a\/name' is neither a bare name/],
    [['listen', 'x'.repeat(101)], /ERR_DATASOCKET_INVALID_ARGUMENT/],
    [['connect', 'app', '--token', ''], /ERR_DATASOCKET_INVALID_ARGUMENT: 'token'/],
    [['listen', '127.0.0.1', '0', '--tls-cert', '/nonexistent/cert.pem', '--tls-key', '/nonexistent/key.pem'], /cannot read the --tls-cert file: ENOENT/],
  ])('%j', async (argv, message) => {
    const { code, stdout, stderr } = await run(argv);
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
    expect(stderr).toMatch(/^datasocket: /);
    expect(stderr).toContain('Usage:');
    expect(stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(stdout).toBe('');
  });
});

/** `datasocket listen <name>` with one `datasocket connect <name>` whose connection the listener reported open. */
async function connectedPair() {
  const name = uniqueName();
  const { listener, address } = await listen([name]);
  const client = cli(['connect', name]);
  await listener.waitFor('stderr', /connection 1 opened/);
  return { name, listener, address, client };
}

describe('§8 listen and connect exchange values through stdin and stdout', () => {
  it('each stdin line arrives as one JSON line on the other side; status goes to stderr only', async () => {
    const name = uniqueName();
    const { listener, address } = await listen([name]);
    expect(address).toBe(path.join(socketDirectory(), `${name}.sock`));
    const client = cli(['connect', name]);
    await client.waitFor('stderr', /connected to /);
    await listener.waitFor('stderr', /connection 1 opened/);

    client.write('{"from":"client","n":[1,2]}\n');
    client.write('plain text, not JSON\n');
    expect(await listener.waitForLines(2)).toEqual(['{"from":"client","n":[1,2]}', '"plain text, not JSON"']);

    listener.write('[true,null]\n');
    listener.write('"from listener"\n');
    expect(await client.waitForLines(2)).toEqual(['[true,null]', '"from listener"']);
  });

  it('connect closes when its stdin ends, exits 0, and the listener sees the connection close', async () => {
    const { listener, client } = await connectedPair();
    client.end('"last words"\n');
    expect(await client.exitCode()).toBe(0);
    await listener.waitFor('stderr', /connection 1 closed/);
    expect(listener.lines).toEqual(['"last words"']);
    expect(listener.running).toBe(true);
  });

  it('lines piped in before the connection opens are all delivered, in order', async () => {
    const name = uniqueName();
    const { listener } = await listen([name]);
    const client = cli(['connect', name]);
    client.end('1\n2\n\n3\r\n');
    expect(await client.exitCode()).toBe(0);
    expect(await listener.waitForLines(3)).toEqual(['1', '2', '3']);
  });

  it('a listener sends each stdin line to every open connection', async () => {
    const name = uniqueName();
    const { listener } = await listen([name]);
    const a = cli(['connect', name]);
    await listener.waitFor('stderr', /connection 1 opened/);
    const b = cli(['connect', name]);
    await listener.waitFor('stderr', /connection 2 opened/);
    listener.write('{"to":"all"}\n');
    expect(await a.waitForLines(1)).toEqual(['{"to":"all"}']);
    expect(await b.waitForLines(1)).toEqual(['{"to":"all"}']);
  });

  it('SIGTERM closes the listener and its connections and exits 0; connect then exits 0 too', async () => {
    const { listener, client, address } = await connectedPair();
    listener.write('"bye"\n');
    await client.waitForLines(1);
    listener.signal('SIGTERM');
    expect(await listener.exitCode()).toBe(0);
    expect(await client.exitCode()).toBe(0);
    expect(client.lines).toEqual(['"bye"']);
    expect(fs.existsSync(address)).toBe(false);
  });

  it('connect exits 1 with the code on stderr when the connection is lost', async () => {
    const { listener, client } = await connectedPair();
    listener.signal('SIGKILL');
    expect(await client.exitCode()).toBe(1);
    expect(client.stderr).toMatch(/^datasocket: ECONNRESET: /m);
  });

  it('SIGINT ends a listener with exit 0 too', async () => {
    const { listener } = await listen([uniqueName()]);
    listener.signal('SIGINT');
    expect(await listener.exitCode()).toBe(0);
  });

  it('works over TCP: listen on port 0 reports the real port on stderr', async () => {
    const { listener, address, port } = await listen(['127.0.0.1', '0']);
    expect(address).toBe('127.0.0.1');
    expect(port).toBeGreaterThan(0);
    const client = cli(['connect', '127.0.0.1', String(port)]);
    await listener.waitFor('stderr', /connection 1 opened from 127\.0\.0\.1:\d+/);
    client.write('{"over":"tcp"}\n');
    expect(await listener.waitForLines(1)).toEqual(['{"over":"tcp"}']);
    listener.write('"back"\n');
    expect(await client.waitForLines(1)).toEqual(['"back"']);
  });
});

describe('join: connectOrListen from a terminal', () => {
  it('the first leads, the second follows; lines travel both ways; killing the leader hands over to the follower', async () => {
    const name = uniqueName();
    const first = cli(['join', name]);
    await first.waitFor('stderr', /^datasocket: leading at /m);
    const second = cli(['join', name]);
    await second.waitFor('stderr', /^datasocket: linked to the leader at \S+/m);
    await first.waitFor('stderr', /^datasocket: follower 1 joined$/m);
    second.write('{"from":"follower"}\n');
    expect(await first.waitForLines(1)).toEqual(['{"from":"follower"}']);
    first.write('"from leader"\n');
    expect(await second.waitForLines(1)).toEqual(['"from leader"']);

    first.signal('SIGKILL');
    await second.waitFor('stderr', /^datasocket: the leader is gone: electing\ndatasocket: leading at /m);
    // The new leader is live: a third member follows it.
    const third = cli(['join', name]);
    await third.waitFor('stderr', /^datasocket: linked to the leader/m);
    third.write('[3]\n');
    expect(await second.waitForLines(2)).toEqual(['"from leader"', '[3]']);
  });

  it('SIGTERM leaves and exits 0, and the socket file of a leader is gone', async () => {
    const name = uniqueName();
    const member = cli(['join', name]);
    await member.waitFor('stderr', /^datasocket: leading at /m);
    expect(fs.existsSync(path.join(socketDirectory(), `${name}.sock`))).toBe(true);
    member.signal('SIGTERM');
    expect(await member.exitCode()).toBe(0);
    expect(member.stderr).toMatch(/^datasocket: left$/m);
    expect(fs.existsSync(path.join(socketDirectory(), `${name}.sock`))).toBe(false);
  });

  it('--no-failover: a follower exits 0 when its leader goes, instead of leading', async () => {
    const name = uniqueName();
    const leader = cli(['join', name]);
    await leader.waitFor('stderr', /^datasocket: leading at /m);
    const follower = cli(['join', name, '--no-failover']);
    await follower.waitFor('stderr', /linked to the leader/);
    leader.signal('SIGKILL');
    expect(await follower.exitCode()).toBe(0);
    expect(follower.stderr).not.toMatch(/leading at/);
  });

  it('over TCP on 127.0.0.1: the bind elects', async () => {
    const port = await freePort();
    const first = cli(['join', '127.0.0.1', String(port)]);
    await first.waitFor('stderr', /^datasocket: leading at 127\.0\.0\.1:\d+$/m);
    const second = cli(['join', '127.0.0.1', String(port)]);
    await second.waitFor('stderr', /linked to the leader at 127\.0\.0\.1:\d+/);
    second.write('"tcp"\n');
    expect(await first.waitForLines(1)).toEqual(['"tcp"']);
  });

  it('a non-local address is a usage error (exit 2): binding it cannot elect', async () => {
    const { code, stderr } = await run(['join', '192.0.2.1', '7000']);
    expect(code).toBe(2);
    expect(stderr).toMatch(/not an address of this machine/);
  });
});

/** A TCP port free right now on 127.0.0.1. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

describe('§8 send', () => {
  it('delivers one value to a listener whose stdin is closed, exits 0, and the listener keeps running', async () => {
    const name = uniqueName();
    const { listener } = await listen([name], { stdin: 'ignore' });
    const first = await run(['send', name, '{"n":1}']);
    expect(first).toEqual({ code: 0, stdout: '', stderr: '' });
    const second = await run(['send', name, 'not json']);
    expect(second.code).toBe(0);
    expect(await listener.waitForLines(2)).toEqual(['{"n":1}', '"not json"']);
    expect(listener.running).toBe(true);
  });

  it("over TCP, with the port between name and value; a value starting with '-' after '--'", async () => {
    const { listener, port } = await listen(['127.0.0.1', '0'], { stdin: 'ignore' });
    expect((await run(['send', '127.0.0.1', String(port), '--', '-12.5'])).code).toBe(0);
    expect(await listener.waitForLines(1)).toEqual(['-12.5']);
  });
});

describe('§8 §10 request, and listen, connect and join answering requests', () => {
  /** Node DataSockets of the test itself, closed after each test. */
  const ours: { close(): void }[] = [];
  afterEach(() => {
    for (const socket of ours.splice(0)) socket.close();
  });

  /** A Node listener at a fresh name whose connections answer requests with `answer` (none: no handler at all). */
  async function nodeListener(answer?: (value: unknown, respond: (reply: unknown) => void, connection: DataSocket) => void): Promise<string> {
    const name = uniqueName();
    const listener = DataSocket.listen((connection) => {
      ours.push(connection);
      if (answer !== undefined) connection.on('request', (value, respond) => answer(value, respond, connection));
      return true;
    }, name);
    ours.push(listener);
    await new Promise<void>((resolve) => listener.once('listening', () => resolve()));
    return name;
  }

  it('request → listen: the listener echoes the request and prints it; request prints the reply as one line on stdout and exits 0', async () => {
    const name = uniqueName();
    const { listener } = await listen([name], { stdin: 'ignore' });
    expect(await run(['request', name, '{"q":[1,2],"big":{"$bigint":"12345678901234567890"}}'])).toEqual({
      code: 0,
      stdout: '{"q":[1,2],"big":{"$bigint":"12345678901234567890"}}\n',
      stderr: '',
    });
    expect(await run(['request', name, 'plain words'])).toEqual({ code: 0, stdout: '"plain words"\n', stderr: '' });
    expect(await listener.waitForLines(2)).toEqual(['{"q":[1,2],"big":{"$bigint":"12345678901234567890"}}', '"plain words"']);
    expect(listener.running).toBe(true);
  });

  it('request → listen --reply: every request gets that value, markers included; over TCP, the port between name and value', async () => {
    const reply = '{"ok":true,"bytes":{"$binary":"AAEC/w==","type":"Uint8Array"},"at":{"$date":"2024-01-02T03:04:05.006Z"}}';
    const { listener, port } = await listen(['127.0.0.1', '0', '--reply', reply], { stdin: 'ignore' });
    for (const value of ['1', '"two"']) {
      expect(await run(['request', '127.0.0.1', String(port), value])).toEqual({ code: 0, stdout: `${reply}\n`, stderr: '' });
    }
    expect(await listener.waitForLines(2)).toEqual(['1', '"two"']);
  });

  it('connect answers requests from the listener it connected to: with --reply, else by echo; each request is printed', async () => {
    const requests: Promise<unknown>[] = [];
    const name = uniqueName();
    const connections: DataSocket[] = [];
    const listener = DataSocket.listen((connection) => {
      ours.push(connection);
      connections.push(connection);
      return true;
    }, name);
    ours.push(listener);
    await new Promise<void>((resolve) => listener.once('listening', () => resolve()));
    const replying = cli(['connect', name, '--reply', '"pong"']);
    await replying.waitFor('stderr', /connected to/);
    const echoing = cli(['connect', name]);
    await echoing.waitFor('stderr', /connected to/);
    requests.push(connections[0]!.request('ping'), connections[1]!.request({ echo: new Map([['k', 1n]]) }));
    expect(await Promise.all(requests)).toStrictEqual(['pong', { echo: new Map([['k', 1n]]) }]);
    expect(await replying.waitForLines(1)).toEqual(['"ping"']);
    expect(await echoing.waitForLines(1)).toEqual(['{"echo":{"$map":[["k",{"$bigint":"1"}]]}}']);
  });

  it('join answers requests on its links: request → a join leader', async () => {
    const name = uniqueName();
    const leader = cli(['join', name, '--reply', '"from the leader"']);
    await leader.waitFor('stderr', /^datasocket: leading at /m);
    expect(await run(['request', name, '"hello"'])).toEqual({ code: 0, stdout: '"from the leader"\n', stderr: '' });
    expect(await leader.waitForLines(1)).toEqual(['"hello"']);
  });

  it('a peer with no request handler: exit 1 with ERR_DATASOCKET_NO_HANDLER on stderr, nothing on stdout', async () => {
    const name = await nodeListener();
    const { code, stdout, stderr } = await run(['request', name, '1']);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/^datasocket: ERR_DATASOCKET_NO_HANDLER: .*\n$/);
  });

  it("a handler that fails: exit 1 with ERR_DATASOCKET_REMOTE and the handler's error on stderr", async () => {
    const name = await nodeListener(() => {
      throw new TypeError('no such key');
    });
    const { code, stdout, stderr } = await run(['request', name, '{"get":"nothing"}']);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/^datasocket: ERR_DATASOCKET_REMOTE: .*TypeError: no such key\n$/);
  });

  it('--request-timeout: no reply in time exits 1 with ERR_DATASOCKET_TIMEOUT after that long', async () => {
    const name = await nodeListener(() => {});
    const started = Date.now();
    const { code, stdout, stderr } = await run(['request', name, '1', '--request-timeout', '300']);
    const took = Date.now() - started;
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/^datasocket: ERR_DATASOCKET_TIMEOUT: .*300 ms/);
    expect(took).toBeGreaterThanOrEqual(300);
    expect(took).toBeLessThan(4_000);
  });

  it('the peer closes before answering: exit 1 with ERR_DATASOCKET_CLOSED', async () => {
    const name = await nodeListener((_value, _respond, connection) => connection.close());
    const { code, stdout, stderr } = await run(['request', name, '1']);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/^datasocket: ERR_DATASOCKET_CLOSED: /);
  });

  it('nobody listening: exit 1 with the connection error alone (ENOENT), not the ERR_DATASOCKET_CLOSED it causes', async () => {
    const name = uniqueName();
    const { code, stdout, stderr } = await run(['request', name, '1']);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toMatch(new RegExp(`^datasocket: ENOENT: connect ENOENT .*${name}\\.sock\\n$`));
  });
});

describe('§8 values JSON cannot hold travel as markers and come out as they went in', () => {
  const LINES = [
    '{"$binary":"AAEC/w==","type":"Uint8Array"}',
    '{"$binary":"AQID","type":"ArrayBuffer"}',
    '{"$binary":"AAAAAAAA8D8=","type":"Float64Array"}',
    '{"file":{"$binary":"aGVsbG8=","type":"Uint8Array"},"parts":[{"$binary":"/38=","type":"Int8Array"}]}',
    '{"id":{"$bigint":"123456789012345678901234567890"},"at":{"$date":"2024-01-02T03:04:05.006Z"}}',
    '{"$map":[["k",{"$set":[1,{"$undefined":true},{"$number":"NaN"}]}]]}',
    '[{"$regexp":"/^a+$/gi"},{"$error":{"name":"TypeError","message":"boom"}},{"$number":"-Infinity"}]',
    '{"self":{"$circular":""},"$object":{"looks":"like a marker"}}',
  ];

  it('a line of markers sent by connect is printed identically by listen', async () => {
    const name = uniqueName();
    const { listener } = await listen([name]);
    const client = cli(['connect', name]);
    client.end(`${LINES.join('\n')}\n`);
    expect(await client.exitCode()).toBe(0);
    expect(await listener.waitForLines(LINES.length)).toEqual(
      // The one plain object whose keys look like a marker comes out wrapped, so it reads back as itself.
      LINES.map((line) => (line.startsWith('{"self"') ? '{"$object":{"self":{"$circular":""},"$object":{"looks":"like a marker"}}}' : line)),
    );
  });

  it('binary sent by send arrives at a connect client through listen as the same marker', async () => {
    const { name, listener, client } = await connectedPair();
    // The listener relays what it prints: stdout of one process piped into stdin of the next is the CLI's point.
    const binary = '{"$binary":"3q2+7w==","type":"Uint8Array"}';
    expect((await run(['send', name, binary])).code).toBe(0);
    const [line] = await listener.waitForLines(1);
    expect(line).toBe(binary);
    listener.write(`${line}\n`);
    expect(await client.waitForLines(1)).toEqual([binary]);
  });
});

describe('§8 --token', () => {
  it('the same token on both sides connects', async () => {
    const { listener, port } = await listen(['127.0.0.1', '0', '--token', 's3cret'], { stdin: 'ignore' });
    expect((await run(['send', '127.0.0.1', String(port), '"authorized"', '--token=s3cret'])).code).toBe(0);
    expect(await listener.waitForLines(1)).toEqual(['"authorized"']);
  });

  it('DATASOCKET_TOKEN stands in for --token', async () => {
    const { listener, port } = await listen(['127.0.0.1', '0'], { stdin: 'ignore', env: { DATASOCKET_TOKEN: 'from-env' } });
    expect((await run(['send', '127.0.0.1', String(port), '1'], { env: { DATASOCKET_TOKEN: 'from-env' } })).code).toBe(0);
    expect(await listener.waitForLines(1)).toEqual(['1']);
  });

  it('a wrong or missing token exits 1 with ERR_DATASOCKET_AUTH_FAILED on stderr, and nothing arrives', async () => {
    const { listener, port } = await listen(['127.0.0.1', '0', '--token', 's3cret'], { stdin: 'ignore' });
    const wrong = await run(['send', '127.0.0.1', String(port), '"intruder"', '--token', 'guess']);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/^datasocket: ERR_DATASOCKET_AUTH_FAILED: /m);
    const none = cli(['connect', '127.0.0.1', String(port)]);
    expect(await none.exitCode()).toBe(1);
    expect(none.stderr).toContain('ERR_DATASOCKET_AUTH_FAILED');
    expect(listener.stdout).toBe('');
    expect(listener.running).toBe(true);
    // The listener says so on stderr, once per failed client.
    await listener.waitFor('stderr', /a connection failed its handshake: ERR_DATASOCKET_AUTH_FAILED[^\n]*\n[\s\S]*a connection failed its handshake: ERR_DATASOCKET_AUTH_FAILED/);
  });
});

describe('§8 --version', () => {
  it("prints the package's version and exits 0", async () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-v']) {
      const result = await run([flag]);
      expect(result.code).toBe(0);
      expect(result.stdout).toBe(`${manifest.version}\n`);
    }
  });
});

describe('§8 TLS', () => {
  let dir: string;
  beforeAll(async () => {
    const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
      keyType: 'ec',
      extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }],
    });
    dir = fs.mkdtempSync(path.join(fs.realpathSync(process.env.TMPDIR ?? '/tmp'), 'cli-tls-'));
    fs.writeFileSync(path.join(dir, 'cert.pem'), pems.cert);
    fs.writeFileSync(path.join(dir, 'key.pem'), pems.private);
    return () => fs.rmSync(dir, { recursive: true, force: true });
  });

  async function tlsListener(): Promise<{ listener: Cli; port: string }> {
    const { listener, port } = await listen(['127.0.0.1', '0', '--tls-cert', path.join(dir, 'cert.pem'), '--tls-key', path.join(dir, 'key.pem')], {
      stdin: 'ignore',
    });
    return { listener, port: String(port) };
  }

  it('--tls-ca checks the listener certificate and the value arrives', async () => {
    const { listener, port } = await tlsListener();
    const sent = await run(['send', '127.0.0.1', port, '"over tls"', '--tls-ca', path.join(dir, 'cert.pem')]);
    expect(sent).toMatchObject({ code: 0, stderr: '' });
    expect(await listener.waitForLines(1)).toEqual(['"over tls"']);
  });

  it('a certificate nobody vouches for is refused: exit 1 with the TLS code', async () => {
    const { listener, port } = await tlsListener();
    const sent = await run(['send', '127.0.0.1', port, '"unchecked"', '--tls']);
    expect(sent.code).toBe(1);
    expect(sent.stderr).toMatch(/^datasocket: (DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN): /m);
    expect(listener.stdout).toBe('');
  });

  it('--tls-insecure connects without checking, and says so on stderr', async () => {
    const { listener, port } = await tlsListener();
    const sent = await run(['send', '127.0.0.1', port, '"insecure"', '--tls-insecure']);
    expect(sent.code).toBe(0);
    expect(sent.stderr).toMatch(/--tls-insecure.*testing only/);
    expect(await listener.waitForLines(1)).toEqual(['"insecure"']);
  });
});

describe('§8 connection errors exit 1 with the code on stderr', () => {
  it('connect to a local name nobody listens on: ENOENT', async () => {
    const name = uniqueName();
    const { code, stdout, stderr } = await run(['connect', name]);
    expect(code).toBe(1);
    expect(stderr).toMatch(new RegExp(`^datasocket: ENOENT: connect ENOENT .*${name}\\.sock\\n$`));
    expect(stdout).toBe('');
  });

  it('send to a TCP port nobody listens on: ECONNREFUSED', async () => {
    const port = await closedPort();
    const { code, stderr } = await run(['send', '127.0.0.1', String(port), '1']);
    expect(code).toBe(1);
    expect(stderr).toBe(`datasocket: ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:${port}\n`);
  });

  it('listen on a name a live listener holds: EADDRINUSE, and the first listener is unharmed', async () => {
    const name = uniqueName();
    const { listener } = await listen([name], { stdin: 'ignore' });
    const second = await run(['listen', name]);
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(/^datasocket: EADDRINUSE: /m);
    expect((await run(['send', name, '"still here"'])).code).toBe(0);
    expect(await listener.waitForLines(1)).toEqual(['"still here"']);
  });

  it('a connection that fails its handshake in time: ERR_DATASOCKET_PROTOCOL after --timeout', async () => {
    // A TCP server that accepts and says nothing is not a DataSocket.
    const silent = net.createServer((socket) => socket.on('error', () => {}));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = silent.address() as net.AddressInfo;
      const started = Date.now();
      const { code, stderr } = await run(['connect', '127.0.0.1', String(port), '--timeout', '300']);
      expect(code).toBe(1);
      expect(stderr).toMatch(/^datasocket: ERR_DATASOCKET_PROTOCOL: .*300 ms/m);
      expect(Date.now() - started).toBeLessThan(4_000);
    } finally {
      silent.close();
    }
  });
});

/** A TCP port on 127.0.0.1 that was free a moment ago. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
