/**
 * Starts and stops one app instance: a harness process (../harness/main-process.ts)
 * standing for its Electron main process, with its own XDG_RUNTIME_DIR (where its
 * local sockets live) in a fresh temp dir that is removed on stop.
 *
 * It is started with this process's environment, as the testing kit's launchInstance
 * starts an Electron app: inside a test (electron-datasocket/testing's `test`) that
 * holds the test's DATASOCKET_NAMESPACE and DATASOCKET_TRACE, so its pages' bare names
 * resolve in the test's namespace and its page sockets are traced into the test's
 * trace directory, which the kit attaches to the report when the test fails.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { buildLoader, type PreloadKind } from '../harness/bundles.js';
import type { HarnessEvent } from '../harness/main-process.js';
import type { PolicyName } from '../harness/policies.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(here, '../../..');
const HARNESS = path.resolve(here, '../harness/main-process.ts');

/**
 * What this worker builds once for all the harnesses it starts, in a directory of its own under the repository's
 * node_modules/.cache (removed when the worker exits): the loader of each preload kind (bundling it at every harness
 * start would cost every test), and the harness itself as one ES module, bundled as an app's main is — through tsx a
 * harness takes about twice as long to start (0.6–0.9 s against 0.3–0.4 s here), and every test starts one or more.
 * The bundle keeps its packages as imports (found from its place in node_modules) and an inline source map, so stack
 * traces point at the sources.
 */
let buildDir: string | undefined;
const loaderFiles = new Map<PreloadKind, Promise<string>>();
let harnessFile: Promise<string> | undefined;

function ownBuildDir(): string {
  if (buildDir === undefined) {
    const dir = path.join(ROOT, 'node_modules', '.cache', 'electron-datasocket-e2e', `worker-${process.pid}`);
    fs.mkdirSync(dir, { recursive: true });
    process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
    buildDir = dir;
  }
  return buildDir;
}

function loaderFile(kind: PreloadKind): Promise<string> {
  let file = loaderFiles.get(kind);
  if (file === undefined) {
    file = (async () => {
      const target = path.join(ownBuildDir(), `loader-${kind}.js`);
      fs.writeFileSync(target, await buildLoader(kind));
      return target;
    })();
    loaderFiles.set(kind, file);
  }
  return file;
}

function harnessScript(): Promise<string> {
  harnessFile ??= (async () => {
    const outfile = path.join(ownBuildDir(), 'main-process.mjs');
    await build({
      entryPoints: [HARNESS],
      outfile,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external',
      sourcemap: 'inline',
      // The one module that reads import.meta.url, harness/bundles.ts, sits beside main-process.ts: it finds its paths from there.
      define: { 'import.meta.url': JSON.stringify(pathToFileURL(HARNESS).href) },
      logLevel: 'warning',
    });
    return outfile;
  })();
  return harnessFile;
}

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
  /** Names the instance in its trace records (`<label> frame <n>`). Default 'app'. */
  label?: string;
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
  #ready: Extract<HarnessEvent, { ev: 'ready' }> | null = null;

  private constructor(runtimeDir: string, ownsDir: boolean, options: AppInstanceOptions, script: string, loader: string | null) {
    this.runtimeDir = runtimeDir;
    this.#ownsDir = ownsDir;
    this.preload = options.preload ?? 'datasocket';
    const args = [
      '--policy',
      options.policy ?? 'default',
      '--preload',
      this.preload,
      '--label',
      options.label ?? 'app',
      ...(options.internals === true ? ['--internals'] : []),
      ...(options.reportIpc === true ? ['--report-ipc'] : []),
      ...(loader === null ? [] : ['--loader-file', loader]),
    ];
    this.#child = spawn(process.execPath, ['--enable-source-maps', script, ...args], {
      cwd: ROOT,
      // process.env carries the test's namespace and trace directory (the kit sets them for the test's length).
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
    const preload = options.preload ?? 'datasocket';
    const [script, loader] = await Promise.all([harnessScript(), preload === 'none' ? null : loaderFile(preload)]);
    const ownsDir = options.runtimeDir === undefined;
    const dir = options.runtimeDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'ds-e2e-'));
    const app = new AppInstance(dir, ownsDir, options, script, loader);
    try {
      app.#ready = (await app.waitFor((e) => e.ev === 'ready', 30_000)) as Extract<HarnessEvent, { ev: 'ready' }>;
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

  /** The DATASOCKET_NAMESPACE the harness runs with, as it reported (the test's), or null (started outside a test). */
  get namespace(): string | null {
    return this.#started().namespace;
  }

  /** The DATASOCKET_TRACE directory the harness runs with, as it reported (the test's), or null. */
  get traceDir(): string | null {
    return this.#started().traceDir;
  }

  #started(): Extract<HarnessEvent, { ev: 'ready' }> {
    if (this.#ready === null) throw new Error('the harness has not reported ready yet');
    return this.#ready;
  }

  /** The harness process's pid (what its trace file is named after). */
  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** The URL of the test page served by this instance. */
  pageUrl(): string {
    return `http://127.0.0.1:${this.#started().port}/page`;
  }

  /** Where this instance takes its pages' message ports (what the stand-in's WebSockets connect to). */
  portUrl(): string {
    return `ws://127.0.0.1:${this.#started().port}/port`;
  }

  /** Where a listener of this instance puts the socket file of bare name `name`: its socket directory (SPEC §5), in the test's namespace (§13). */
  socketFile(name: string): string {
    return path.join(this.runtimeDir, 'datasocket', ...(this.namespace === null ? [] : [this.namespace]), `${name}.sock`);
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
