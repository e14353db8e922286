/**
 * Builds what the harness serves as the page's first script: the stand-in loader
 * (../stand-in/isolated-world.ts) with the isolated realm's script inlined. That
 * script is the stand-in's start (../stand-in/isolated-entry.ts, its own bundle) and
 * the app's preload, bundled the way an app's bundler bundles a sandboxed preload:
 * CommonJS, everything inlined except 'electron' and Node's built-ins, which are
 * left to the `require` Electron gives a sandboxed preload (the stand-in's knows
 * only what Electron's knows, and less). The preload's body becomes a function of
 * Electron's preload parameters, compiled outside the stand-in's scope.
 *
 * The 'datasocket' preload is a user's one-line preload over the REAL dist/preload.js;
 * the 'lab' preload (lab-preload.ts) hands the stand-in itself to the isolated realm,
 * for the tests of the stand-in; 'requires-fs' and 'reads-env' are the user's preload
 * plus a Node built-in import or a `process.env` read, which fail in a sandboxed
 * preload. Which one runs is the harness's start option, as the preload is the app's
 * choice in Electron, never the page's.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../../..');
const standIn = path.resolve(here, '../stand-in');

/** The preloads a harness can run in its pages' isolated realm (its `--preload` option). */
export type PreloadKind = 'datasocket' | 'lab' | 'requires-fs' | 'reads-env';

/** What an app's preload does: import from the package, call once. */
const DATASOCKET = `import { exposeDataSocket } from 'electron-datasocket/preload';\nexposeDataSocket();\n`;

const ENTRIES: Record<PreloadKind, { contents: string; target: string }> = {
  datasocket: { contents: DATASOCKET, target: 'es2022' },
  // Only in the isolated realm (never the page's): the stand-in, for the stand-in's own tests.
  lab: { contents: `import './e2e/chromium/harness/lab-preload.ts';\n`, target: 'es2020' },
  // A preload that imports a Node built-in: in a sandboxed preload `require('node:fs')` throws, so nothing is exposed.
  'requires-fs': { contents: `import { readFileSync } from 'node:fs';\nconsole.log(typeof readFileSync);\n${DATASOCKET}`, target: 'es2022' },
  // A preload that reads the environment: a sandboxed preload's process has none here (stricter than Electron).
  'reads-env': { contents: `if (process.env.DATASOCKET_DEBUG) console.log('debug');\n${DATASOCKET}`, target: 'es2022' },
};

/** The names Electron's sandboxed preload would `require` at run time, so a bundler leaves them out. */
const EXTERNAL = ['electron'];

/** The app's preload as one CommonJS file, bundled as an app's bundler would (electron-vite, esbuild, webpack with target electron-preload). */
export async function bundlePreload(kind: PreloadKind): Promise<string> {
  const { contents, target } = ENTRIES[kind];
  const result = await build({
    stdin: { contents, resolveDir: root, sourcefile: 'preload.ts', loader: 'ts' },
    bundle: true,
    format: 'cjs',
    // Node's built-ins stay `require(...)` calls, as an app's bundler leaves them for Electron's require.
    platform: 'node',
    target,
    external: EXTERNAL,
    write: false,
    legalComments: 'none',
    logLevel: 'warning',
  });
  return result.outputFiles[0]!.text;
}

/** The stand-in's start in the isolated realm (iife), or the loader with `define`s. */
async function bundleStandIn(entry: string, define: Record<string, string> = {}): Promise<string> {
  const result = await build({
    entryPoints: [path.join(standIn, entry)],
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'es2022',
    write: false,
    legalComments: 'none',
    define,
    logLevel: 'warning',
  });
  return result.outputFiles[0]!.text;
}

/**
 * The isolated realm's script: the preload's body as a function of Electron's preload
 * parameters (Electron's lib/sandboxed_renderer/preload.ts), defined at the script's top
 * level so it closes over nothing of the stand-in, and handed to the stand-in's start.
 */
function isolatedSource(standInStart: string, preload: string): string {
  return `(function (__electronStandInPreload) {\n${standInStart}\n})(function (require, process, exports, module, Buffer, global, setImmediate, clearImmediate) {\n${preload}\n});\n`;
}

/** Whether `name` names a preload. */
export function isPreloadKind(name: string): name is PreloadKind {
  return Object.prototype.hasOwnProperty.call(ENTRIES, name);
}

/** The loader script for a preload kind. */
export async function buildLoader(kind: PreloadKind): Promise<string> {
  const preloadFile = path.join(root, 'dist/preload.js');
  if (!fs.existsSync(preloadFile)) throw new Error(`${preloadFile} is missing: run \`npm run build\` first`);
  const [preload, standInStart] = await Promise.all([bundlePreload(kind), bundleStandIn('isolated-entry.ts')]);
  return bundleStandIn('isolated-world.ts', { ISOLATED_SOURCE: JSON.stringify(isolatedSource(standInStart, preload)) });
}
