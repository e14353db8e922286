// Builds the package into dist/:
//  - the Node and main-process entries, and every .d.ts, with tsc;
//  - dist/preload.js with esbuild: the preload adapter plus the page's DataSocket
//    (client, codec, msgpackr) bundled into ONE self-contained function, which the
//    preload hands to contextBridge.executeInMainWorld (it is serialized, so it may
//    not reach anything outside itself).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'dist');
const MAIN_WORLD_MODULE = 'electron-datasocket:main-world';

fs.rmSync(dist, { recursive: true, force: true });
execFileSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', path.join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
// tsc's JS for the preload cannot run (its main-world import exists only at bundle time); dist/preload.js replaces it.
fs.rmSync(path.join(dist, 'preload/expose.js'), { force: true });
fs.rmSync(path.join(dist, 'preload/expose.js.map'), { force: true });

/** The page's DataSocket as the body of one function. */
async function mainWorldSource() {
  const result = await build({
    entryPoints: [path.join(root, 'src/renderer/main-world.ts')],
    bundle: true,
    format: 'iife',
    globalName: '__datasocketMainWorld',
    platform: 'browser',
    target: 'es2022',
    write: false,
    legalComments: 'none',
    // msgpackr's default build compiles record readers with new Function; a page's
    // Content-Security-Policy usually forbids that, so the page gets the build that never tries.
    alias: { msgpackr: 'msgpackr/index-no-eval' },
    logLevel: 'warning',
  });
  return result.outputFiles[0].text;
}

const mainWorld = await mainWorldSource();
await build({
  entryPoints: [path.join(root, 'src/preload/expose.ts')],
  bundle: true,
  format: 'esm',
  platform: 'neutral',
  target: 'es2022',
  outfile: path.join(dist, 'preload.js'),
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
          contents: `export function installMainWorld(key, bridge, platform) {\n${mainWorld}\n__datasocketMainWorld.install(key, bridge, platform);\n}\n`,
        }));
      },
    },
  ],
});

const cli = path.join(dist, 'main/cli.js');
if (fs.existsSync(cli)) fs.chmodSync(cli, 0o755);
console.log('built dist/');
