/**
 * The package as a newcomer gets it. The repository is built and packed with `npm pack`;
 * the tarball is checked for what it ships; then a fresh app installs it and pastes the
 * README's snippets — extracted from README.md itself, by their `<!-- file: … -->` markers,
 * so the README cannot drift from what is tested — and type-checks them (moduleResolution
 * `bundler` and `nodenext`), builds them with electron-vite (the preload must come out as
 * one CommonJS file that requires only `electron`, and run as a sandbox runs it), runs the
 * Node examples (listener and client, two instances, requests), and runs the installed
 * `datasocket` command.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { builtinModules } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';
import type { MessagePort as PortToMain } from 'node:worker_threads';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Every snippet the README marks for pasting, at the path its marker names. */
const SNIPPETS = [
  'listener.mjs',
  'client.mjs',
  'instance.mjs',
  'requests.mjs',
  'typed.ts',
  'src/main/index.ts',
  'src/preload/index.ts',
  'electron.vite.config.ts',
  'src/renderer/app.ts',
  'src/renderer/env.d.ts',
  'e2e/notes.spec.ts',
  'playwright.config.ts',
] as const;

/** The README's marked snippets by path; throws, naming it, if a marker is missing, doubled, unknown or not on a code fence. */
function readmeSnippets(readme: string): Map<string, string> {
  const snippets = new Map<string, string>();
  for (const marker of readme.matchAll(/<!-- file: (\S+) -->/g)) {
    const file = marker[1]!;
    const block = /^\r?\n```[\w-]*\r?\n([\s\S]*?)\r?\n```/.exec(readme.slice(marker.index + marker[0].length));
    if (block === null) throw new Error(`README.md: <!-- file: ${file} --> must stand right before a code fence`);
    if (snippets.has(file)) throw new Error(`README.md: two snippets are marked <!-- file: ${file} -->`);
    snippets.set(file, `${block[1]!}\n`);
  }
  const missing = SNIPPETS.filter((file) => !snippets.has(file));
  if (missing.length > 0) throw new Error(`README.md: no snippet marked ${missing.map((file) => `<!-- file: ${file} -->`).join(', ')}`);
  const unknown = [...snippets.keys()].filter((file) => !(SNIPPETS as readonly string[]).includes(file));
  if (unknown.length > 0) throw new Error(`README.md marks ${unknown.join(', ')}, which this test does not know where to check: add it to SNIPPETS`);
  return snippets;
}

// What a newcomer's shell has: not the variables of the `npm test` running us (npm's
// lifecycle and prefix settings would point a child npm at this repository), not vitest's
// NODE_ENV=test (it changes what Vite builds), and no DataSocket token.
const ENV: NodeJS.ProcessEnv = Object.fromEntries(
  Object.entries(process.env).filter(
    ([key]) => !/^(npm_(package|lifecycle)_.*|npm_config_(local_)?prefix|npm_command|INIT_CWD|VITEST.*|NODE_ENV|TEST|DATASOCKET_.*)$/i.test(key),
  ),
);

interface Result {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end (killed after `timeoutMs`), never throwing: the caller asserts. */
function run(command: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? ENV, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** `result` if it exited 0; otherwise throws with everything it printed. */
function succeeded(result: Result, what: string): Result {
  if (result.code !== 0) {
    throw new Error(`${what} exited with ${result.code ?? result.signal}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`);
  }
  return result;
}

/** Every file under `dir`, as /-separated paths relative to it, sorted. */
function filesUnder(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)).split(path.sep).join('/'))
    .sort();
}

/** Every string in an `exports` value (conditions and subpaths, nested). */
function exportTargets(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (value !== null && typeof value === 'object') return Object.values(value).flatMap(exportTargets);
  return [];
}

/** The package a bare specifier names: `zod/mini` → `zod`, `@scope/name/x` → `@scope/name`. */
function packageName(specifier: string): string {
  return specifier
    .split('/')
    .slice(0, specifier.startsWith('@') ? 2 : 1)
    .join('/');
}

interface PackageJson {
  name: string;
  version: string;
  exports: unknown;
  bin?: string | Record<string, string>;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

// Top-level entries of the repository that are not its source: git's, installed, built or
// cached (the directories .gitignore names). Everything else is copied to be built and packed.
const NOT_SOURCE = new Set(['.git', 'node_modules', 'dist', 'out', 'build', '.cache', 'test-results', 'playwright-report', '.scratch']);

let temp: string;
/** The tarball `npm pack` wrote. */
let tarball: string;
/** The tarball unpacked: its `package/` directory. */
let packed: string;
let manifest: PackageJson;
/** Every file in the tarball, relative to `package/`. */
let files: string[];

beforeAll(async () => {
  temp = fs.mkdtempSync(path.join(os.tmpdir(), 'datasocket-packaging-'));
  // The repository is built and packed from a copy of its source, not in place: the
  // build starts by deleting dist/, which other suites (the CLI's, the e2e harness)
  // read — or rebuild — in parallel workers; and a copy always packs the source as it
  // is now, never a dist/ left over from an older one. The copy packs exactly as the
  // repository would: same package.json, same "files".
  const stage = path.join(temp, 'repo');
  fs.cpSync(ROOT, stage, { recursive: true, filter: (source) => !NOT_SOURCE.has(path.relative(ROOT, source).split(path.sep)[0]!) });
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(stage, 'node_modules'), 'dir');
  succeeded(await run(process.execPath, ['scripts/build.mjs'], { cwd: stage }), 'npm run build (node scripts/build.mjs)');

  const pack = succeeded(await run('npm', ['pack', '--json', '--pack-destination', temp], { cwd: stage }), 'npm pack');
  const [{ filename }] = JSON.parse(pack.stdout) as [{ filename: string }];
  tarball = path.join(temp, filename);
  const unpacked = path.join(temp, 'unpacked');
  fs.mkdirSync(unpacked);
  succeeded(await run('tar', ['-xzf', tarball, '-C', unpacked], { cwd: temp }), 'tar -xzf');
  packed = path.join(unpacked, 'package');
  files = filesUnder(packed);
  manifest = JSON.parse(fs.readFileSync(path.join(packed, 'package.json'), 'utf8')) as PackageJson;
}, 180_000);

afterAll(() => {
  if (temp) fs.rmSync(temp, { recursive: true, force: true });
});

describe('README.md', () => {
  it('marks every snippet a user pastes, each right before its code fence', () => {
    const snippets = readmeSnippets(fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8'));
    expect([...snippets.keys()].sort()).toEqual([...SNIPPETS].sort());
    for (const [file, code] of snippets) expect(code.trim(), file).not.toBe('');
  });
});

describe('the tarball', () => {
  it('holds package.json, README.md, PROTOCOL.md, LICENSE and dist/, nothing else', () => {
    expect(files.filter((file) => !file.startsWith('dist/'))).toEqual(['LICENSE', 'PROTOCOL.md', 'README.md', 'package.json']);
    expect(files.filter((file) => file.startsWith('dist/')).length).toBeGreaterThan(0);
    expect(fs.readFileSync(path.join(packed, 'LICENSE'), 'utf8')).toMatch(/MIT License/);
  });

  it('has every file "exports" and "bin" point at', () => {
    const bin = typeof manifest.bin === 'string' ? [manifest.bin] : Object.values(manifest.bin ?? {});
    expect(bin.length).toBeGreaterThan(0);
    const targets = [...exportTargets(manifest.exports), ...bin].map((target) => path.posix.normalize(target));
    expect(targets.length).toBeGreaterThan(1);
    expect(targets.filter((target) => !files.includes(target))).toEqual([]);
  });

  it('ships no source maps and no @internal member in its .d.ts', () => {
    expect(files.filter((file) => file.endsWith('.map'))).toEqual([]);
    const declarations = files.filter((file) => file.endsWith('.d.ts'));
    expect(declarations.length).toBeGreaterThan(0);
    expect(declarations.filter((file) => fs.readFileSync(path.join(packed, file), 'utf8').includes('@internal'))).toEqual([]);
  });

  it("imports nothing it does not ship or depend on, and depends on nothing it does not import (no devDependency leaks)", async () => {
    // esbuild parses every shipped module (comments, with their example imports, are not
    // imports) and resolves its relative imports inside the unpacked tarball — one that
    // points at a file not shipped fails the build — leaving packages external, listed.
    const { metafile } = await build({
      absWorkingDir: packed,
      entryPoints: files.filter((file) => file.endsWith('.js')),
      bundle: true,
      packages: 'external',
      platform: 'node',
      format: 'esm',
      write: false,
      outdir: 'esbuild-out',
      metafile: true,
      logLevel: 'silent',
    });
    const builtins = new Set(builtinModules);
    const imported = new Set(
      Object.values(metafile.inputs)
        .flatMap((input) => input.imports)
        .filter((entry) => entry.external === true && !entry.path.startsWith('node:') && !builtins.has(entry.path))
        .map((entry) => packageName(entry.path)),
    );
    const dependencies = Object.keys(manifest.dependencies ?? {});
    const peers = Object.keys(manifest.peerDependencies ?? {});
    expect(dependencies.filter((name) => name in (manifest.devDependencies ?? {}))).toEqual([]);
    expect(dependencies.filter((name) => !imported.has(name))).toEqual([]);
    expect([...imported].filter((name) => !dependencies.includes(name) && !peers.includes(name))).toEqual([]);
    expect(imported.size).toBeGreaterThan(0);
  });
});

describe('a fresh app that installs the tarball and pastes the README', () => {
  let app: string;

  /** The repository's TypeScript, run in the app on `config` (an object written as tsconfig.<name>.json). */
  async function typecheck(name: string, config: object): Promise<Result> {
    fs.writeFileSync(path.join(app, `tsconfig.${name}.json`), JSON.stringify(config, null, 2));
    return run(process.execPath, [path.join(app, 'node_modules/typescript/bin/tsc'), '-p', `tsconfig.${name}.json`, '--pretty', 'false'], { cwd: app });
  }

  beforeAll(async () => {
    const snippets = readmeSnippets(fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8'));
    app = path.join(temp, 'my-app');
    fs.mkdirSync(app);
    fs.writeFileSync(path.join(app, 'package.json'), `${JSON.stringify({ name: 'my-app', private: true, type: 'module' }, null, 2)}\n`);
    // `npm install <tarball>`, as a user would, through npm's cache first: on a CI machine
    // where `npm ci` just ran in the repository, the cache holds msgpackr and zod at the
    // very versions the package pins (and their registry metadata, as this lockfile has
    // no "resolved" URLs), so this needs no network there; anywhere else npm fetches
    // what the cache lacks. The real install — not a link to the repository's copies —
    // is what shows the tarball's dependencies are complete and resolvable.
    succeeded(
      await run('npm', ['install', tarball, '--prefer-offline', '--no-audit', '--no-fund'], { cwd: app, timeoutMs: 120_000 }),
      `npm install ${path.basename(tarball)}`,
    );
    // Electron is an optional peer: installing the package must not pull it (or its binary) in.
    expect(fs.existsSync(path.join(app, 'node_modules/electron'))).toBe(false);
    // So is @playwright/test, for electron-datasocket/testing.
    expect(fs.existsSync(path.join(app, 'node_modules/@playwright/test'))).toBe(false);
    // What the app would have as devDependencies, linked from the repository's node_modules
    // rather than downloaded again (electron only for its .d.ts and version).
    for (const tool of ['typescript', 'electron', 'electron-vite', 'vite', 'esbuild', '@types/node', '@playwright/test']) {
      fs.mkdirSync(path.dirname(path.join(app, 'node_modules', tool)), { recursive: true });
      fs.symlinkSync(path.join(ROOT, 'node_modules', tool), path.join(app, 'node_modules', tool), 'dir');
    }
    for (const [file, code] of snippets) {
      fs.mkdirSync(path.dirname(path.join(app, file)), { recursive: true });
      fs.writeFileSync(path.join(app, file), code);
    }
    // Not from the README: the page electron-vite builds, and a page script that uses
    // window.Net with no import at all — typed by env.d.ts's reference alone.
    fs.writeFileSync(
      path.join(app, 'src/renderer/index.html'),
      '<!doctype html>\n<html>\n  <head><meta charset="UTF-8" /><title>my-app</title></head>\n  <body><script type="module" src="./app.ts"></script></body>\n</html>\n',
    );
    fs.writeFileSync(
      path.join(app, 'src/renderer/probe.ts'),
      [
        "const probeSocket = window.Net.DataSocket.connect('my-app');",
        "probeSocket.on('data', (value: unknown) => console.log(value));",
        '// @ts-expect-error connect() takes a name, not a number: window.Net is typed, not any',
        'window.Net.DataSocket.connect(42);',
        '',
      ].join('\n'),
    );
  }, 180_000);

  it.each([
    ['bundler', { module: 'ESNext', moduleResolution: 'Bundler' }],
    ['nodenext', { module: 'NodeNext', moduleResolution: 'NodeNext' }],
  ] as const)('type-checks the snippets, strict, with moduleResolution %s', async (mode, resolution) => {
    const base = { strict: true, noEmit: true, target: 'ES2022', isolatedModules: true, skipLibCheck: true, ...resolution };
    const node = { ...base, lib: ['ES2022'], types: ['node'], allowJs: true, checkJs: true };
    const page = { ...base, lib: ['ES2022', 'DOM', 'DOM.Iterable'], types: [] };
    const [nodeSide, pageSide, globalPage, bareProbe, declarations] = await Promise.all([
      // Node and Electron's main and preload: the electron types come from node_modules/electron.
      typecheck(`${mode}-node`, {
        compilerOptions: node,
        files: [
          'listener.mjs',
          'client.mjs',
          'instance.mjs',
          'requests.mjs',
          'typed.ts',
          'electron.vite.config.ts',
          'src/main/index.ts',
          'src/preload/index.ts',
          // The Playwright example: electron-datasocket/testing against the real @playwright/test types.
          'e2e/notes.spec.ts',
          'playwright.config.ts',
        ],
      }),
      typecheck(`${mode}-page`, { compilerOptions: page, files: ['src/renderer/app.ts'] }),
      // Without app.ts, whose import would bring the Window typings along by itself.
      typecheck(`${mode}-global`, { compilerOptions: page, files: ['src/renderer/env.d.ts', 'src/renderer/probe.ts'] }),
      typecheck(`${mode}-bare`, { compilerOptions: page, files: ['src/renderer/probe.ts'] }),
      // The package's own .d.ts, library checking on (skipLibCheck is what would hide a
      // .d.ts naming a type stripInternal removed, or importing a file not shipped); errors
      // in other packages' .d.ts (Electron's, Node's, zod's) are theirs and do not count.
      typecheck(`${mode}-declarations`, {
        compilerOptions: { ...base, skipLibCheck: false, lib: ['ES2022', 'DOM', 'DOM.Iterable'], types: ['node'] },
        files: files.filter((file) => file.endsWith('.d.ts')).map((file) => `node_modules/electron-datasocket/${file}`),
      }),
    ]);
    expect(nodeSide.stdout + nodeSide.stderr).toBe('');
    expect(nodeSide.code).toBe(0);
    expect(pageSide.stdout + pageSide.stderr).toBe('');
    expect(pageSide.code).toBe(0);
    expect(globalPage.stdout + globalPage.stderr).toBe('');
    expect(globalPage.code).toBe(0);
    // The control: without env.d.ts the same page script does not know window.Net.
    const bareErrors = bareProbe.stdout.split('\n').filter((line) => line.includes('error TS'));
    expect(bareErrors.length).toBeGreaterThan(0);
    expect(bareErrors.filter((line) => !/^src\/renderer\/probe\.ts\(\d+,\d+\): error TS2339: Property 'Net' does not exist/.test(line))).toEqual([]);
    const theirs = /^[^(]*node_modules\/(?!electron-datasocket\/)/;
    expect(declarations.stdout.split('\n').filter((line) => line.includes('error TS') && !theirs.test(line))).toEqual([]);
  }, 120_000);

  it("builds with the README's electron-vite config: the preload is one CommonJS file that requires only electron", async () => {
    const tool = path.join(app, 'node_modules/electron-vite');
    const { bin } = JSON.parse(fs.readFileSync(path.join(tool, 'package.json'), 'utf8')) as { bin: Record<string, string> };
    const built = await run(process.execPath, [path.join(tool, bin['electron-vite']!), 'build'], { cwd: app, timeoutMs: 120_000 });
    succeeded(built, 'electron-vite build');
    expect(filesUnder(path.join(app, 'out/preload'))).toEqual(['index.js']);
    const preload = fs.readFileSync(path.join(app, 'out/preload/index.js'), 'utf8');
    // Compiled as Node compiles a CommonJS module: an import or export statement, or
    // import.meta, is a SyntaxError here.
    expect(() => vm.compileFunction(preload, ['exports', 'require', 'module', '__filename', '__dirname'])).not.toThrow();
    expect(preload.match(/(?<![\w$.])import\s*\(/g)).toBeNull();
    const required = [...preload.matchAll(/(?<![\w$.])require\s*\(([^)]*)\)/g)].map((match) => match[1]!.trim());
    expect(new Set(required)).toEqual(new Set(['"electron"']));
    // The page's DataSocket is inside, and the channel to main.
    expect(preload).toContain('installMainWorld');
    expect(preload).toContain('electron-datasocket:port');
  }, 120_000);

  it('the built preload, run as a sandbox runs it, installs window.Net.DataSocket and hands main one port', () => {
    const preload = fs.readFileSync(path.join(app, 'out/preload/index.js'), 'utf8');
    // The web platform both worlds have; each world is its own realm.
    const web = {
      ...{ TextEncoder, TextDecoder, setTimeout, clearTimeout, setInterval, clearInterval, queueMicrotask, structuredClone, console },
      ...{ performance, crypto, atob, btoa, URL, EventTarget, Event, DOMException, AbortController, AbortSignal },
      ...{ MessageChannel, MessagePort, MessageEvent },
    };
    const page = vm.createContext({ ...web });
    const isolated = vm.createContext({ ...web, process: { platform: process.platform } });
    const required: string[] = [];
    const posted: { channel: string; ports: number }[] = [];
    const electron = {
      contextBridge: {
        // As Electron does: the function is compiled from its source text in the page's
        // world, so nothing of the preload's bundle comes along.
        executeInMainWorld({ func, args }: { func: (...args: unknown[]) => unknown; args: unknown[] }): unknown {
          return (vm.runInContext(`(${func.toString()})`, page) as (...args: unknown[]) => unknown)(...args);
        },
      },
      ipcRenderer: {
        postMessage(channel: string, _message: unknown, ports: PortToMain[] = []): void {
          posted.push({ channel, ports: ports.length });
          for (const port of ports) port.close();
        },
      },
    };
    const load = vm.compileFunction(preload, ['exports', 'require', 'module', '__filename', '__dirname'], {
      parsingContext: isolated,
    }) as (...args: unknown[]) => void;
    const module = { exports: {} };
    const sandboxRequire = (id: string): unknown => {
      required.push(id);
      if (id === 'electron') return electron;
      throw new Error(`a sandboxed preload cannot require('${id}')`);
    };
    load(module.exports, sandboxRequire, module, '/app/out/preload/index.js', '/app/out/preload');
    expect(required).toEqual(['electron']);
    expect(posted).toEqual([{ channel: 'electron-datasocket:port', ports: 1 }]);
    const api: unknown = vm.runInContext('[typeof Net.DataSocket, typeof Net.DataSocket.connect, typeof Net.DataSocket.listen]', page);
    expect(api).toEqual(['function', 'function', 'function']);
  });

  it("the built main, run in Node with a stand-in electron, opens a sandboxed window on the built preload and page; its policy allows the app's own pages", async () => {
    // Node runs out/main/index.js as Electron's main would (an ES module: __dirname would
    // throw there), with 'electron' and the bridge replaced by recorders.
    const hooks = `
      const fakes = {
        electron: \`
          export const app = { whenReady: () => Promise.resolve() };
          export class BrowserWindow {
            constructor(options) { globalThis.report.webPreferences = options.webPreferences; }
            loadFile(file) { globalThis.report.loaded = file; return Promise.resolve(); }
            loadURL(url) { globalThis.report.loaded = url; return Promise.resolve(); }
          }\`,
        'electron-datasocket/main': 'export function installDataSocketBridge(options) { globalThis.report.bridge = options; }',
      };
      export async function resolve(specifier, context, next) {
        return specifier in fakes ? { url: 'fake:' + specifier, shortCircuit: true } : next(specifier, context);
      }
      export async function load(url, context, next) {
        return url.startsWith('fake:') ? { format: 'module', source: fakes[url.slice(5)], shortCircuit: true } : next(url, context);
      }`;
    fs.writeFileSync(
      path.join(app, 'run-main.mjs'),
      [
        "import { register } from 'node:module';",
        "import { pathToFileURL } from 'node:url';",
        `register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hooks)}));`,
        'const report = (globalThis.report = {});',
        "await import('./out/main/index.js');",
        'await new Promise((resolve) => setTimeout(resolve, 100));',
        'const { policy } = report.bridge;',
        "const local = { action: 'connect', transport: 'local', name: 'my-app', path: '/run/my-app.sock', webContents: null, frame: null };",
        'const page = pathToFileURL(report.loaded).href;',
        'const verdicts = {',
        '  ownPage: await policy({ ...local, url: page }),',
        "  elsewhere: await policy({ ...local, url: 'https://elsewhere.example/' }),",
        "  syncServer: await policy({ ...local, transport: 'tcp', name: 'sync.example.com', port: 7000, url: page }),",
        "  otherServer: await policy({ ...local, transport: 'tcp', name: 'other.example.com', port: 7000, url: page }),",
        '};',
        "process.env['ELECTRON_RENDERER_URL'] = 'http://localhost:5173';",
        "verdicts.devServer = await policy({ ...local, url: 'http://localhost:5173/' });",
        'console.log(JSON.stringify({ webPreferences: report.webPreferences, loaded: report.loaded, verdicts }));',
        '',
      ].join('\n'),
    );
    const result = succeeded(await run(process.execPath, ['run-main.mjs'], { cwd: app }), 'node run-main.mjs');
    const { webPreferences, loaded, verdicts } = JSON.parse(result.stdout) as { webPreferences: Record<string, unknown>; loaded: string; verdicts: Record<string, boolean> };
    expect(webPreferences).toEqual({ preload: path.join(app, 'out/preload/index.js'), contextIsolation: true, sandbox: true, nodeIntegration: false });
    expect(fs.existsSync(webPreferences['preload'] as string)).toBe(true);
    expect(loaded).toBe(path.join(app, 'out/renderer/index.html'));
    expect(fs.existsSync(loaded)).toBe(true);
    expect(verdicts).toEqual({ ownPage: true, elsewhere: false, syncServer: true, otherServer: false, devServer: true });
  }, 60_000);

  it('runs the Node example as two processes: listener.mjs, then client.mjs gets its value echoed', async () => {
    // Their own runtime directory: the socket name 'my-app' cannot meet anything else's.
    const runtime = fs.mkdtempSync(path.join(temp, 'xdg-'));
    const env = { ...ENV, XDG_RUNTIME_DIR: runtime };
    const listener: ChildProcess = spawn(process.execPath, ['listener.mjs'], { cwd: app, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    listener.stdout!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    listener.stderr!.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
    const exited = new Promise<void>((resolve) => listener.on('close', () => resolve()));
    try {
      const at = await new Promise<string>((resolve, reject) => {
        const printed = (): string => `stdout: ${JSON.stringify(out)}; stderr: ${JSON.stringify(err)}`;
        const timer = setTimeout(() => reject(new Error(`no 'listening at' from listener.mjs within 10 s; ${printed()}`)), 10_000);
        const check = (): void => {
          const match = /listening at (\S+)/.exec(out);
          if (match) {
            clearTimeout(timer);
            resolve(match[1]!);
          }
        };
        listener.stdout!.on('data', check);
        void exited.then(() => {
          clearTimeout(timer);
          reject(new Error(`listener.mjs exited; ${printed()}`));
        });
      });
      expect(at).toBe(path.join(runtime, 'datasocket', 'my-app.sock'));

      const client = await run(process.execPath, ['client.mjs'], { cwd: app, env, timeoutMs: 15_000 });
      expect(client.stderr).toBe('');
      expect(client.code).toBe(0);
      expect(client.stdout).toContain('echo');
      expect(client.stdout).toContain("hello: 'world'");
      expect(err).toBe('');
    } finally {
      listener.kill('SIGTERM');
      await exited;
    }
  }, 60_000);

  it('runs the requests example: a reply, a timeout and an abort, each as its comment says; then it exits by itself', async () => {
    const runtime = fs.mkdtempSync(path.join(temp, 'xdg-'));
    const result = await run(process.execPath, ['requests.mjs'], { cwd: app, env: { ...ENV, XDG_RUNTIME_DIR: runtime }, timeoutMs: 15_000 });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('sum: 6\nERR_DATASOCKET_TIMEOUT\nthe user cancelled\n');
  }, 60_000);

  it('runs the instances example as two processes: the second hands its command line to the first and gets an answer', async () => {
    const runtime = fs.mkdtempSync(path.join(temp, 'xdg-'));
    const env = { ...ENV, XDG_RUNTIME_DIR: runtime };
    const first: ChildProcess = spawn(process.execPath, ['instance.mjs'], { cwd: app, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    first.stdout!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    first.stderr!.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
    const exited = new Promise<void>((resolve) => first.on('close', () => resolve()));
    const waitFor = (pattern: RegExp, what: string): Promise<void> =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${what} from the first instance.mjs within 10 s; stdout: ${JSON.stringify(out)}; stderr: ${JSON.stringify(err)}`)), 10_000);
        const check = (): void => {
          if (!pattern.test(out)) return;
          clearTimeout(timer);
          resolve();
        };
        first.stdout!.on('data', check);
        check();
      });
    try {
      await waitFor(/role: leader/, "'role: leader'");
      const second = await run(process.execPath, ['instance.mjs', '--open', 'notes.txt'], { cwd: app, env, timeoutMs: 15_000 });
      expect(second.stderr).toBe('');
      expect(second.code).toBe(0);
      expect(second.stdout).toMatch(/role: follower/);
      expect(second.stdout).toMatch(/the leader answered \{ handled: true, by: \d+ \}/);
      await waitFor(/another instance started with/, 'the second instance\'s command line');
      expect(out).toContain("another instance started with [ '--open', 'notes.txt' ]");
      expect(err).toBe('');
    } finally {
      first.kill('SIGTERM');
      await exited;
    }
  }, 60_000);

  it('runs the installed datasocket command: npx datasocket --version prints the version', async () => {
    // --no: never fetch a package of that name from the registry if the local bin were missing.
    const result = succeeded(await run('npx', ['--no', '--', 'datasocket', '--version'], { cwd: app }), 'npx datasocket --version');
    expect(result.stdout.trim()).toBe(manifest.version);
    // …and it was the package's own bin that ran.
    const bin = typeof manifest.bin === 'string' ? manifest.bin : manifest.bin!['datasocket']!;
    expect(fs.realpathSync(path.join(app, 'node_modules/.bin/datasocket'))).toBe(fs.realpathSync(path.join(app, 'node_modules/electron-datasocket', bin)));
  }, 60_000);
});
