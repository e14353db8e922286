/**
 * `npm run fuzz [-- --inputs=<n> --seed=<n> --state=<file> --fresh]`: the long,
 * seeded and resumable fuzz campaign (test/helpers/fuzz-campaign.ts, run with
 * tsx). Not part of `npm test`, which runs a fast slice (test/main/socket/fuzz.test.ts).
 * Interrupt it at any time: run it again with the same --seed to resume.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'test/helpers/fuzz-campaign.ts'), ...process.argv.slice(2)], {
  cwd: root,
  stdio: 'inherit',
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
