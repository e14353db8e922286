/**
 * electron-datasocket/testing (SPEC §13), for the test process (Node):
 * DataSocketProbe, a DataSocket peer with waits that say what did arrive, and `test`,
 * Playwright's test with per-test namespaces, isolated app instances and the socket
 * trace in the report. `@playwright/test` is an optional peer dependency, needed by
 * `test` alone.
 */
export {
  DataSocketProbe,
  type ProbeConnectOptions,
  type ProbeListenOptions,
  type ProbeOptions,
  type ProbeWaitError,
  type WaitOptions,
} from './data-socket-probe.js';
export {
  test,
  type DataSocketFixtures,
  type DataSocketInstance,
  type DataSocketTest,
  type ElectronLaunchOptions,
  type LaunchInstanceOptions,
} from './playwright-fixtures.js';
export type { ShutdownReport } from './instances.js';
export type { ProcessInfo } from './process-tree.js';
