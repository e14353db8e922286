/**
 * Builds what the harness serves as the page's first script: the stand-in loader
 * (../stand-in/isolated-world.ts) with a preload inlined. The 'datasocket' preload is
 * a user's one-line preload over the REAL dist/preload.js, rebundled with only
 * 'electron' aliased to the stand-in; the 'lab' preload hands the stand-in itself to
 * the isolated realm, for the tests of the stand-in's own strictness. Which one runs
 * is the harness's start option, as the preload is the app's choice in Electron,
 * never the page's.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../../..');
const standIn = path.resolve(here, '../stand-in');

/** The preloads a harness can run in its pages' isolated realm (its `--preload` option). */
export type PreloadKind = 'datasocket' | 'lab';

const ENTRIES: Record<PreloadKind, string> = {
  // What an app's preload does: import from the package, call once.
  datasocket: `import { exposeDataSocket } from 'electron-datasocket/preload';\nexposeDataSocket();\n`,
  // Only in the isolated realm (never the page's): the stand-in, for the stand-in's own tests.
  lab: `import { contextBridge, ipcRenderer } from 'electron';\nObject.defineProperty(globalThis, '__lab', { value: Object.freeze({ contextBridge, ipcRenderer }) });\n`,
};

const electronStandIn: Plugin = {
  name: 'electron-stand-in',
  setup(b) {
    b.onResolve({ filter: /^electron$/ }, () => ({ path: path.join(standIn, 'electron.ts') }));
  },
};

async function bundle(options: { stdin?: string; entry?: string; define?: Record<string, string> }): Promise<string> {
  const result = await build({
    ...(options.stdin !== undefined
      ? { stdin: { contents: options.stdin, resolveDir: root, sourcefile: 'preload.js', loader: 'js' as const } }
      : { entryPoints: [options.entry!] }),
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'es2022',
    write: false,
    legalComments: 'none',
    define: options.define ?? {},
    plugins: [electronStandIn],
    logLevel: 'warning',
  });
  return result.outputFiles[0]!.text;
}

/** Whether `name` names a preload. */
export function isPreloadKind(name: string): name is PreloadKind {
  return Object.prototype.hasOwnProperty.call(ENTRIES, name);
}

/** The loader script for a preload kind. */
export async function buildLoader(kind: PreloadKind): Promise<string> {
  const preloadFile = path.join(root, 'dist/preload.js');
  if (!fs.existsSync(preloadFile)) throw new Error(`${preloadFile} is missing: run \`npm run build\` first`);
  const preload = await bundle({ stdin: ENTRIES[kind] });
  return bundle({ entry: path.join(standIn, 'isolated-world.ts'), define: { PRELOAD_SOURCE: JSON.stringify(preload) } });
}
