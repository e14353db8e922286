/**
 * §10 and §12 in the page, through the real preload: `socket.request()`, the `request`
 * event and the `schema` option as an app's pages get them — the shipped preload
 * re-bundled by an app's bundler, run in a sandboxed, context-isolated renderer
 * (test/helpers/fake-renderer.ts), served by the real bridge (electron-bridge.ts over
 * test/helpers/fake-electron.ts) with real sockets. Page code here is script evaluated
 * in the page's main world: handlers, values, promises and errors are the page's own.
 * The page's zod is the page's own too: zod bundled as an app bundles its renderer
 * code, run as a script of that world (which has no module loader and no eval).
 */
import path from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it, vi } from 'vitest';
import { DataSocket as NodeDataSocket, ErrorCode } from '../../src/index.js';
import type { DataSocketCore } from '../../src/shared/socket-core.js';
import type { FakeTab } from '../helpers/fake-electron.js';
import type { RendererDocument, World } from '../helpers/fake-renderer.js';
import { usePreloadPages } from '../helpers/preload-pages.js';
import { listening, uniqueName, until } from '../helpers/sockets.js';

vi.mock('electron', async () => (await import('../helpers/fake-electron.js')).fakeElectron);

const { bridges, ours, install, loadPage } = usePreloadPages('ds-requests-');

interface Page {
  tab: FakeTab;
  document: RendererDocument;
  world: World;
  /** Runs page code: `body` is the body of a function of `args`; returns what it returns. */
  run<T = unknown>(params: string, body: string, ...args: unknown[]): T;
}

/** Opens a tab whose page has `window.Net` from the app's preload. */
async function openPage(): Promise<Page> {
  const { tab, document } = await loadPage();
  expect(document.preloadError).toBeUndefined();
  const world = document.mainWorld;
  return {
    tab,
    document,
    world,
    run: <T>(params: string, body: string, ...args: unknown[]) => (world.evaluate(`(function (${params}) { ${body} })`) as (...a: unknown[]) => T)(...args),
  };
}

/** What a page's socket recorded, in its own world's arrays. */
interface SocketLog {
  values: unknown[];
  errors: { code: string; message: string }[];
  events: string[];
}

/** Page code: records a socket's events into a log of the page's own. */
const RECORD = `
  var log = { values: [], errors: [], events: [] };
  socket
    .on('connect', function () { log.events.push('connect'); })
    .on('data', function (value) { log.values.push(value); log.events.push('data'); })
    .on('error', function (error) { log.errors.push({ code: error.code, message: error.message }); log.events.push('error:' + error.code); })
    .on('close', function () { log.events.push('close'); });
`;

/**
 * Page code of the answering page: its handler for each request, by the request's `op`.
 * echo: the value back; later: a Promise of the page settling after `ms`; never: no answer;
 * throw: a TypeError of the page; twice: respond twice (the second throw is kept).
 */
const ANSWER = `
  connection.on('request', function (value, respond) {
    switch (value.op) {
      case 'echo':
        respond({ echo: value, at: new Date(7), bytes: Uint8Array.of(1, 2, 3), tags: new Set(['a']) });
        return;
      case 'later':
        respond(new Promise(function (resolve) { setTimeout(function () { resolve('after ' + value.ms); }, value.ms); }));
        return;
      case 'never':
        answered.never.push(value);
        return;
      case 'late':
        setTimeout(function () { respond('late'); connection.send('after the late reply'); }, value.ms);
        return;
      case 'throw':
        throw new TypeError('the page says no');
      case 'twice':
        respond('first');
        try { respond('second'); } catch (error) { answered.twice.push({ code: error.code, name: error.name, ofPage: error instanceof Error }); }
        return;
      case 'number':
        respond(value.n);
        return;
    }
  });
`;

/** Two tabs: one listens (its connections answer with ANSWER, unless `answer` is false), the other connects with `options` (page code). */
async function pagePair(answer = true, options = 'undefined') {
  install();
  const listenPage = await openPage();
  const connecting = await openPage();
  const name = uniqueName('req');
  const listener = listenPage.run<{ listener: DataSocketCore; accepted: DataSocketCore[]; answered: { never: unknown[]; twice: unknown[] } }>(
    'name, answer',
    `
      var accepted = [];
      var answered = { never: [], twice: [] };
      var listener = Net.DataSocket.listen(function (connection) {
        accepted.push(connection);
        if (answer) { ${ANSWER} }
        return true;
      }, name);
      return { listener: listener, accepted: accepted, answered: answered };
    `,
    name,
    answer,
  );
  ours.push(listener.listener);
  await until(() => listener.listener.state === 'listening', 5_000);
  const client = connecting.run<{ socket: DataSocketCore; log: SocketLog }>('name', `var socket = Net.DataSocket.connect(name, ${options}); ${RECORD} return { socket: socket, log: log };`, name);
  await until(() => client.socket.state === 'open' && listener.accepted[0]?.state === 'open', 5_000);
  return { listenPage, connecting, name, ...listener, client };
}

/** Settles a page's promise into a plain outcome the test can read (the page's error, its cause, and whether both are the page's own). */
async function outcome(page: Page, promise: Promise<unknown>): Promise<{ ok: true; value: unknown } | { ok: false; code: string; name: string; message: string; ofPage: boolean; cause?: { name: string; message: string; ofPage: boolean } }> {
  try {
    return { ok: true, value: await promise };
  } catch (error) {
    const e = error as { code: string; name: string; message: string; cause?: { name: string; message: string } };
    const PageError = page.world.global.Error as ErrorConstructor;
    return {
      ok: false,
      code: e.code,
      name: e.name,
      message: e.message,
      ofPage: e instanceof PageError,
      ...(e.cause === undefined ? {} : { cause: { name: e.cause.name, message: e.cause.message, ofPage: e.cause instanceof PageError } }),
    };
  }
}

describe('§10 requests page to page through the real preload', () => {
  it("a request gets its reply, made of the requesting page's own objects", async () => {
    const { connecting, client } = await pagePair();
    const reply = await connecting.run<Promise<unknown>>('socket', "return socket.request({ op: 'echo', when: new Date(5), map: new Map([[1, 'one']]) });", client.socket);
    // copyOut throws for any object that is not of that page's own world.
    expect(connecting.world.copyOut(reply)).toStrictEqual({
      echo: { op: 'echo', when: new Date(5), map: new Map([[1, 'one']]) },
      at: new Date(7),
      bytes: Uint8Array.of(1, 2, 3),
      tags: new Set(['a']),
    });
  });

  it('a Promise reply; 100 concurrent requests each get their own reply', async () => {
    const { connecting, client } = await pagePair();
    const replies = await connecting.run<Promise<unknown[]>>(
      'socket',
      `
        var asked = [socket.request({ op: 'later', ms: 30 })];
        for (var n = 0; n < 100; n++) asked.push(socket.request({ op: 'number', n: n }));
        return Promise.all(asked);
      `,
      client.socket,
    );
    expect(connecting.world.copyOut(replies)).toEqual(['after 30', ...Array.from({ length: 100 }, (_, n) => n)]);
  });

  it("timeout: ERR_DATASOCKET_TIMEOUT on the page's own timers; the late reply is dropped", async () => {
    const { connecting, client } = await pagePair();
    const started = Date.now();
    const result = await outcome(connecting, connecting.run('socket', "return socket.request({ op: 'late', ms: 120 }, { timeoutMs: 30 });", client.socket));
    expect(result).toMatchObject({ ok: false, code: ErrorCode.TIMEOUT, name: 'DataSocketError', ofPage: true });
    expect(Date.now() - started).toBeGreaterThanOrEqual(25);
    await until(() => client.log.values.length === 1, 5_000);
    expect(connecting.world.copyOut(client.log.values)).toEqual(['after the late reply']);
    expect(connecting.world.copyOut(client.log.events)).toEqual(['connect', 'data']);
  });

  it('ERR_DATASOCKET_NO_HANDLER when the other page has no request handler', async () => {
    const { connecting, client } = await pagePair(false);
    const result = await outcome(connecting, connecting.run('socket', "return socket.request('anyone?');", client.socket));
    expect(result).toMatchObject({ ok: false, code: ErrorCode.NO_HANDLER, ofPage: true });
    expect(client.socket.state).toBe('open');
  });

  it("ERR_DATASOCKET_REMOTE when the other page's handler throws: its error's name and message as cause, an Error of the requesting page", async () => {
    const { connecting, client } = await pagePair();
    const result = await outcome(connecting, connecting.run('socket', "return socket.request({ op: 'throw' });", client.socket));
    expect(result).toMatchObject({ ok: false, code: ErrorCode.REMOTE, ofPage: true, cause: { name: 'TypeError', message: 'the page says no', ofPage: true } });
  });

  it('respond answers once: a second call throws ERR_DATASOCKET_INVALID_ARGUMENT in the answering page; the requester gets the first reply', async () => {
    const { connecting, client, answered } = await pagePair();
    expect(await connecting.run('socket', "return socket.request({ op: 'twice' });", client.socket)).toBe('first');
    expect(answered.twice).toEqual([{ code: ErrorCode.INVALID_ARGUMENT, name: 'DataSocketError', ofPage: true }]);
  });

  it("ERR_DATASOCKET_CLOSED for every pending request when the other page's window closes", async () => {
    const { listenPage, connecting, client, answered } = await pagePair();
    const pending = connecting.run<Promise<unknown>[]>('socket', "return [1, 2, 3].map(function (n) { return socket.request({ op: 'never', n: n }); });", client.socket);
    const outcomes = Promise.all(pending.map((p) => outcome(connecting, p)));
    await until(() => answered.never.length === 3, 5_000);
    listenPage.tab.destroy();
    listenPage.document.unload();
    for (const result of await outcomes) expect(result).toMatchObject({ ok: false, code: ErrorCode.CLOSED, ofPage: true });
    await until(() => client.socket.state === 'closed', 5_000);
  });

  it("ERR_DATASOCKET_CLOSED for every pending request when main's bridge is disposed, the page socket's error (the bridge is gone) as cause", async () => {
    const { connecting, client, answered } = await pagePair();
    const pending = connecting.run<Promise<unknown>[]>('socket', "return [1, 2].map(function (n) { return socket.request({ op: 'never', n: n }); });", client.socket);
    const outcomes = Promise.all(pending.map((p) => outcome(connecting, p)));
    await until(() => answered.never.length === 2, 5_000);
    bridges.splice(0).forEach((bridge) => bridge.dispose());
    for (const result of await outcomes) {
      expect(result).toMatchObject({ ok: false, code: ErrorCode.CLOSED, ofPage: true, cause: { name: 'DataSocketError', ofPage: true } });
      expect(result.ok === false && result.cause?.message).toContain('bridge is gone');
    }
    expect(connecting.world.copyOut(client.log.events)).toEqual(['connect', `error:${ErrorCode.CLOSED}`, 'close']);
  });

  it('a page requests from a Node peer, and answers its requests', async () => {
    install();
    const answered: unknown[] = [];
    const node = NodeDataSocket.listen((connection) => {
      ours.push(connection);
      connection.on('request', (value: unknown, respond: (reply: unknown) => void) => respond({ node: value }));
      connection.on('connect', () => {
        void connection.request({ from: 'node' }).then((reply) => answered.push(reply));
      });
      return true;
    }, uniqueName('req-node'));
    ours.push(node);
    await listening(node);
    const page = await openPage();
    const reply = await page.run<Promise<unknown>>(
      'name',
      `
        var socket = Net.DataSocket.connect(name);
        socket.on('request', function (value, respond) { respond({ page: value, when: new Date(9) }); });
        return socket.request(new Map([['from', 'the page']]));
      `,
      node.address.name,
    );
    expect(page.world.copyOut(reply)).toStrictEqual({ node: new Map([['from', 'the page']]) });
    await until(() => answered.length === 1, 5_000);
    expect(answered).toStrictEqual([{ page: { from: 'node' }, when: new Date(9) }]);
  });
});

/** zod as a page bundles it (esbuild, one IIFE script exposing `zod`), made once. */
let pageZod: Promise<string> | undefined;
function zodScript(): Promise<string> {
  pageZod ??= build({
    stdin: { contents: "export { z } from 'zod';", loader: 'js', resolveDir: path.resolve(import.meta.dirname, '../..') },
    bundle: true,
    format: 'iife',
    globalName: 'zod',
    platform: 'browser',
    minify: true,
    write: false,
    logLevel: 'silent',
  }).then((result) => result.outputFiles[0]!.text);
  return pageZod;
}

describe("§12 a schema given in the page, through the real preload", () => {
  it("the page's own zod: a value that fails closes that page connection with ERR_DATASOCKET_INVALID_VALUE (zod's issues in the message), the values before it delivered", async () => {
    install();
    const listenPage = await openPage();
    const connecting = await openPage();
    connecting.world.evaluate(await zodScript());
    const name = uniqueName('schema');
    const listener = listenPage.run<DataSocketCore>(
      'name',
      `return Net.DataSocket.listen(function (connection) {
        connection.on('connect', function () {
          connection.send({ x: 1, y: 2 });
          connection.send({ x: 'three', y: 4 });
          connection.send({ x: 5, y: 6 });
        });
        return true;
      }, name);`,
      name,
    );
    ours.push(listener);
    await until(() => listener.state === 'listening', 5_000);
    const client = connecting.run<{ socket: DataSocketCore; log: SocketLog }>(
      'name',
      `var z = zod.z;
       var socket = Net.DataSocket.connect(name, { schema: z.object({ x: z.number(), y: z.number() }) });
       ${RECORD}
       return { socket: socket, log: log };`,
      name,
    );
    await until(() => client.socket.state === 'closed', 5_000);
    expect(connecting.world.copyOut(client.log.events)).toEqual(['connect', 'data', `error:${ErrorCode.INVALID_VALUE}`, 'close']);
    expect(connecting.world.copyOut(client.log.values)).toEqual([{ x: 1, y: 2 }]);
    expect(client.log.errors[0]!.message).toMatch(/x: .*expected number/);
    expect(listener.state).toBe('listening');
  });

  it('a hand-written Standard Schema object of the page: request(value, { schema }) resolves with what it delivers; a reply it refuses rejects that request only with ERR_DATASOCKET_INVALID_VALUE', async () => {
    const { connecting, client } = await pagePair();
    const results = await connecting.run<Promise<unknown[]>>(
      'socket',
      `
        var doubled = { '~standard': { version: 1, vendor: 'test', validate: function (reply) {
          return typeof reply === 'number' ? { value: reply * 2 } : { issues: [{ message: 'not a number', path: ['reply'] }] };
        } } };
        var settle = function (p) { return p.then(function (v) { return { ok: true, value: v }; }, function (e) { return { ok: false, code: e.code, message: e.message }; }); };
        return Promise.all([
          settle(socket.request({ op: 'number', n: 21 }, { schema: doubled })),
          settle(socket.request({ op: 'later', ms: 1 }, { schema: doubled })),
          settle(socket.request({ op: 'number', n: 1 })),
        ]);
      `,
      client.socket,
    );
    expect(connecting.world.copyOut(results)).toEqual([
      { ok: true, value: 42 },
      { ok: false, code: ErrorCode.INVALID_VALUE, message: expect.stringContaining('reply: not a number') },
      { ok: true, value: 1 },
    ]);
    expect(client.socket.state).toBe('open');
  });

  it('a hand-written Standard Schema object as the answering page\'s option: a request it refuses closes that connection with ERR_DATASOCKET_INVALID_VALUE and the requester gets ERR_DATASOCKET_CLOSED', async () => {
    install();
    const listenPage = await openPage();
    const connecting = await openPage();
    const name = uniqueName('schema');
    const listener = listenPage.run<{ listener: DataSocketCore; handled: unknown[]; errors: string[] }>(
      'name',
      `
        var handled = [];
        var errors = [];
        var onlyStrings = { '~standard': { version: 1, vendor: 'test', validate: function (value) {
          return typeof value === 'string' ? { value: value } : { issues: [{ message: 'expected a string' }] };
        } } };
        var listener = Net.DataSocket.listen(function (connection) {
          connection.on('request', function (value, respond) { handled.push(value); respond(value.toUpperCase()); });
          connection.on('error', function (error) { errors.push(error.code + ': ' + error.message); });
          return true;
        }, name, { schema: onlyStrings });
        return { listener: listener, handled: handled, errors: errors };
      `,
      name,
    );
    ours.push(listener.listener);
    await until(() => listener.listener.state === 'listening', 5_000);
    const results = await connecting.run<Promise<unknown[]>>(
      'name',
      `
        var socket = Net.DataSocket.connect(name);
        var settle = function (p) { return p.then(function (v) { return { ok: true, value: v }; }, function (e) { return { ok: false, code: e.code }; }); };
        return Promise.all([settle(socket.request('shout')), settle(socket.request(42))]);
      `,
      name,
    );
    expect(connecting.world.copyOut(results)).toEqual([
      { ok: true, value: 'SHOUT' },
      { ok: false, code: ErrorCode.CLOSED },
    ]);
    expect(listenPage.world.copyOut(listener.handled)).toEqual(['shout']);
    expect(listenPage.world.copyOut(listener.errors)).toEqual([`${ErrorCode.INVALID_VALUE}: a received request failed its schema: expected a string`]);
    expect(listener.listener.state).toBe('listening');
  });
});
