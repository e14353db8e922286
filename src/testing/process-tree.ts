/**
 * Finding and killing a process and everything it started (SPEC §13), for the
 * testing kit's `launchInstance`: Playwright's `ElectronApplication.close()` can leave
 * Electron's helpers running (microsoft/playwright#20357, #24294), and an app may
 * start helpers of its own.
 *
 * A process is known by its pid *and* its start time (Linux: /proc/<pid>/stat
 * field 22; elsewhere `ps`' lstart), so a pid the OS has given to another process
 * since is never killed. A zombie counts as gone: it holds no resources but its
 * pid, and it stays until its parent reaps it (in a container whose pid 1 does not
 * reap, forever).
 *
 * Node only, no Playwright.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { invalidArgument } from '../shared/errors.js';

/** One process as the OS lists it. */
export interface ProcessInfo {
  readonly pid: number;
  readonly ppid: number;
  /** Its process group (0 where the OS does not say, on Windows). */
  readonly pgid: number;
  /** When it started, in the OS's own notation: with `pid`, what identifies it. */
  readonly start: string;
  /** Exited, waiting for its parent to reap it: nothing left to kill. */
  readonly zombie: boolean;
}

/** What `killProcessTree` did. */
export interface KillTreeResult {
  /** Every process it sent SIGKILL to (on Windows: the root, whose tree taskkill /T ended). */
  readonly killed: ProcessInfo[];
  /** Processes of the tree still running when `timeoutMs` ran out (normally none). */
  readonly survivors: ProcessInfo[];
}

/** Options of `killProcessTree`. */
export interface KillTreeOptions {
  /** How long to keep killing and looking, in ms (default 10,000). */
  timeoutMs?: number;
  /**
   * A `processTree()` taken earlier, while the tree was whole. Processes whose parent
   * has died since are reparented (to pid 1) and cannot be found from the root any
   * more; with the snapshot they are still killed, if they are still the same processes.
   */
  snapshot?: readonly ProcessInfo[];
}

/** Every process on this machine now (Linux: /proc; other POSIX: `ps`; Windows: none, see killProcessTree). */
export function listProcesses(platform: NodeJS.Platform = process.platform): ProcessInfo[] {
  if (platform === 'win32') return [];
  return platform === 'linux' ? listFromProc() : listFromPs();
}

function listFromProc(): ProcessInfo[] {
  const list: ProcessInfo[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const info = readProcStat(Number(entry));
    if (info !== undefined) list.push(info);
  }
  return list;
}

function readProcStat(pid: number): ProcessInfo | undefined {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined; // exited between readdir and read
  }
  // The command name (field 2) is in parentheses and may itself hold spaces and ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state), so field n is fields[n - 3].
  return {
    pid,
    ppid: Number(fields[1]),
    pgid: Number(fields[2]),
    start: fields[19] ?? '',
    zombie: fields[0] === 'Z' || fields[0] === 'X',
  };
}

function listFromPs(): ProcessInfo[] {
  // lstart last: it holds spaces ("Mon Nov 30 07:19:00 2026").
  const out = execFileSync('ps', ['-A', '-o', 'pid=,ppid=,pgid=,stat=,lstart='], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  const list: ProcessInfo[] = [];
  for (const line of out.split('\n')) {
    const match = /^\s*(\d+)\s+(\d+)\s+(\d+)\s+(\S+)\s+(.+?)\s*$/.exec(line);
    if (match === null) continue;
    list.push({ pid: Number(match[1]), ppid: Number(match[2]), pgid: Number(match[3]), start: match[5]!, zombie: match[4]!.startsWith('Z') });
  }
  return list;
}

/**
 * The process `pid` and all its descendants now, root first; empty when `pid` is not
 * running. On Windows (no parent list without extra tools) just the root, if running.
 */
export function processTree(pid: number, platform: NodeJS.Platform = process.platform): ProcessInfo[] {
  checkPid(pid);
  if (platform === 'win32') return isRunning(pid) ? [{ pid, ppid: 0, pgid: 0, start: '', zombie: false }] : [];
  const all = listProcesses(platform);
  const root = all.find((p) => p.pid === pid && !p.zombie);
  return root === undefined ? [] : [root, ...descendantsOf([root], all)];
}

function descendantsOf(parents: readonly ProcessInfo[], all: readonly ProcessInfo[]): ProcessInfo[] {
  const found = new Map<number, ProcessInfo>();
  const queue = parents.map((p) => p.pid);
  const seen = new Set(queue);
  while (queue.length > 0) {
    const parent = queue.shift()!;
    for (const child of all) {
      if (child.ppid !== parent || seen.has(child.pid)) continue;
      seen.add(child.pid);
      found.set(child.pid, child);
      queue.push(child.pid);
    }
  }
  return [...found.values()];
}

/**
 * SIGKILLs the process `pid` and its whole tree, and keeps looking until none of it is
 * left (or `timeoutMs` passes): its descendants now, the still-identical processes of
 * `options.snapshot`, the descendants of all of these, and — when the root led its own
 * process group, as Playwright makes it on POSIX — the members of that group while the
 * group is provably still the same one. Resolves with what it killed and what
 * survived; never rejects for processes that are already gone. Take the snapshot
 * before anything may end the root: once the root is gone and reaped, without one,
 * nothing leads to its tree any more and nothing is killed.
 *
 * On Windows it runs `taskkill /pid <pid> /T /F` (which finds children by parent pid,
 * so it misses those whose parent already exited) and waits for the root to go.
 */
export async function killProcessTree(pid: number, options: KillTreeOptions = {}): Promise<KillTreeResult> {
  checkPid(pid);
  const timeoutMs = options.timeoutMs ?? 10_000;
  if (typeof timeoutMs !== 'number' || !(timeoutMs >= 0)) throw invalidArgument(`'timeoutMs' must be a number >= 0, not ${String(timeoutMs)}`);
  if (process.platform === 'win32') return killWindowsTree(pid, timeoutMs);

  const deadline = Date.now() + timeoutMs;
  const ours = new Map<number, ProcessInfo>(); // by pid: every process of the tree seen so far
  for (const p of options.snapshot ?? []) ours.set(p.pid, p);
  // A zombie root still says which group it led; its number stays taken until it is reaped.
  const rootNow = listProcesses().find((p) => p.pid === pid);
  if (!ours.has(pid) && rootNow !== undefined) ours.set(pid, rootNow);
  const rootInfo = ours.get(pid);
  // Sweep the root's group only if the root led it (Playwright spawns Electron detached): never the caller's.
  const group = rootInfo !== undefined && rootInfo.pgid === pid && pid !== process.pid ? pid : undefined;
  const killed = new Map<number, ProcessInfo>();

  for (;;) {
    const all = listProcesses();
    const now = new Map(all.map((p) => [p.pid, p]));
    // Still the same process: same pid and start (a different start means the pid was reused).
    const present = [...ours.values()].filter((p) => now.get(p.pid)?.start === p.start);
    // A group number is free for reuse only once every member (zombies too) is gone:
    // while one of ours is in it, it is still our group.
    const groupIsOurs = group !== undefined && present.some((p) => now.get(p.pid)!.pgid === group);
    const found = [...present.map((p) => now.get(p.pid)!), ...(groupIsOurs ? all.filter((p) => p.pgid === group) : [])];
    const targets = [...new Map([...found, ...descendantsOf(found, all)].map((p) => [p.pid, p])).values()].filter((p) => !p.zombie);
    if (targets.length === 0) return { killed: [...killed.values()], survivors: [] };
    if (Date.now() >= deadline) return { killed: [...killed.values()], survivors: targets };
    if (groupIsOurs) signal(-group, 'SIGKILL'); // also reaches members forked since the listing
    for (const p of targets) {
      ours.set(p.pid, p);
      if (signal(p.pid, 'SIGKILL')) killed.set(p.pid, p);
    }
    await sleep(Math.min(50, Math.max(0, deadline - Date.now())));
  }
}

async function killWindowsTree(pid: number, timeoutMs: number): Promise<KillTreeResult> {
  const root: ProcessInfo = { pid, ppid: 0, pgid: 0, start: '', zombie: false };
  if (!isRunning(pid)) return { killed: [], survivors: [] };
  spawnSync('taskkill', ['/pid', String(pid), '/T', '/F'], { windowsHide: true, stdio: 'ignore' });
  const deadline = Date.now() + timeoutMs;
  while (isRunning(pid)) {
    if (Date.now() >= deadline) return { killed: [], survivors: [root] };
    await sleep(50);
  }
  return { killed: [root], survivors: [] };
}

/** Sends `sig`; false when there was no such process (ESRCH) or it is not ours to signal (EPERM). */
function signal(pid: number, sig: NodeJS.Signals): boolean {
  try {
    process.kill(pid, sig);
    return true;
  } catch {
    return false;
  }
}

/** Whether a process with this pid exists (a zombie included), by `kill(pid, 0)`. */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function checkPid(pid: number): void {
  // 0 and negative numbers mean process groups to kill(2): never a single process here.
  if (!Number.isSafeInteger(pid) || pid <= 0) throw invalidArgument(`pid must be a positive integer, not ${String(pid)}`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
