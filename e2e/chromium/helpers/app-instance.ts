/**
 * Starts and stops one app instance: a harness process (../harness/main-process.ts)
 * standing for its Electron main process, with its own XDG_RUNTIME_DIR (where its
 * local sockets live) in a fresh temp dir that is removed on stop.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { PreloadKind } from '../harness/bundles.js';
import type { HarnessEvent } from '../harness/main-process.js';
import type { PolicyName } from '../harness/policies.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(here, '../../..');
const HARNESS = path.resolve(here, '../harness/main-process.ts');

/** How to start an instance: what an Electron app decides in main, never a page. */
export interface AppInstanceOptions {
  /** The main process's policy. Default: the library's default policy. */
  policy?: PolicyName;
  /** Share another instance's runtime dir (two instances in one user session). Default: a fresh one. */
  runtimeDir?: string;
  /** Which preload runs in its pages' isolated realm. Default: the real DataSocket preload. */
  preload?: PreloadChoice;
  /** Put the stand-in's test-only internals on its pages (malformed-message tests only). */
  internals?: boolean;
  /** Report every message a page's port brings to main, as an `ipc` event (the stand-in's own tests only). */
  reportIpc?: boolean;
}

/** A preload a harness can run, or none. */
export type PreloadChoice = PreloadKind | 'none';

/** A running app instance. */
export class AppInstance {
  /** The XDG_RUNTIME_DIR of this instance: its local sockets are in `<runtimeDir>/datasocket`. */
  readonly runtimeDir: string;
  /** What its pages' isolated realm runs. */
  readonly preload: PreloadChoice;
  /** Everything the harness reported, in order. */
  readonly events: HarnessEvent[] = [];
  readonly #child: ChildProcess;
  readonly #ownsDir: boolean;
  readonly #exited: Promise<void>;
  #port = 0;

  private constructor(runtimeDir: string, ownsDir: boolean, options: AppInstanceOptions) {
    this.runtimeDir = runtimeDir;
    this.#ownsDir = ownsDir;
    this.preload = options.preload ?? 'datasocket';
    const args = ['--policy', options.policy ?? 'default', '--preload', this.preload, ...(options.internals === true ? ['--internals'] : []), ...(options.reportIpc === true ? ['--report-ipc'] : [])];
    this.#child = spawn(process.execPath, ['--import', 'tsx', HARNESS, ...args], {
      cwd: ROOT,
      env: { ...process.env, XDG_RUNTIME_DIR: runtimeDir },
      // stdin is a pipe so the harness exits when this process dies, however it dies.
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    this.#exited = new Promise((resolve) => this.#child.once('exit', () => resolve()));
    readline.createInterface({ input: this.#child.stdout! }).on('line', (line) => {
      try {
        this.events.push(JSON.parse(line) as HarnessEvent);
      } catch {
        process.stderr.write(`[harness] ${line}\n`);
      }
    });
  }

  /** Starts an instance and waits until it serves. */
  static async start(options: AppInstanceOptions = {}): Promise<AppInstance> {
    const ownsDir = options.runtimeDir === undefined;
    const dir = options.runtimeDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'ds-e2e-'));
    const app = new AppInstance(dir, ownsDir, options);
    try {
      const ready = (await app.waitFor((e) => e.ev === 'ready', 30_000)) as Extract<HarnessEvent, { ev: 'ready' }>;
      app.#port = ready.port;
      return app;
    } catch (error) {
      await app.stop();
      throw error;
    }
  }

  /** Starts several instances at once; if one fails, stops the others. */
  static async startAll(...options: AppInstanceOptions[]): Promise<AppInstance[]> {
    const settled = await Promise.allSettled(options.map((o) => AppInstance.start(o)));
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed === undefined) return settled.map((s) => (s as PromiseFulfilledResult<AppInstance>).value);
    await Promise.all(settled.map((s) => (s.status === 'fulfilled' ? s.value.stop() : undefined)));
    throw failed.reason;
  }

  /** The URL of the test page served by this instance. */
  pageUrl(): string {
    return `http://127.0.0.1:${this.#port}/page`;
  }

  /** Where this instance takes its pages' message ports (what the stand-in's WebSockets connect to). */
  portUrl(): string {
    return `ws://127.0.0.1:${this.#port}/port`;
  }

  /** Where a listener of this instance puts the socket file of bare name `name` (SPEC §5). */
  socketFile(name: string): string {
    return path.join(this.runtimeDir, 'datasocket', `${name}.sock`);
  }

  /** Resolves with the first event (from index `from` on) that matches. */
  async waitFor(match: (event: HarnessEvent) => boolean, timeoutMs = 10_000, from = 0): Promise<HarnessEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.events.slice(from).find(match);
      if (found !== undefined) return found;
      if (this.#child.exitCode !== null) throw new Error(`the harness exited (${this.#child.exitCode}); it reported ${JSON.stringify(this.events)}`);
      if (Date.now() > deadline) throw new Error(`no such harness event within ${timeoutMs} ms; it reported ${JSON.stringify(this.events.slice(-8))}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  /** Stops the harness (its pages' sockets close) and removes its runtime dir if it made it. */
  async stop(): Promise<void> {
    if (this.#child.exitCode === null && this.#child.signalCode === null) {
      this.#child.stdin!.end();
      const timer = setTimeout(() => this.#child.kill('SIGKILL'), 3_000);
      await this.#exited;
      clearTimeout(timer);
    }
    if (this.#ownsDir) fs.rmSync(this.runtimeDir, { recursive: true, force: true });
  }
}
