/**
 * What makes each test and each app instance of the testing kit its own world
 * (SPEC §13), without Playwright: a namespace no other test uses, the environment
 * an instance starts with (namespace, trace directory), and its own userData.
 *
 * Why these: parallel Playwright workers that use fixed socket names meet each
 * other, and tests meet a copy of the app a person is running (bare names would
 * resolve to the same socket, the app's single-instance lock would be the same —
 * szTheory/exifcleaner#306). A namespace separates the sockets; a userData
 * directory of its own separates the lock, the settings and the caches.
 */
import { randomBytes } from 'node:crypto';
import { invalidArgument } from '../shared/errors.js';
import { describe } from '../shared/options.js';

/** The environment variable bare socket names resolve in (SPEC §13). */
export const NAMESPACE_ENV = 'DATASOCKET_NAMESPACE';
/** The environment variable naming the directory every process traces its sockets to (SPEC §13). */
export const TRACE_ENV = 'DATASOCKET_TRACE';

/**
 * A fresh namespace for one test, e.g. `pw3_9f2c01ab`: a valid bare name, and short,
 * because the socket path it becomes part of is limited to 103–107 bytes. 32 random
 * bits tell tests apart, also those of two test runs at once. No `-`: a Windows pipe
 * joins namespace and name with one (`datasocket-<namespace>-<name>`).
 */
export function newNamespace(workerIndex: number): string {
  if (!Number.isSafeInteger(workerIndex) || workerIndex < 0) throw invalidArgument(`workerIndex must be an integer >= 0, not ${describe(workerIndex)}`);
  return `pw${workerIndex}_${randomBytes(4).toString('hex')}`;
}

/**
 * Sets environment variables in this process (`undefined` removes one) and returns
 * the function that puts back what was there before. The kit sets the namespace and
 * trace directory for the length of one test: a Playwright worker runs one test at a
 * time, so sockets and child processes the test itself makes share them.
 */
export function setEnv(vars: Readonly<Record<string, string | undefined>>, env: NodeJS.ProcessEnv = process.env): () => void {
  const saved = Object.keys(vars).map((key) => [key, Object.prototype.hasOwnProperty.call(env, key) ? env[key] : undefined] as const);
  for (const [key, value] of Object.entries(vars)) put(env, key, value);
  return () => {
    for (const [key, value] of saved) put(env, key, value);
  };
}

function put(env: NodeJS.ProcessEnv, key: string, value: string | undefined): void {
  if (value === undefined) delete env[key];
  else env[key] = value;
}

/** What an instance is started with besides the launch options it was given. */
export interface InstanceContext {
  /** The test's namespace (DATASOCKET_NAMESPACE in the instance). */
  namespace: string;
  /** The test's trace directory (DATASOCKET_TRACE in the instance). */
  traceDir: string;
  /** The instance's own userData directory. */
  userDataDir: string;
}

/**
 * The environment an instance starts with: `base` (the test process's), minus
 * ELECTRON_RUN_AS_NODE — left over from a parent that ran Electron as Node, it would
 * start this one as Node too, without windows — plus the namespace and trace
 * directory, then `given` (the launch option `env`) on top: what a test sets on
 * purpose wins, and `undefined` there removes a variable.
 */
export function instanceEnv(
  context: Pick<InstanceContext, 'namespace' | 'traceDir'>,
  given: Readonly<Record<string, string | undefined>> = {},
  base: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(base)) if (value !== undefined && key !== 'ELECTRON_RUN_AS_NODE') env[key] = value;
  env[NAMESPACE_ENV] = context.namespace;
  env[TRACE_ENV] = context.traceDir;
  for (const [key, value] of Object.entries(given)) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return env;
}

/** The Chromium switch Electron takes its userData directory from. */
const USER_DATA_SWITCH = '--user-data-dir';

/**
 * The command-line arguments an instance starts with: `args` plus
 * `--user-data-dir=<dir>`, unless `args` already has that switch (then the test chose
 * its own directory, which `userDataDirIn` reports).
 *
 * Electron itself honours the switch for `app.getPath('userData')`, nothing in the app
 * needs to read it: ElectronMainDelegate::PreSandboxStartup
 * (electron/electron shell/app/electron_main_delegate.cc) reads
 * `::switches::kUserDataDir` (chrome/common/chrome_switches.cc: "user-data-dir") and
 * calls `base::PathService::OverrideAndCreateIfNeeded(chrome::DIR_USER_DATA, …)`, and
 * `app.getPath('userData')` is that same DIR_USER_DATA (GetPathConstant in
 * shell/browser/api/electron_api_app.cc). An app that calls
 * `app.setPath('userData', …)` itself replaces it, as it would any default.
 *
 * It goes at the end, where `electron <app> --switch` puts switches — but before a
 * `--`, after which Chromium reads no switches.
 */
export function instanceArgs(args: readonly string[] | undefined, userDataDir: string): string[] {
  const list = [...(args ?? [])];
  if (userDataDirIn(list) !== undefined) return list;
  const end = list.indexOf('--');
  const position = end === -1 ? list.length : end;
  list.splice(position, 0, `${USER_DATA_SWITCH}=${userDataDir}`);
  return list;
}

/**
 * The userData directory `args` give with `--user-data-dir=<dir>`, if any (Chromium takes
 * a switch's value only after '=', and no switch after `--`).
 */
export function userDataDirIn(args: readonly string[]): string | undefined {
  for (const arg of args) {
    if (arg === '--') return undefined;
    if (arg.startsWith(`${USER_DATA_SWITCH}=`)) return arg.slice(USER_DATA_SWITCH.length + 1);
  }
  return undefined;
}

/**
 * A label as it may appear in a file name: `label`, or `instance-<n>` when there is
 * none; other characters than [A-Za-z0-9._-] become '-', and at most 40 are kept.
 */
export function instanceLabel(label: unknown, index: number): string {
  if (label === undefined) return `instance-${index}`;
  if (typeof label !== 'string' || label.length === 0) throw invalidArgument(`'label' must be a non-empty string, not ${describe(label)}`);
  return label.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 40);
}
