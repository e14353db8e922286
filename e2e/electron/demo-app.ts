/**
 * What the specs share: launching the built demo app (out/) under Playwright,
 * each instance with its own user data directory, and a small harness in the
 * page that drives `window.Net.DataSocket` directly and records every event,
 * for checks the demo's UI would make coarse.
 *
 * Functions given to `page.evaluate` run in the page, serialized: they may use
 * nothing from this module, only what they are passed and the page's globals.
 * Page values come back through Playwright's serializer (no Map or Set), so the
 * harness summarizes received values into plain data first.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { _electron, expect, test as base, type ElectronApplication, type Page } from '@playwright/test';
import type { DataSocketAddress, NetApi, PageDataSocket } from '../../src/renderer/index.js';
import { findElectronBinary, skipMessage } from './electron-binary.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const mainScript = path.join(root, 'out/main/index.js');

const binary = findElectronBinary();

/**
 * Why the specs cannot run here, or null. Every spec starts with
 * `test.skip(noElectron !== null, noElectron ?? '')`.
 */
export const noElectron: string | null = binary.found ? null : skipMessage(binary.reason);

/** One running instance of the demo app. */
export interface DemoApp {
  readonly app: ElectronApplication;
  readonly page: Page;
  /** The user data directory it was given. */
  readonly userData: string;
}

/** How an instance is told its user data directory; the demo accepts both. */
export type UserDataVia = 'switch' | 'env';

interface Fixtures {
  /** Launches an instance (closed after the test) and waits until its page has `window.Net`. */
  launchDemo: (label: string, options?: { userDataVia?: UserDataVia }) => Promise<DemoApp>;
  /** A socket name no other test uses. */
  socketName: string;
}

function environment(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) if (value !== undefined) env[key] = value;
  // A leftover ELECTRON_RUN_AS_NODE would start Electron as plain Node, without windows.
  delete env['ELECTRON_RUN_AS_NODE'];
  return { ...env, ...extra };
}

export const test = base.extend<Fixtures>({
  // Playwright reads which fixtures a fixture needs from its first parameter's pattern: none here.
  launchDemo: async ({}, use, testInfo) => {
    const apps: ElectronApplication[] = [];
    const logs: string[] = [];
    await use(async (label, options = {}) => {
      if (!fs.existsSync(mainScript)) {
        throw new Error(`${path.relative(root, mainScript)} is missing: run npm run test:electron, or npm run build && npx electron-vite build`);
      }
      const userData = testInfo.outputPath(`user-data-${label}`);
      const viaSwitch = (options.userDataVia ?? 'switch') === 'switch';
      const app = await _electron.launch({
        args: viaSwitch ? [mainScript, `--user-data-dir=${userData}`] : [mainScript],
        env: environment(viaSwitch ? {} : { DATASOCKET_DEMO_USER_DATA: userData }),
        cwd: root,
      });
      apps.push(app);
      app.process().stderr?.on('data', (chunk: Buffer) => logs.push(`[${label} main] ${chunk.toString().trimEnd()}`));
      const page = await app.firstWindow();
      page.on('console', (message) => logs.push(`[${label} page ${message.type()}] ${message.text()}`));
      page.on('pageerror', (error) => logs.push(`[${label} page error] ${error.stack ?? error.message}`));
      await waitForNet(page);
      return { app, page, userData };
    });
    if (testInfo.status !== testInfo.expectedStatus && logs.length > 0) {
      await testInfo.attach('electron-logs.txt', { body: logs.join('\n'), contentType: 'text/plain' });
    }
    await Promise.all(apps.map((app) => app.close().catch(() => undefined)));
  },
  socketName: async ({}, use, testInfo) => {
    await use(`e2e-${process.pid}-${testInfo.testId.slice(0, 8)}-${Date.now().toString(36)}`);
  },
});

export { expect };

/** Waits until the preload has installed `window.Net` (after launch and after each reload). */
export async function waitForNet(page: Page): Promise<void> {
  // Polling page.evaluate, not page.waitForFunction: that one evals its predicate inside the page, which this page's CSP (no 'unsafe-eval') makes fragile.
  await expect
    .poll(() => page.evaluate(() => typeof (globalThis as unknown as { Net?: NetApi }).Net?.DataSocket?.connect === 'function'))
    .toBe(true);
}

/** One event a harness socket saw. `value`: a `data` value, summarized; `code`: an `error`'s code. */
export interface Recorded {
  event: string;
  value?: unknown;
  code?: string;
}

/** The harness's page side, at `globalThis.e2e`. Sockets are named by keys the test chooses. */
export interface Harness {
  /** Listens; the acceptor answers `accept` and counts its calls. Accepted connections get keys `<key>/1`, `<key>/2`... */
  listen(key: string, name: string, port: number | null, accept: boolean): void;
  connect(key: string, name: string, port: number | null): void;
  send(key: string, value: unknown): boolean;
  /** Sends a value built in the page, with what Playwright cannot pass in (Map, Set, BigInt, RegExp, undefined...). */
  sendRich(key: string): boolean;
  /** Sends a patterned Uint8Array of `length` bytes built in the page; returns send()'s result and the bytes' checksum. */
  sendBytes(key: string, length: number): { sent: boolean; checksum: number };
  close(key: string): void;
  events(key: string): Recorded[];
  address(key: string): DataSocketAddress;
  state(key: string): string;
  acceptorCalls(key: string): number;
  /** Keys of the connections a listener accepted, in order. */
  accepted(key: string): string[];
}

/** The summary `sendRich` leads to on the receiving side (see `summarize` in the harness). */
export const RICH_SUMMARY = {
  object: [
    ['text', 'héllo ✓ 😀'],
    ['negative', -1.5],
    ['big', { bigint: '1180591620717411303424' }],
    ['when', { date: '2020-01-02T03:04:05.006Z' }],
    ['bytes', { Uint8Array: [0, 1, 255] }],
    ['map', { map: [['k', { set: [1, 'two'] }]] }],
    ['specials', { array: [null, { undefined: true }, { number: 'NaN' }, { number: '-Infinity' }] }],
    ['pattern', { regexp: '/a+b/gi' }],
  ],
};

/** Installs the harness in the page (again after a reload: a new document starts empty). */
export async function installHarness(page: Page): Promise<void> {
  await page.evaluate(() => {
    const g = globalThis as unknown as { Net: NetApi; e2e?: Harness };
    if (g.e2e !== undefined) return;
    const sockets = new Map<string, PageDataSocket>();
    const events = new Map<string, Recorded[]>();
    const acceptorCalls = new Map<string, number>();
    const accepted = new Map<string, string[]>();

    // Position-weighted, so a byte moved, lost or changed shows.
    const checksumOf = (bytes: Uint8Array): number => {
      let sum = 0;
      for (let i = 0; i < bytes.length; i++) sum = (sum * 31 + bytes[i]! + i) % 2147483647;
      return sum;
    };

    // Plain data Playwright can carry back, saying what each value was.
    const summarize = (value: unknown): unknown => {
      if (value === undefined) return { undefined: true };
      if (typeof value === 'number' && !Number.isFinite(value)) return { number: String(value) };
      if (typeof value === 'bigint') return { bigint: value.toString() };
      if (value === null || typeof value !== 'object') return value;
      if (value instanceof Date) return { date: value.toISOString() };
      if (value instanceof RegExp) return { regexp: String(value) };
      // Large byte values come back as their length and a checksum: Playwright need not carry megabytes.
      if (value instanceof Uint8Array && value.length > 4096) return { Uint8Array: { length: value.length, checksum: checksumOf(value) } };
      if (value instanceof Uint8Array) return { Uint8Array: [...value] };
      if (value instanceof ArrayBuffer) return { ArrayBuffer: [...new Uint8Array(value)] };
      if (value instanceof Map) return { map: [...value].map(([k, v]) => [summarize(k), summarize(v)]) };
      if (value instanceof Set) return { set: [...value].map(summarize) };
      if (Array.isArray(value)) return { array: value.map(summarize) };
      return { object: Object.entries(value).map(([k, v]) => [k, summarize(v)]) };
    };

    const track = (key: string, socket: PageDataSocket): void => {
      const list: Recorded[] = [];
      sockets.set(key, socket);
      events.set(key, list);
      socket
        .on('connect', () => list.push({ event: 'connect' }))
        .on('listening', () => list.push({ event: 'listening' }))
        .on('data', (value) => list.push({ event: 'data', value: summarize(value) }))
        .on('sent', () => list.push({ event: 'sent' }))
        .on('error', (error) => list.push({ event: 'error', code: error.code }))
        .on('clientError', (error) => list.push({ event: 'clientError', code: error.code }))
        .on('close', () => list.push({ event: 'close' }));
    };
    const get = (key: string): PageDataSocket => {
      const socket = sockets.get(key);
      if (socket === undefined) throw new Error(`e2e harness: no socket '${key}'`);
      return socket;
    };

    g.e2e = {
      listen(key, name, port, accept) {
        acceptorCalls.set(key, 0);
        accepted.set(key, []);
        const listener = g.Net.DataSocket.listen(
          (connection) => {
            // Every connection is recorded, refused ones too: a test can see that a refused one got nothing.
            const calls = (acceptorCalls.get(key) ?? 0) + 1;
            acceptorCalls.set(key, calls);
            track(`${key}/${calls}`, connection);
            if (accept) accepted.set(key, [...(accepted.get(key) ?? []), `${key}/${calls}`]);
            return accept;
          },
          name,
          port ?? undefined,
        );
        track(key, listener);
      },
      connect(key, name, port) {
        track(key, g.Net.DataSocket.connect(name, port ?? undefined));
      },
      send: (key, value) => get(key).send(value),
      sendRich: (key) =>
        get(key).send({
          text: 'héllo ✓ 😀',
          negative: -1.5,
          big: 2n ** 70n,
          when: new Date(Date.UTC(2020, 0, 2, 3, 4, 5, 6)),
          bytes: new Uint8Array([0, 1, 255]),
          map: new Map([['k', new Set<unknown>([1, 'two'])]]),
          specials: [null, undefined, NaN, -Infinity],
          pattern: /a+b/gi,
        }),
      sendBytes: (key, length) => {
        const bytes = new Uint8Array(length);
        for (let i = 0; i < length; i++) bytes[i] = (i * 7 + (i >> 8)) & 0xff;
        return { sent: get(key).send(bytes), checksum: checksumOf(bytes) };
      },
      close: (key) => get(key).close(),
      events: (key) => events.get(key) ?? [],
      address: (key) => ({ ...get(key).address }),
      state: (key) => get(key).state,
      acceptorCalls: (key) => acceptorCalls.get(key) ?? 0,
      accepted: (key) => accepted.get(key) ?? [],
    };
  });
}

/** Two instances, `a` and `b`, each with the harness installed; `inA`/`inB` drive them. */
export async function launchPairWithHarness(launchDemo: Fixtures['launchDemo']) {
  const a = await launchDemo('a');
  const b = await launchDemo('b');
  await installHarness(a.page);
  await installHarness(b.page);
  return { a, b, inA: harness(a.page), inB: harness(b.page) };
}

/** The harness's methods, called from the test: each is one page.evaluate. */
export function harness(page: Page) {
  return {
    listen: (key: string, name: string, port: number | null = null, accept = true) =>
      page.evaluate(({ k, n, p, a }) => (globalThis as unknown as { e2e: Harness }).e2e.listen(k, n, p, a), { k: key, n: name, p: port, a: accept }),
    connect: (key: string, name: string, port: number | null = null) =>
      page.evaluate(({ k, n, p }) => (globalThis as unknown as { e2e: Harness }).e2e.connect(k, n, p), { k: key, n: name, p: port }),
    send: (key: string, value: unknown) => page.evaluate(({ k, v }) => (globalThis as unknown as { e2e: Harness }).e2e.send(k, v), { k: key, v: value }),
    sendRich: (key: string) => page.evaluate((k) => (globalThis as unknown as { e2e: Harness }).e2e.sendRich(k), key),
    sendBytes: (key: string, length: number) => page.evaluate(({ k, n }) => (globalThis as unknown as { e2e: Harness }).e2e.sendBytes(k, n), { k: key, n: length }),
    close: (key: string) => page.evaluate((k) => (globalThis as unknown as { e2e: Harness }).e2e.close(k), key),
    events: (key: string) => page.evaluate((k) => (globalThis as unknown as { e2e: Harness }).e2e.events(k), key),
    address: (key: string) => page.evaluate((k) => (globalThis as unknown as { e2e: Harness }).e2e.address(k), key),
    state: (key: string) => page.evaluate((k) => (globalThis as unknown as { e2e: Harness }).e2e.state(k), key),
    acceptorCalls: (key: string) => page.evaluate((k) => (globalThis as unknown as { e2e: Harness }).e2e.acceptorCalls(k), key),
    accepted: (key: string) => page.evaluate((k) => (globalThis as unknown as { e2e: Harness }).e2e.accepted(k), key),
    /** The names of the events `key` saw, in order. */
    eventNames: (key: string) =>
      page.evaluate((k) => (globalThis as unknown as { e2e: Harness }).e2e.events(k).map((e) => e.event), key),
  };
}
