/**
 * The app instances one test launched (SPEC §13 `launchInstance`), and ending each
 * one's process tree after the test — also when the test failed, timed out, or ended
 * while an instance was still starting.
 *
 * What "the tree" can be found by (see process-tree.ts): while the root runs, every
 * descendant; once the root has exited, only what is still in its process group
 * (Playwright starts Electron as a group leader on POSIX) — so when the app ended
 * before the test did (the test closed it, or it quit or crashed), what it left in its
 * group is killed, and a helper that had left the group (setsid) is out of reach. On
 * Windows nothing is left to find once the root has exited. The root is known by the
 * identity recorded at launch, never by whatever holds its pid later.
 *
 * No Playwright here: what launches is a function given in, so the same code runs
 * under the kit's fixture with `_electron.launch` and under this package's own tests
 * with plain Node processes.
 */
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { DataSocketError, ErrorCode, invalidArgument } from '../shared/errors.js';
import { instanceArgs, instanceEnv, instanceLabel, userDataDirIn } from './instance-env.js';
import { OutputTail } from './output-tail.js';
import { killProcessTree, processGroup, processInfo, processTree, type ProcessInfo } from './process-tree.js';

/** What a launcher gives back: Playwright's ElectronApplication fits. */
export interface LaunchedApp {
  /** The launched root process (Electron's main process; on Windows the shell Playwright starts it with). */
  process(): ChildProcess;
  /** Closes the app the polite way. */
  close(): Promise<void>;
}

/** The options of one launch that the kit reads; the rest go to the launcher as given. */
export interface InstanceOptions {
  /** A name for logs, attachments and the userData directory (default `instance-<n>`). */
  label?: string;
  args?: string[];
  env?: Record<string, string | undefined>;
}

/** What closing an instance did. */
export interface ShutdownReport {
  readonly label: string;
  readonly pid: number | undefined;
  /** Whether the polite close finished in time (false also when none was tried: `kill()`). */
  readonly closed: boolean;
  /** The processes of its tree that had to be killed (none when nothing was left running). */
  readonly killed: ProcessInfo[];
  /** Processes still running after the kill ran out of time (normally none). */
  readonly survivors: ProcessInfo[];
}

/** What the launcher is given: the launch options without `label`, `args` and `env` filled in. */
export type LauncherOptions<O> = Omit<O, 'label'> & { args: string[]; env: Record<string, string> };

/** How long each step of closing may take. */
export interface InstanceTimeouts {
  /** The polite close, in ms (default 5,000). */
  closeTimeoutMs?: number;
  /** Killing the tree until it is gone, in ms (default 10,000). */
  killTimeoutMs?: number;
  /** At the end, waiting for launches still under way, in ms (default 10,000). */
  launchWaitMs?: number;
}

/** Where a set's instances live: the test's namespace and trace, and a directory per label. */
export interface InstanceSetContext {
  namespace: string;
  traceDir: string;
  /** The userData directory for an instance with this label. */
  userDataDirFor(label: string): string;
}

/** The most output kept per stream: the end of it, which is where a failure shows. */
const MAX_OUTPUT_CHARS = 1024 * 1024;

/** One launched instance: its app, where it keeps its data, its output, and its end. */
export class ManagedInstance<A extends LaunchedApp> {
  /** The launcher's result (Playwright's ElectronApplication). */
  readonly app: A;
  /** Its label, unique in the test. */
  readonly label: string;
  /** Its own userData directory. */
  readonly userDataDir: string;
  /** The root process's pid (undefined if it never got one). */
  readonly pid: number | undefined;
  /**
   * The root process as recorded at launch (pid, start time, group), while it surely
   * ran; undefined when it had no pid or had already exited. Its end uses this, never
   * what holds the pid later.
   */
  readonly root: ProcessInfo | undefined;
  readonly #child: ChildProcess;
  /** The members of the root's process group as the root exited (its orphans, found through their group). */
  #groupAtExit: ProcessInfo[] = [];
  readonly #output = { stdout: new OutputTail(MAX_OUTPUT_CHARS), stderr: new OutputTail(MAX_OUTPUT_CHARS) };
  readonly #timeouts: Required<InstanceTimeouts>;
  #shutdown: Promise<ShutdownReport> | undefined;

  constructor(app: A, label: string, userDataDir: string, timeouts: Required<InstanceTimeouts>) {
    this.app = app;
    this.label = label;
    this.userDataDir = userDataDir;
    this.#timeouts = timeouts;
    const child: ChildProcess | undefined = app.process();
    // Playwright's client has the ChildProcess only over its in-process connection (`process()` is
    // `toImpl?.(this)?.process()`); without it there is no tree to end.
    if (typeof child !== 'object' || child === null) throw invalidArgument(`the launched app gave no process (process() returned ${String(child)}): launchInstance needs Playwright running in the test's own process`);
    this.#child = child;
    this.pid = child.pid;
    // Now, while the root surely runs: this process has not reaped it (it would have
    // exitCode or signalCode set), so nobody else can hold its pid yet.
    this.root = this.pid !== undefined && !reaped(child) ? processInfo(this.pid) : undefined;
    const root = this.root;
    // The root's children go to pid 1 as it exits; right then its group still leads to them.
    if (root !== undefined) child.once('exit', () => (this.#groupAtExit = groupOf(root)));
    // Playwright reads these pipes too (into its launch log); a second listener sees the same data.
    for (const stream of ['stdout', 'stderr'] as const) {
      child[stream]?.on('data', (chunk: Buffer | string) => this.#output[stream].push(chunk));
    }
  }

  /** What the app wrote to stdout and stderr since it was launched (the last MiB of each). */
  output(): { stdout: string; stderr: string } {
    return { stdout: this.#output.stdout.text(), stderr: this.#output.stderr.text() };
  }

  /**
   * Closes the app politely (bounded), then kills whatever of its process tree is left
   * (see the header for what can be found). An app killed because its close did not
   * finish in time loses what it had not written yet — its last trace batch too.
   * Once: later calls, and the kit's own at the end of the test, get the same report.
   */
  close(): Promise<ShutdownReport> {
    this.#shutdown ??= this.#end(true);
    return this.#shutdown;
  }

  /** Kills the app's process tree at once (what the header says can be found), as a crash would end it. */
  kill(): Promise<ShutdownReport> {
    this.#shutdown ??= this.#end(false);
    return this.#shutdown;
  }

  async #end(polite: boolean): Promise<ShutdownReport> {
    const { root, label, pid } = this;
    const rootReaped = (): boolean => reaped(this.#child);
    // Taken while the tree is whole (once a parent exits, its children no longer lead back
    // to the root) — and never once the root is reaped: its pid may be anyone's by then.
    const tree = root !== undefined && !rootReaped() ? treeOf(root) : [];
    const closed = polite ? await bounded(this.app.close(), this.#timeouts.closeTimeoutMs) : false;
    if (root === undefined) return { label, pid, closed, killed: [], survivors: [] };
    // Read after the close: the root may have exited during it.
    const snapshot = [...tree, ...this.#groupAtExit];
    const { killed, survivors } = await killProcessTree(root.pid, { root, rootReaped, snapshot, timeoutMs: this.#timeouts.killTimeoutMs });
    return { label, pid, closed, killed, survivors };
  }
}

/**
 * The instances of one test. `launch()` gives each its own label, userData directory
 * and environment and starts it with the launcher; `closeAll()` ends every one of
 * them, including launches still under way: it waits for those (bounded), and one
 * that finishes later still is ended at once and its caller gets ERR_DATASOCKET_CLOSED.
 */
export class InstanceSet<O extends InstanceOptions, A extends LaunchedApp> {
  readonly #launcher: (options: LauncherOptions<O>) => Promise<A>;
  readonly #context: InstanceSetContext;
  readonly #timeouts: Required<InstanceTimeouts>;
  readonly #instances: ManagedInstance<A>[] = [];
  readonly #pending = new Set<Promise<unknown>>();
  readonly #labels = new Set<string>();
  #closing = false;

  constructor(
    launcher: (options: LauncherOptions<O>) => Promise<A>,
    context: InstanceSetContext,
    timeouts: InstanceTimeouts = {},
  ) {
    this.#launcher = launcher;
    this.#context = context;
    this.#timeouts = { closeTimeoutMs: 5_000, killTimeoutMs: 10_000, launchWaitMs: 10_000, ...timeouts };
  }

  /** The instances launched so far, in order. */
  get instances(): readonly ManagedInstance<A>[] {
    return this.#instances;
  }

  /** Launches one instance; rejects as the launcher does, or with ERR_DATASOCKET_CLOSED after `closeAll()`. */
  async launch(options: O = {} as O): Promise<ManagedInstance<A>> {
    if (this.#closing) throw closedError('the test has ended; no more instances can be launched');
    const { label: given, args, env, ...rest } = options;
    const label = this.#uniqueLabel(instanceLabel(given, this.#labels.size + 1));
    const launchArgs = instanceArgs(args, this.#context.userDataDirFor(label));
    const userDataDir = userDataDirIn(launchArgs)!;
    fs.mkdirSync(userDataDir, { recursive: true });
    const launchEnv = instanceEnv(this.#context, env);
    // `rest` is O without label, args and env, which come back filled in: O without its label.
    const launching = this.#launcher({ ...rest, args: launchArgs, env: launchEnv } as unknown as LauncherOptions<O>);
    this.#pending.add(launching);
    let app: A;
    try {
      app = await launching;
    } finally {
      this.#pending.delete(launching);
    }
    let instance: ManagedInstance<A>;
    try {
      instance = new ManagedInstance(app, label, userDataDir, this.#timeouts);
    } catch (error) {
      await endUnmanaged(app, this.#timeouts.closeTimeoutMs); // not tracked: nothing else would ever end it
      throw error;
    }
    this.#instances.push(instance);
    if (this.#closing) {
      await instance.kill();
      throw closedError(`instance '${label}' finished starting after the test ended; it was killed`);
    }
    return instance;
  }

  /** Ends every instance (see ManagedInstance.close) and reports on each, in launch order. */
  async closeAll(): Promise<ShutdownReport[]> {
    this.#closing = true;
    if (this.#pending.size > 0) await bounded(Promise.allSettled([...this.#pending]), this.#timeouts.launchWaitMs);
    return Promise.all(this.#instances.map((instance) => instance.close()));
  }

  #uniqueLabel(label: string): string {
    let unique = label;
    for (let n = 2; this.#labels.has(unique); n++) unique = `${label}-${n}`;
    this.#labels.add(unique);
    return unique;
  }
}

/**
 * The error for instances whose processes outlived the kill (normally none): the SPEC
 * promises every instance's tree is gone after the test, so the test must not pass
 * quietly when it is not.
 */
export function survivorError(reports: readonly ShutdownReport[]): DataSocketError | undefined {
  const bad = reports.filter((r) => r.survivors.length > 0);
  if (bad.length === 0) return undefined;
  const list = bad.map((r) => `'${r.label}' (pid ${r.pid}): ${r.survivors.map((p) => p.pid).join(', ')}`).join('; ');
  return new DataSocketError(ErrorCode.TIMEOUT, `processes of launched instances still run after SIGKILL: ${list}`);
}

/** Whether `promise` settled as fulfilled within `ms`; a later rejection is not left unhandled. */
async function bounded(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([promise.then(() => true, () => false), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Whether this process has reaped `child` (after which its pid is free for the OS to give out again). */
function reaped(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** The tree of `root` now, if the process at its pid is still `root`. */
function treeOf(root: ProcessInfo): ProcessInfo[] {
  try {
    const tree = processTree(root.pid);
    return tree[0]?.start === root.start ? tree : [];
  } catch {
    return []; // no `ps` here: killProcessTree will say so
  }
}

/** The group `root` left behind as it was reaped; never throws: it runs in an 'exit' listener. */
function groupOf(root: ProcessInfo): ProcessInfo[] {
  try {
    return processGroup(root, true);
  } catch {
    return [];
  }
}

/** Ends a launched app the kit could not take charge of: its close (bounded), then SIGKILL to its root if it gives one. */
async function endUnmanaged(app: LaunchedApp, closeTimeoutMs: number): Promise<void> {
  if (await bounded(Promise.resolve().then(() => app.close()), closeTimeoutMs)) return;
  try {
    const child = app.process();
    // ChildProcess.kill() does nothing once the child is reaped: no pid reuse to fear.
    if (!reaped(child)) child.kill('SIGKILL');
  } catch {
    // No process to be had: the close was all there was to try.
  }
}

function closedError(message: string): DataSocketError {
  return new DataSocketError(ErrorCode.CLOSED, message);
}
