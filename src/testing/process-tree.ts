/**
 * Finding and killing a process and everything it started (SPEC §13), for the
 * testing kit's `launchInstance`: Playwright's `ElectronApplication.close()` can leave
 * Electron's helpers running (microsoft/playwright#20357, #24294), and an app may
 * start helpers of its own.
 *
 * A process is known by its pid *and* its start time (Linux: /proc/<pid>/stat
 * field 22, in clock ticks; elsewhere `ps`' lstart, to the second), so a pid the OS
 * has given to another process since is not taken for the one seen before. The root
 * too: the caller records it (`processInfo`) while it surely runs, and says once its
 * parent has reaped it (`rootReaped`) — from then on its pid may be anyone's and is
 * never looked at again, only its process group, while that is provably still its own.
 * What the start time cannot tell apart: a pid reused within the same tick (Linux) or
 * second (`ps`), which takes the OS handing out every other pid in between.
 *
 * A zombie counts as gone: it holds no resources but its pid, and it stays until its
 * parent reaps it (in a container whose pid 1 does not reap, forever).
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
   * The root as `processInfo(pid)` gave it while the root surely ran (right after it
   * was started). A process at `pid` with another start time is not the root and is
   * never touched, nor is its group swept. Without it, whatever holds `pid` when
   * `killProcessTree` is called is taken for the root: the caller vouches that it is.
   */
  root?: ProcessInfo;
  /**
   * Whether the root has exited and its parent reaped it (for a child of this
   * process: its ChildProcess has `exitCode` or `signalCode` set). Asked at every
   * look; once true, the pid is free for the OS to give to anyone, so nothing that
   * holds it is taken for the root any more.
   */
  rootReaped?: () => boolean;
  /**
   * Processes known to be of the tree, seen earlier: a `processTree()` taken while the
   * tree was whole, or `processGroup()` taken as the root exited. Processes whose parent
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
 * The process `pid` as the OS lists it now (a zombie too), or undefined when there is
 * none. Taken right after starting the process, it is that process's identity: later,
 * the pid may be another process's. On Windows only the pid (no start time, no group).
 */
export function processInfo(pid: number, platform: NodeJS.Platform = process.platform): ProcessInfo | undefined {
  checkPid(pid);
  if (platform === 'win32') return isRunning(pid) ? { pid, ppid: 0, pgid: 0, start: '', zombie: false } : undefined;
  return platform === 'linux' ? readProcStat(pid) : listFromPs().find((p) => p.pid === pid);
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

/**
 * The live members of the process group `leader` led (its pid is the group's number),
 * the leader left out — or none, when the group may have ended: when a process other
 * than `leader` holds its pid (once `leaderReaped`, any process there is another one,
 * whatever its start time). Meant for the moment the leader has just exited and been
 * reaped: its children have been handed to pid 1 by then, and its group is the one
 * thing that still leads to them. Empty for a leader that led no group of its own, and
 * on Windows (no process groups).
 */
export function processGroup(leader: ProcessInfo, leaderReaped: boolean, platform: NodeJS.Platform = process.platform): ProcessInfo[] {
  checkPid(leader.pid);
  if (platform === 'win32' || leader.pgid !== leader.pid) return [];
  const all = listProcesses(platform);
  const holder = all.find((p) => p.pid === leader.pid);
  if (holder !== undefined && (leaderReaped || holder.start !== leader.start)) return [];
  return all.filter((p) => p.pgid === leader.pid && p.pid !== leader.pid && !p.zombie);
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
 * left (or `timeoutMs` passes): the root while it is still the same process and not
 * reaped (see `options.root`, `options.rootReaped`), its descendants now, the
 * still-identical processes of `options.snapshot`, the descendants of all of these,
 * and — when the root led its own process group, as Playwright makes it on POSIX — the
 * members of that group while the group is provably still the root's (see
 * `isStillTheGroup`). Resolves with what it killed and what survived; never rejects for
 * processes that are already gone.
 *
 * Take the snapshot before anything may end the root: once the root is gone, its
 * children belong to pid 1 and nothing but the snapshot and its group leads to them.
 * A process that left the group (setsid) and whose parent died is found by neither.
 *
 * On Windows it runs `taskkill /pid <pid> /T /F` (which finds children by parent pid,
 * so it misses those whose parent already exited) and waits for the root to go; once
 * the root is reaped it does nothing at all: it has no way to find what is left.
 */
export async function killProcessTree(pid: number, options: KillTreeOptions = {}): Promise<KillTreeResult> {
  checkPid(pid);
  const timeoutMs = options.timeoutMs ?? 10_000;
  if (typeof timeoutMs !== 'number' || !(timeoutMs >= 0)) throw invalidArgument(`'timeoutMs' must be a number >= 0, not ${String(timeoutMs)}`);
  if (options.root !== undefined && options.root.pid !== pid) throw invalidArgument(`'root' is pid ${options.root.pid}, not ${pid}`);
  const reaped = options.rootReaped ?? ((): boolean => false);
  if (process.platform === 'win32') return killWindowsTree(pid, timeoutMs, reaped);

  const deadline = Date.now() + timeoutMs;
  const ours = new Map<number, ProcessInfo>(); // by pid: every process of the tree seen so far
  for (const p of options.snapshot ?? []) ours.set(p.pid, p);
  // The root is known by its identity, never by a snapshot's word: that is how it is told from a stranger with its pid.
  const snapshotRoot = ours.get(pid);
  ours.delete(pid);
  // A zombie root still says which group it led; its number stays taken until it is reaped.
  const root = options.root ?? snapshotRoot ?? (reaped() ? undefined : listProcesses().find((p) => p.pid === pid));
  // Sweep the root's group only if the root led it (Playwright spawns Electron detached): never the caller's.
  const group = root !== undefined && root.pgid === pid && pid !== process.pid ? pid : undefined;
  const killed = new Map<number, ProcessInfo>();

  for (;;) {
    const rootReaped = reaped();
    const all = listProcesses();
    const now = new Map(all.map((p) => [p.pid, p]));
    // Still the same process: same pid and start (a different start means the pid was reused).
    const same = (p: ProcessInfo): boolean => now.get(p.pid)?.start === p.start;
    const present = [...ours.values()].filter(same);
    // Whoever holds the pid after the root was reaped is someone else, whatever its start.
    const rootPresent = root !== undefined && !rootReaped && same(root);
    if (rootPresent) present.push(now.get(pid)!);
    const groupIsOurs = group !== undefined && isStillTheGroup(group, root!, rootReaped, present, now);
    const found = [...present.map((p) => now.get(p.pid)!), ...(groupIsOurs ? all.filter((p) => p.pgid === group) : [])];
    const targets = [...new Map([...found, ...descendantsOf(found, all)].map((p) => [p.pid, p])).values()].filter((p) => !p.zombie);
    if (targets.length === 0) return { killed: [...killed.values()], survivors: [] };
    if (Date.now() >= deadline) return { killed: [...killed.values()], survivors: targets };
    if (groupIsOurs) signal(-group, 'SIGKILL'); // also reaches members forked since the listing
    for (const p of targets) {
      if (p.pid !== pid) ours.set(p.pid, p);
      if (signal(p.pid, 'SIGKILL')) killed.set(p.pid, p);
    }
    await sleep(Math.min(50, Math.max(0, deadline - Date.now())));
  }
}

/**
 * Whether the process group numbered `group` is still the one `root` led. POSIX never
 * gives out a pid that is the number of a process group with members (fork(): "the
 * child process ID also shall not match any active process group ID"; Linux keeps the
 * number taken while any task refers to it). So:
 *   - while someone else holds the pid — the root was reaped, or the holder started at
 *     another time — the root's group has ended (else the pid could not have been given
 *     out again), and any group of that number is the new holder's: not ours;
 *   - while a process known to be ours (the root itself before it is reaped, a member
 *     seen while the group was surely the root's, one killed here) is in the group, the
 *     group has not ended since, so it is still the root's.
 * A group of that number with none of ours in it is not trusted, even when nobody holds
 * the pid: its maker may have exited and left it to processes of its own.
 */
function isStillTheGroup(group: number, root: ProcessInfo, rootReaped: boolean, present: readonly ProcessInfo[], now: ReadonlyMap<number, ProcessInfo>): boolean {
  const holder = now.get(group);
  if (holder !== undefined && (rootReaped || holder.start !== root.start)) return false;
  return present.some((p) => now.get(p.pid)!.pgid === group);
}

async function killWindowsTree(pid: number, timeoutMs: number, reaped: () => boolean): Promise<KillTreeResult> {
  const root: ProcessInfo = { pid, ppid: 0, pgid: 0, start: '', zombie: false };
  // Once reaped, Windows may give the pid to anyone at once; taskkill /T would end that one's tree.
  if (reaped() || !isRunning(pid)) return { killed: [], survivors: [] };
  spawnSync('taskkill', ['/pid', String(pid), '/T', '/F'], { windowsHide: true, stdio: 'ignore' });
  const deadline = Date.now() + timeoutMs;
  while (!reaped() && isRunning(pid)) {
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
