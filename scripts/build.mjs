// Builds the package into dist/:
//  - the Node and main-process entries, and every .d.ts, with tsc;
//  - dist/preload.js: the preload adapter with the page's DataSocket bundled into one
//    self-contained function (scripts/preload-bundle.mjs says how and why).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundlePreload } from './preload-bundle.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'dist');

fs.rmSync(dist, { recursive: true, force: true });
execFileSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', path.join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
// tsc's JS for the preload cannot run (its main-world import exists only at bundle time); dist/preload.js replaces it.
fs.rmSync(path.join(dist, 'preload/expose.js'), { force: true });
fs.rmSync(path.join(dist, 'preload/expose.js.map'), { force: true });

await bundlePreload({ outfile: path.join(dist, 'preload.js') });

const cli = path.join(dist, 'main/cli/cli.js');
if (fs.existsSync(cli)) fs.chmodSync(cli, 0o755);
console.log('built dist/');
