// The preload bundle: src/preload/expose.ts with the page's DataSocket (client, codec,
// msgpackr) bundled into ONE self-contained function, `installMainWorld`, which the
// preload hands to contextBridge.executeInMainWorld. Electron compiles that function
// from its source text in the page's main world, so it may not reach anything outside
// itself — and an app's own bundler re-bundles this file, so the function must also
// survive that:
//  - the page code is lowered here to ES2015, so no class fields, private members,
//    static blocks, spreads or async functions are left for an app's bundler to lower
//    with helpers it would hoist out of the function (esbuild below es2022 adds
//    `__privateAdd`, `__publicField`…, which the main world does not have);
//  - the whole body runs inside try/catch and returns what went wrong as a string
//    (a helper a bundler still added, e.g. `__name` for keepNames), so the preload can
//    throw a clear DataSocketError instead of leaving the page without `window.Net`.
// Used by scripts/build.mjs (dist/preload.js) and by the tests that run the real preload.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MAIN_WORLD_MODULE = 'electron-datasocket:main-world';

/**
 * The page's DataSocket as the body of one function: run it, then
 * `__datasocketMainWorld.install(key, bridge, platform)`. Exported for the bench, which
 * runs exactly what pages run.
 */
export async function mainWorldSource({ target = 'es2015' } = {}) {
  const result = await build({
    entryPoints: [path.join(root, 'src/renderer/main-world.ts')],
    bundle: true,
    format: 'iife',
    globalName: '__datasocketMainWorld',
    platform: 'browser',
    target,
    write: false,
    legalComments: 'none',
    // msgpackr's default build compiles record readers with new Function; a page's
    // Content-Security-Policy usually forbids that, so the page gets the build that never tries.
    alias: { msgpackr: 'msgpackr/index-no-eval' },
    logLevel: 'warning',
  });
  return result.outputFiles[0].text;
}

/**
 * Bundles the preload adapter (ESM, 'electron' left external). With `outfile` it is
 * written there; the bundle's text is returned either way.
 */
export async function bundlePreload({ outfile } = {}) {
  const mainWorld = await mainWorldSource();
  const result = await build({
    entryPoints: [path.join(root, 'src/preload/expose.ts')],
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    ...(outfile === undefined ? { write: false, outfile: 'preload.js' } : { outfile }),
    external: ['electron'],
    legalComments: 'none',
    logLevel: 'warning',
    plugins: [
      {
        name: 'main-world',
        setup(b) {
          b.onResolve({ filter: new RegExp(`^${MAIN_WORLD_MODULE}$`) }, () => ({ path: MAIN_WORLD_MODULE, namespace: 'main-world' }));
          b.onLoad({ filter: /.*/, namespace: 'main-world' }, () => ({
            loader: 'js',
            contents:
              'export function installMainWorld(key, bridge, platform) {\n' +
              '  try {\n' +
              `${mainWorld}\n` +
              '    __datasocketMainWorld.install(key, bridge, platform);\n' +
              '    return null;\n' +
              '  } catch (error) {\n' +
              "    return String(error && typeof error === 'object' && 'message' in error ? error.message : error);\n" +
              '  }\n' +
              '}\n',
          }));
        },
      },
    ],
  });
  return outfile === undefined ? result.outputFiles[0].text : fs.readFileSync(outfile, 'utf8');
}
