// Runs the Node suites (vitest) again on Node 22, the Node inside Electron 45's main
// process, so that a break on either Node the package runs on shows in `npm test`.
// The binary comes from the npm registry (the `node-<platform>-<arch>` package ships it;
// no install script runs) into .cache/, once. On a machine whose Node is already 22
// there is nothing more to show, and it says so.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const NODE22_VERSION = '22.23.5';
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

if (process.versions.node.split('.')[0] === '22') {
  console.log(`node22: this machine's Node is ${process.version}: the suites above already ran on Node 22`);
  process.exit(0);
}

const platform = process.platform === 'win32' ? 'win' : process.platform;
const pkg = `node-${platform}-${process.arch}`;
const prefix = path.join(root, '.cache/node22');
const binary = path.join(prefix, 'node_modules', pkg, 'bin', process.platform === 'win32' ? 'node.exe' : 'node');

const versionOf = (file) => {
  try {
    return execFileSync(file, ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    return null;
  }
};

if (versionOf(binary) !== `v${NODE22_VERSION}`) {
  console.log(`node22: installing Node ${NODE22_VERSION} (${pkg}) into .cache/node22`);
  fs.mkdirSync(prefix, { recursive: true });
  execFileSync('npm', ['install', '--prefix', prefix, '--no-save', '--no-package-lock', '--no-audit', '--no-fund', `${pkg}@${NODE22_VERSION}`], { cwd: root, stdio: 'inherit' });
  if (versionOf(binary) !== `v${NODE22_VERSION}`) {
    console.error(`node22: ${binary} did not install or does not run`);
    process.exit(1);
  }
}

console.log(`node22: the Node suites again, on ${versionOf(binary)}`);
const result = spawnSync(binary, [path.join(root, 'node_modules/vitest/vitest.mjs'), 'run', ...process.argv.slice(2)], { cwd: root, stdio: 'inherit' });
process.exit(result.status ?? 1);
