/**
 * `test` of electron-datasocket/testing (SPEC §13): Playwright's `test` with fixtures
 * that keep each test's sockets, app instances and trace to itself.
 *
 * `@playwright/test` is an optional peer dependency, loaded when this module is
 * (optional-peer.ts says how it finds the user's own copy and why not later); without
 * it every use of `test` throws a DataSocketError coded MODULE_NOT_FOUND that names it.
 * The imports from '@playwright/test' below are only types.
 */
import fs from 'node:fs';
import path from 'node:path';
import type {
  ElectronApplication,
  PlaywrightTestArgs,
  PlaywrightTestOptions,
  PlaywrightWorkerArgs,
  PlaywrightWorkerOptions,
  TestInfo,
  TestType,
} from '@playwright/test';
import { socketDirectory } from '../main/socket/endpoint.js';
import { closeTraceWriter } from '../main/trace/trace-writer.js';
import { unclosedProbes, type DataSocketProbe } from './data-socket-probe.js';
import { newNamespace, NAMESPACE_ENV, setEnv, TRACE_ENV } from './instance-env.js';
import { InstanceSet, survivorError, type ShutdownReport } from './instances.js';
import { loadOptionalPeer, unavailable } from './optional-peer.js';
import { outputAttachments, traceAttachments, type Attachment } from './trace-attachments.js';

type PlaywrightTest = typeof import('@playwright/test');

/** Playwright's options of `_electron.launch`. */
export type ElectronLaunchOptions = NonNullable<Parameters<PlaywrightTest['_electron']['launch']>[0]>;

/** The options of `launchInstance`: Playwright's `_electron.launch` options, and a label. */
export type LaunchInstanceOptions = ElectronLaunchOptions & {
  /** A name for the report's attachments and the userData directory (default `instance-<n>`). */
  label?: string;
};

/** One Electron app instance launched by `launchInstance`. */
export interface DataSocketInstance {
  /** Playwright's handle on the app: windows, `evaluate` in main, … */
  readonly app: ElectronApplication;
  /** Its label, unique in the test (a repeated one gets `-2`, `-3`, …). */
  readonly label: string;
  /** Its own userData directory (`app.getPath('userData')` in the app). */
  readonly userDataDir: string;
  /** The pid of the process Playwright started. */
  readonly pid: number | undefined;
  /** What the app wrote to stdout and stderr since launch (the last MiB of each). */
  output(): { stdout: string; stderr: string };
  /**
   * Closes the app (app.close(), 5 s at most), then kills what is left of its process
   * tree (see `launchInstance` for what can be found). An app killed because its close
   * did not finish in time loses what it had not written: its last trace batch too.
   */
  close(): Promise<ShutdownReport>;
  /** Kills the app's process tree at once, as a crash would end it (its last trace batch unwritten, as in a crash). */
  kill(): Promise<ShutdownReport>;
}

/** The fixtures `test` adds to Playwright's. */
export interface DataSocketFixtures {
  /**
   * This test's namespace, e.g. `pw3_9f2c01ab` (automatic: every test has one). While the
   * test runs, DATASOCKET_NAMESPACE and DATASOCKET_TRACE are set in the worker process,
   * so the test's own sockets and probes, and processes it starts, resolve bare names in
   * it and trace to `datasocketTraceDir`; both are put back after the test. Hooks and
   * fixtures of worker scope run outside it.
   */
  datasocketNamespace: string;
  /**
   * This test's trace directory, `<test output dir>/datasocket-trace`, made by the first
   * process that traces a socket (so it may not exist).
   */
  datasocketTraceDir: string;
  /**
   * Launches an Electron app instance with `_electron.launch(options)`, plus: its own
   * userData directory (`--user-data-dir`), DATASOCKET_NAMESPACE and DATASOCKET_TRACE
   * in its environment (on top of this process's, without ELECTRON_RUN_AS_NODE;
   * `options.env` wins). After the test — passed, failed or timed out — every instance
   * still running is closed (5 s at most, then SIGKILL: the app then loses its last
   * unwritten trace batch), and what is left of its process tree is killed: every
   * descendant while the app still runs; once the app has ended (the test closed it,
   * or it quit or crashed), what is left in its process group (POSIX; Playwright
   * starts Electron as a group leader) — a helper that left the group, and on Windows
   * anything, is out of reach then. A process found that survives SIGKILL fails the
   * test. When the test failed, each instance's stdout and stderr are attached.
   */
  launchInstance: (options?: LaunchInstanceOptions) => Promise<DataSocketInstance>;
}

/** The type of `test`: Playwright's test with the DataSocket fixtures. */
export type DataSocketTest = TestType<PlaywrightTestArgs & PlaywrightTestOptions & DataSocketFixtures, PlaywrightWorkerArgs & PlaywrightWorkerOptions>;

/** How long the kit waits for a test's unclosed probes to close after it. */
const PROBE_CLOSE_MS = 5_000;

/** How long the end of `launchInstance` may take after the test, on its own clock (closing several apps). */
const INSTANCES_TEARDOWN_MS = 60_000;

/**
 * Playwright's `test` with `datasocketNamespace`, `datasocketTraceDir` and
 * `launchInstance` (DataSocketFixtures); when the test fails, the merged socket trace
 * of all its processes is attached to the report (`datasocket-trace`,
 * `datasocket-trace.jsonl`). Extend it further with `test.extend` as usual.
 */
export const test: DataSocketTest = ((): DataSocketTest => {
  const playwright = loadOptionalPeer<PlaywrightTest>('@playwright/test');
  if (!('module' in playwright)) return unavailable<DataSocketTest>(playwright.error);
  try {
    return withFixtures(playwright.module);
  } catch (error) {
    // A Playwright too old for these fixtures: DataSocketProbe must still import.
    return unavailable<DataSocketTest>(error);
  }
})();

function withFixtures(playwright: PlaywrightTest): DataSocketTest {
  return playwright.test.extend<DataSocketFixtures>({
    // Playwright reads what a fixture needs from its first parameter's pattern: `{}` is none.
    // Not made here: the first process that traces makes it, so a test without sockets leaves no directory behind.
    datasocketTraceDir: async ({}, use, testInfo) => {
      await use(path.join(testInfo.outputDir, 'datasocket-trace'));
    },

    datasocketNamespace: [
      async ({ datasocketTraceDir }, use, testInfo) => {
        const namespace = newNamespace(testInfo.workerIndex);
        const restore = setEnv({ [NAMESPACE_ENV]: namespace, [TRACE_ENV]: datasocketTraceDir });
        const earlier = new Set(unclosedProbes());
        try {
          await use(namespace);
        } finally {
          restore();
        }
        // The probes this test made and left open: closed now, so none outlives its test in the worker.
        await closeProbes([...unclosedProbes()].filter((probe) => !earlier.has(probe)));
        // After launchInstance's end (it depends on this fixture): every app has ended and written its
        // trace — except an app SIGKILLed after its close timed out (or by kill()), whose last batch died with it.
        if (failed(testInfo)) await attachAll(testInfo, await traceAttachments(datasocketTraceDir));
        // A worker runs many tests: it keeps no file open per test, and no namespace directory behind.
        await closeTraceWriter(datasocketTraceDir);
        removeNamespaceDirectory(path.join(socketDirectory(), namespace));
      },
      { auto: true },
    ],

    launchInstance: [
      async ({ datasocketNamespace, datasocketTraceDir }, use, testInfo) => {
        const instances = new InstanceSet<LaunchInstanceOptions, ElectronApplication>((options) => playwright._electron.launch(options), {
          namespace: datasocketNamespace,
          traceDir: datasocketTraceDir,
          userDataDirFor: (label) => testInfo.outputPath(`user-data-${label}`),
        });
        await use((options) => instances.launch(options));
        const reports = await instances.closeAll();
        if (failed(testInfo)) await attachAll(testInfo, outputAttachments(instances.instances));
        const error = survivorError(reports);
        if (error !== undefined) throw error;
      },
      // Its own time after the test, also after the test's own ran out.
      { timeout: INSTANCES_TEARDOWN_MS },
    ],
  });
}

/** Closes `probes`, waiting PROBE_CLOSE_MS at most: a peer that never ends its side must not hold the worker. */
async function closeProbes(probes: readonly DataSocketProbe<unknown>[]): Promise<void> {
  if (probes.length === 0) return;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const bound = new Promise<void>((resolve) => (timer = setTimeout(resolve, PROBE_CLOSE_MS)));
  await Promise.race([Promise.all(probes.map((probe) => probe.close())), bound]);
  clearTimeout(timer);
}

function failed(testInfo: TestInfo): boolean {
  return testInfo.status !== testInfo.expectedStatus;
}

async function attachAll(testInfo: TestInfo, attachments: readonly Attachment[]): Promise<void> {
  for (const { name, body, contentType } of attachments) await testInfo.attach(name, { body, contentType });
}

/**
 * Removes the test's namespace directory with what is in it: the socket files an app
 * killed mid-test left behind, which would otherwise pile up in XDG_RUNTIME_DIR (a
 * tmpfs), one directory per such test. Safe: the namespace is this test's alone (32
 * random bits), and its instances are gone by now (launchInstance depends on this
 * fixture, so it has ended first). A process the test started itself and left running
 * loses its socket file — the test is over. Never throws: a leftover must not fail a test.
 */
function removeNamespaceDirectory(dir: string): void {
  try {
    fs.rmSync(dir, { recursive: true, force: true });
  } catch {
    // Not ours to remove (permissions): leave it.
  }
}
