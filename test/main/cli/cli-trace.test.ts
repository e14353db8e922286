/**
 * `datasocket trace <dir>` (SPEC §13): its command line, read without a process, and
 * the command run as a real process over a trace directory. It runs the CLI from src
 * through tsx rather than the build in dist/, so it needs no build of its own (and no
 * build racing another's in a shared tree).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { parseCliArgs, UsageError } from '../../../src/main/cli/cli-args.js';
import { readTrace, type TraceEntry } from '../../../src/main/trace/trace-merge.js';
import { traceWriter } from '../../../src/main/trace/trace-writer.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const CLI = path.join(ROOT, 'src/main/cli/cli.ts');

/** Runs `datasocket <args>` to its end. */
function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`datasocket ${args.join(' ')} still running after 20 s; stderr: ${stderr}`));
    }, 20_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const dirs: string[] = [];

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'datasocket-cli-trace-'));
  dirs.push(dir);
  return dir;
}

/** A trace of two processes: this one (through the writer) and a made-up pid 7 whose events fall between. */
async function twoProcessTrace(): Promise<string> {
  const dir = tempDir();
  const writer = traceWriter(dir);
  writer.write({ socket: 1, role: 'listener', endpoint: '/run/app.sock', event: 'listening' });
  await writer.flush();
  // Times on the writer's own clock: its first record's, plus a little; the next record comes 10 ms later.
  const between = (JSON.parse(fs.readFileSync(writer.file, 'utf8')) as TraceEntry).time + 1;
  await new Promise((resolve) => setTimeout(resolve, 10));
  writer.write({ socket: 2, role: 'server', endpoint: '/run/app.sock', event: 'data', count: 3, bytes: 120, peer: 1 });
  await writer.flush();
  const lines = [
    { time: between, pid: 7, socket: 1, role: 'client', endpoint: '/run/app.sock', event: 'connect' },
    { time: between + 1, pid: 7, socket: 1, role: 'client', endpoint: '/run/app.sock', event: 'sent', count: 3, bytes: 120, value: { $bigint: '1' } },
  ];
  fs.writeFileSync(path.join(dir, '7.jsonl'), lines.map((line) => `${JSON.stringify(line)}\n`).join(''));
  return dir;
}

afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

describe('§13 datasocket trace: the command line', () => {
  it('takes one directory, and --json anywhere', () => {
    expect(parseCliArgs(['trace', 'traces'])).toEqual({ kind: 'trace', trace: { dir: 'traces', json: false } });
    expect(parseCliArgs(['trace', '--json', '/tmp/t'])).toEqual({ kind: 'trace', trace: { dir: '/tmp/t', json: true } });
    expect(parseCliArgs(['--json', 'trace', 'd'], { DATASOCKET_TOKEN: 'ignored' })).toEqual({ kind: 'trace', trace: { dir: 'd', json: true } });
    expect(parseCliArgs(['trace', '--', '-odd-dir'])).toEqual({ kind: 'trace', trace: { dir: '-odd-dir', json: false } });
  });

  it.each([
    [['trace'], /missing <dir> to trace/],
    [['trace', 'a', 'b'], /too many arguments: 'b'/],
    [['trace', 'd', '--token', 's'], /'--token' is not available with trace/],
    [['trace', 'd', '--tls'], /'--tls' is not available with trace/],
    [['trace', 'd', '--json=yes'], /'--json' takes no value/],
    [['listen', 'app', '--json'], /'--json' is for trace/],
    [['send', 'app', '1', '--json'], /'--json' is for trace/],
    [['tracer', 'd'], /unknown command 'tracer' \(expected listen, connect, send, request, join or trace\)/],
  ])('%j is a usage error', (argv, message) => {
    expect(() => parseCliArgs(argv)).toThrow(UsageError);
    expect(() => parseCliArgs(argv)).toThrow(message);
  });
});

describe('§13 datasocket trace <dir> as a process', () => {
  it('prints one merged timeline on stdout, every process in time order, and exits 0', async () => {
    const dir = await twoProcessTrace();
    const { code, stdout, stderr } = await run(['trace', dir]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const lines = stdout.split('\n');
    expect(lines.at(-1)).toBe('');
    expect(lines.slice(0, -1).map((line) => line.match(/\s(listening|connect|sent|data)\b/)?.[1])).toEqual(['listening', 'connect', 'sent', 'data']);
    expect(lines[0]).toMatch(new RegExp(`^\\d\\d:\\d\\d:\\d\\d\\.\\d{3}\\s+\\+0\\.000ms\\s+${process.pid}\\s+${process.pid}#1\\s+listener\\s+/run/app\\.sock\\s+listening$`));
    expect(lines[1]).toMatch(/\s7\s+7#1\s+client\s+\/run\/app\.sock\s+connect$/);
    expect(lines[2]).toMatch(/sent\s+3 values, 120 B {2}value {"\$bigint":"1"}$/);
    expect(lines[3]).toContain(`3 values, 120 B  peer ${process.pid}#1`);
  });

  it('--json prints the merged records as JSON lines, ordered by time, as readTrace reads them', async () => {
    const dir = await twoProcessTrace();
    const { code, stdout, stderr } = await run(['trace', dir, '--json']);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const printed = stdout.trimEnd().split('\n').map((line) => JSON.parse(line) as TraceEntry);
    expect(printed.map((e) => `${e.pid}:${e.event}`)).toEqual([`${process.pid}:listening`, '7:connect', '7:sent', `${process.pid}:data`]);
    expect(printed).toEqual((await readTrace(dir)).entries);
  });

  it('lines that are not records are skipped, and stderr says how many; the rest prints, exit 0', async () => {
    const dir = await twoProcessTrace();
    fs.appendFileSync(path.join(dir, '7.jsonl'), 'garbage\n{"time":9,"pid":7,"ev');
    const { code, stdout, stderr } = await run(['trace', dir, '--json']);
    expect(code).toBe(0);
    expect(stderr).toBe('datasocket: 2 lines were not trace records and were skipped\n');
    expect(stdout.trimEnd().split('\n')).toHaveLength(4);
  });

  it('a directory without trace files: nothing on stdout, a note on stderr, exit 0', async () => {
    const dir = tempDir();
    const { code, stdout, stderr } = await run(['trace', dir]);
    expect(code).toBe(0);
    expect(stdout).toBe('');
    expect(stderr).toBe(`datasocket: no trace files (*.jsonl) in ${dir}\n`);
  });

  it('a missing directory exits 1 with ENOENT and the directory on stderr, nothing on stdout', async () => {
    const dir = path.join(tempDir(), 'never-traced');
    const { code, stdout, stderr } = await run(['trace', dir]);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toBe(`datasocket: ENOENT: cannot read the trace directory ${dir}: no such directory\n`);
  });

  it('no directory: a usage error, exit 2, with the usage (which lists trace)', async () => {
    const { code, stdout, stderr } = await run(['trace']);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/^datasocket: missing <dir> to trace\n/);
    expect(stderr).toContain('datasocket trace   <dir> [--json]');
  });

  it('--help describes trace and --json', async () => {
    const { code, stdout } = await run(['--help']);
    expect(code).toBe(0);
    expect(stdout).toContain('datasocket trace   <dir> [--json]');
    expect(stdout).toMatch(/^ {2}trace {4}Prints the trace in <dir>/m);
    expect(stdout).toMatch(/^ {2}--json {15}trace: print the merged records as JSON lines/m);
  });
});
