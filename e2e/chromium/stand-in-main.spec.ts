/**
 * The stand-in's main process (harness/main-process.ts) gives a Host only to a port
 * that brings the token of a document it served, once per port number, from the
 * page's origin; it serves the page, and so tokens, to navigations only; and its
 * policy sees the URL it recorded for the token, never one the WebSocket names.
 * Tried from Node, as a page's own WebSocket or fetch() would try.
 */
import http from 'node:http';
import { expect } from '@playwright/test';
// The suite's `test` is the testing kit's: helpers/app-pages.ts registers hooks that use its fixtures.
import { test } from '../../src/testing/index.js';
import { WebSocket } from 'ws';
import type { HarnessEvent } from './harness/main-process.js';
import { AppInstance } from './helpers/app-instance.js';

test.describe("the stand-in's main process takes a port only with the token of a document it served, once per port number", () => {
  let app!: AppInstance;
  test.beforeAll(async () => {
    app = await AppInstance.start();
  });
  test.afterAll(async () => {
    await app?.stop();
  });

  /** GETs `url` from the harness, as a navigation does (the header a browser sets and no script can) or not. */
  function load(url: string, navigation: boolean): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const headers = navigation ? { 'sec-fetch-mode': 'navigate' } : {};
      http
        .get(url, { headers }, (response) => {
          let body = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => (body += chunk));
          response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
        })
        .on('error', reject);
    });
  }

  /** Opens a port WebSocket with `query`, sent from `origin`; an open one is left open for the test. */
  function openPort(query: string, origin: string): Promise<{ outcome: 'open' | 'refused'; socket: WebSocket }> {
    return new Promise((resolve) => {
      const socket = new WebSocket(`${app.portUrl()}?${query}`, { origin });
      socket.once('open', () => resolve({ outcome: 'open', socket }));
      // A refusal is a 403 to the upgrade; ending the attempt then also emits 'error', so listen with `on`, not `once`.
      socket.on('unexpected-response', () => {
        socket.terminate();
        resolve({ outcome: 'refused', socket });
      });
      socket.on('error', () => resolve({ outcome: 'refused', socket }));
    });
  }

  test('a request for the page that is not a navigation (a fetch) gets no page, so no token', async () => {
    expect((await load(app.pageUrl(), false)).status).toBe(403);
    const served = await load(app.pageUrl(), true);
    expect(served.status).toBe(200);
    expect(served.body).toMatch(/data-token="[\w-]{32}"/);
  });

  test('each port number of a token is taken once and in order, from the page origin only; the policy sees the URL main recorded; a newer port disposes the older Host', async () => {
    const url = `${app.pageUrl()}?from=node`;
    const origin = new URL(url).origin;
    const token = /data-token="([^"]+)"/.exec((await load(url, true)).body)?.[1];
    expect(token).toBeDefined();
    const from = app.events.length;

    // The WebSocket names another page: main goes by its own record of the token.
    const first = await openPort(`token=${token}&port=1&page=${encodeURIComponent('app://spoofed/')}`, origin);
    expect(first.outcome).toBe('open');
    const port = (await app.waitFor((e) => e.ev === 'port', 5_000, from)) as Extract<HarnessEvent, { ev: 'port' }>;
    expect(port.url).toBe(url);

    const refused = [
      await openPort(`token=${token}&port=1`, origin),
      await openPort(`token=${token}&port=3`, origin),
      await openPort(`token=${token}&port=2`, 'http://elsewhere.example'),
      await openPort(`token=${token}x&port=2`, origin),
      await openPort('port=2', origin),
    ];
    expect(refused.map((r) => r.outcome)).toEqual(['refused', 'refused', 'refused', 'refused', 'refused']);
    await expect.poll(() => app.events.slice(from).filter((e) => e.ev === 'refused-port').length).toBe(5);

    const firstClosed = new Promise<void>((resolve) => first.socket.once('close', () => resolve()));
    const mid = app.events.length;
    const second = await openPort(`token=${token}&port=2`, origin);
    try {
      expect(second.outcome).toBe('open');
      expect(await app.waitFor((e) => e.ev === 'port', 5_000, mid)).toEqual({ ev: 'port', frame: port.frame, url });
      expect(app.events.slice(mid).find((e) => e.ev === 'disposed')).toEqual({ ev: 'disposed', frame: port.frame, reason: 'navigated', sockets: 0 });
      // Main closed the replaced port's end.
      await firstClosed;
    } finally {
      second.socket.close();
    }
  });
});
