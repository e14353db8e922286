/**
 * Starting test/fixtures/kit-tree.mjs (a process with a child, a grandchild and a
 * child in a session of its own) and checking which of its processes still run —
 * read straight from /proc or `ps`, not through the code under test. Every tree
 * started is killed after each test, so a failing test leaks nothing.
 */
import { spawn, type ChildProcess, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach } from 'vitest';

/** What kit-tree.mjs reports once its tree is up. */
export interface TreeReport {
  pid: number;
  plain: number;
  nested: number;
  detached: number;
  argv: string[];
  env: Record<string, string | null>;
}

/** The fixture script. */
export const KIT_TREE = fileURLToPath(new URL('../fixtures/kit-tree.mjs', import.meta.url));

/** The processes of every tree started in this test, with their start times, to kill after it. */
const started: { pid: number; start: string | undefined }[] = [];

/** Registers the afterEach that kills what the file's tests left running. */
export function useTreeCleanup(): void {
  afterEach(() => {
    for (const { pid, start } of started.splice(0)) {
      if (start !== undefined && startOf(pid) === start) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone meanwhile
        }
      }
    }
  });
}

/** Remembers `pids` for the cleanup after the test. */
export function track(...pids: number[]): void {
  for (const pid of pids) started.push({ pid, start: startOf(pid) });
}

/** Waits for a line of JSON on `child`'s stdout (kit-tree's report). */
export function readReport(child: ChildProcess, timeoutMs = 15_000): Promise<TreeReport> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`no report from kit-tree within ${timeoutMs} ms; got ${JSON.stringify(text)}`)), timeoutMs);
    child.stdout!.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      const line = text.split('\n').find((l) => l.startsWith('{'));
      if (line === undefined || !text.includes('\n')) return;
      clearTimeout(timer);
      const report = JSON.parse(line) as TreeReport;
      track(report.pid, report.plain, report.nested, report.detached);
      resolve(report);
    });
    child.once('exit', (code, signal) => reject(new Error(`kit-tree exited (${code ?? signal}) before reporting`)));
  });
}

/** Makes a running kit-tree start one more child (in its group); resolves with its pid. */
export function startLateChild(child: ChildProcess, timeoutMs = 15_000): Promise<number> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`kit-tree started no late child within ${timeoutMs} ms`)), timeoutMs);
    const onData = (chunk: Buffer): void => {
      text += chunk.toString();
      const match = /\{"late":(\d+)\}/.exec(text);
      if (match === null) return;
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      const pid = Number(match[1]);
      track(pid);
      resolve(pid);
    };
    child.stdout!.on('data', onData);
    child.kill('SIGUSR2');
  });
}

/** Starts kit-tree.mjs (detached, as Playwright starts Electron, unless said otherwise). */
export async function startTree(options: { detached?: boolean; ignoreTerm?: boolean } = {}): Promise<{ child: ChildProcess; report: TreeReport }> {
  const args = [KIT_TREE, ...(options.ignoreTerm === true ? ['--ignore-term'] : [])];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: options.detached ?? true });
  const report = await readReport(child);
  return { child, report };
}

/** The pids of a tree, root first. */
export function pidsOf(report: TreeReport): number[] {
  return [report.pid, report.plain, report.nested, report.detached];
}

/** A process's start time (/proc field 22, or ps' lstart), undefined once it is gone or a zombie. */
export function startOf(pid: number): string | undefined {
  if (process.platform === 'linux') {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return fields[0] === 'Z' || fields[0] === 'X' ? undefined : fields[19];
    } catch {
      return undefined;
    }
  }
  try {
    const out = execFileSync('ps', ['-o', 'stat=,lstart=', '-p', String(pid)], { encoding: 'utf8' }).trim();
    return out === '' || out.startsWith('Z') ? undefined : out.slice(out.indexOf(' ') + 1);
  } catch {
    return undefined;
  }
}

/** Whether `pid` runs (a zombie does not count). */
export function running(pid: number): boolean {
  return startOf(pid) !== undefined;
}

/** Waits until none of `pids` runs; resolves with those still running when `timeoutMs` is up. */
export async function waitGone(pids: readonly number[], timeoutMs = 5_000): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = pids.filter(running);
    if (left.length === 0 || Date.now() >= deadline) return left;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A process not under test that leads its own group with one more member (as another worker's Electron would): both must survive. */
export interface Stranger {
  child: ChildProcess;
  pid: number;
  /** The other member of its group. */
  member: number;
}

const LEADER = `
  const { spawn } = require('node:child_process');
  const member = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  process.stdout.write(String(member.pid) + '\\n');
  setInterval(() => {}, 1000);
`;

/** Starts a Stranger, at the pid the OS gives it. */
export function startStranger(): Promise<Stranger> {
  return strangerOf(spawn(process.execPath, ['-e', LEADER], { stdio: ['ignore', 'pipe', 'ignore'], detached: true }));
}

/** The file that sets the last pid handed out in this pid namespace (Linux, for checkpoint/restore; needs CAP_SYS_ADMIN). */
const NS_LAST_PID = '/proc/sys/kernel/ns_last_pid';

/**
 * Starts a Stranger at exactly `pid` — a pid reused, as the OS does in a long run.
 * Resolves undefined where that cannot be arranged (not Linux, or not allowed to set the
 * next pid), and 'taken' when other processes (other test files', or their threads)
 * held the pid throughout `timeoutMs`: they start meanwhile and may take it first.
 */
export async function startStrangerAt(pid: number, timeoutMs = 3_000): Promise<Stranger | 'taken' | undefined> {
  if (process.platform !== 'linux') return undefined;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    // /proc/<pid> is there for a thread's id too, though readdir does not list it.
    if (fs.existsSync(`/proc/${pid}`)) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      continue;
    }
    try {
      fs.writeFileSync(NS_LAST_PID, String(pid - 1));
    } catch {
      return undefined;
    }
    const child = spawn(process.execPath, ['-e', LEADER], { stdio: ['ignore', 'pipe', 'ignore'], detached: true });
    if (child.pid === pid) return strangerOf(child);
    track(child.pid!);
    child.kill('SIGKILL');
  }
  return 'taken';
}

async function strangerOf(child: ChildProcess): Promise<Stranger> {
  track(child.pid!);
  const member = await new Promise<number>((resolve, reject) => {
    let text = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      if (text.includes('\n')) resolve(Number(text.trim()));
    });
    child.once('exit', () => reject(new Error('the stranger exited before starting its member')));
  });
  track(member);
  return { child, pid: child.pid!, member };
}

/** A lone sleeper, not part of any tree under test: it must survive. */
export function startBystander(): ChildProcess {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  track(child.pid!);
  return child;
}
