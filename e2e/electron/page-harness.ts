/**
 * A small harness in the demo's page that drives `window.Net.DataSocket` directly and
 * records every event of every socket, for checks the demo's UI would make coarse.
 * Sockets are named by keys the test chooses; `harness(page)` calls it from the test.
 *
 * Functions given to `page.evaluate` run in the page, serialized: they may use
 * nothing from this module, only what they are passed and the page's globals.
 * Page values come back through Playwright's serializer (no Map or Set), so the
 * harness summarizes received values into plain data first.
 */
import { expect, type Page } from '@playwright/test';
import type { DataSocketAddress, NetApi, PageDataSocket } from '../../src/renderer/index.js';

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
