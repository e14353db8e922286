/**
 * §10 and §12 in real pages: `socket.request()`, the `request` event and a `schema`
 * given in the page, with the shipped preload. Page ↔ page across two app instances
 * (their main processes own the sockets and relay the bytes), page ↔ a Node
 * DataSocket in the test process (a DataSocketProbe of the testing kit), and page ↔
 * the built `datasocket` CLI.
 */
import { execFile, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect } from '@playwright/test';
import { ErrorCode } from '../../src/shared/errors.js';
import { DataSocketProbe, test } from '../../src/testing/index.js';
import { AppPage, reachOf } from './helpers/app-page.js';
import { useAppPages } from './helpers/app-pages.js';

const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist/main/cli/cli.js');

/** How a request ended, as the page saw it: the reply (described, page-values.ts), or the error's code, name, message and cause. */
type Outcome =
  | { ok: true; reply: unknown }
  | { ok: false; code: string | undefined; name: string; message: string; cause: { name: string; message: string; code?: string } | null };

/** Page code: requests `value` on socket `id` and settles into an outcome. */
function request(page: AppPage, id: string, value: unknown, options?: { timeoutMs?: number }): Promise<Outcome> {
  return page.run(
    async (d, a): Promise<Outcome> => {
      try {
        return { ok: true, reply: d.describe(await d.socket(a.id).request(a.value, a.options)) };
      } catch (error) {
        const e = error as { code?: string; name: string; message: string; cause?: { name: string; message: string; code?: string } };
        const cause = e.cause === undefined ? null : { name: e.cause.name, message: e.cause.message, ...(e.cause.code === undefined ? {} : { code: e.cause.code }) };
        return { ok: false, code: e.code, name: e.name, message: e.message, cause };
      }
    },
    { id, value, options },
  );
}

/**
 * Page code: socket `id` answers requests by their `op` — echo (the value back), sample
 * (a §3 value made in the page), later (a Promise settling after `ms`), double (`n` × 2,
 * a third of them through a Promise, so replies settle out of order), never, late (after
 * `ms`, then a value 'after the late reply'), throw (a TypeError), twice (respond twice;
 * what the second call threw is kept in scratch.twice). scratch.asked counts requests.
 */
function answer(page: AppPage, id: string): Promise<void> {
  return page.run(
    (d, a) => {
      const socket = d.socket(a.id);
      const scratch = d.scratch as { asked?: number; twice?: unknown[] };
      scratch.asked = 0;
      socket.on('request', (value: unknown, respond: (reply: unknown) => void) => {
        scratch.asked!++;
        const v = value as { op: string; n?: number; ms?: number; echo?: unknown; sample?: string };
        switch (v.op) {
          case 'echo':
            respond(v.echo);
            return;
          case 'sample':
            respond(d.sample(v.sample!));
            return;
          case 'later':
            respond(new Promise((resolve) => setTimeout(() => resolve(`after ${v.ms} ms`), v.ms)));
            return;
          case 'double':
            respond(v.n! % 3 === 0 ? new Promise((resolve) => setTimeout(() => resolve(v.n! * 2), v.n! % 7)) : v.n! * 2);
            return;
          case 'never':
            return;
          case 'late':
            setTimeout(() => {
              respond('late');
              socket.send('after the late reply');
            }, v.ms);
            return;
          case 'throw':
            throw new TypeError('the page says no');
          case 'twice':
            respond('first');
            try {
              respond('second');
            } catch (error) {
              scratch.twice = [(error as { code: string }).code];
            }
            return;
        }
      });
    },
    { id },
  );
}

/** How many requests `page`'s answering socket was asked so far. */
function asked(page: AppPage): Promise<number> {
  return page.run((d) => (d.scratch as { asked?: number }).asked ?? 0, null);
}

test.describe('§10 requests page to page, across two app instances', () => {
  const world = useAppPages({ A: {}, B: {} });

  /** Page A listens and answers (unless `answering` is false) on its connection; page B connects as 'c'. Returns A's connection id. */
  async function linked(answering = true, options?: object): Promise<string> {
    const { A, B } = world.page;
    const listener = await A.listen('l', 'req');
    await B.connect('c', reachOf(listener), options);
    await B.until('c', 'connect');
    await A.until('l', 'accepted');
    const [accepted] = (await A.snapshot('l')).accepted;
    await A.until(accepted!, 'connect');
    if (answering) await answer(A, accepted!);
    return accepted!;
  }

  test('a request resolves with the reply: §3 values made in the other page, and a Promise reply', async () => {
    const { B } = world.page;
    await linked();
    for (const sample of ['map', 'typed arrays', 'shared references']) {
      const expected = await B.run((d, a) => d.describe(d.sample(a)), sample);
      expect(await request(B, 'c', { op: 'sample', sample })).toEqual({ ok: true, reply: expected });
    }
    expect(await request(B, 'c', { op: 'echo', echo: { nested: [1, 'two'] } })).toEqual({ ok: true, reply: await B.run((d) => d.describe({ nested: [1, 'two'] }), null) });
    expect(await request(B, 'c', { op: 'later', ms: 50 })).toEqual({ ok: true, reply: 'after 50 ms' });
  });

  test('1,000 concurrent requests page → page, each with the right reply (replies settle out of order)', async () => {
    const { A, B } = world.page;
    await linked();
    const result = await B.run(async (d, count) => {
      const socket = d.socket('c');
      const replies = await Promise.all(Array.from({ length: count }, (_, n) => socket.request({ op: 'double', n })));
      return { count: replies.length, wrong: replies.flatMap((reply, n) => (reply === n * 2 ? [] : [[n, reply]])) };
    }, 1000);
    expect(result).toEqual({ count: 1000, wrong: [] });
    expect(await asked(A)).toBe(1000);
  });

  test("timeout: ERR_DATASOCKET_TIMEOUT at timeoutMs; the late reply is dropped, the values after it still come", async () => {
    const { B } = world.page;
    await linked();
    const started = Date.now();
    const outcome = await request(B, 'c', { op: 'late', ms: 300 }, { timeoutMs: 60 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(55);
    expect(outcome).toMatchObject({ ok: false, code: ErrorCode.TIMEOUT, name: 'DataSocketError' });
    await B.until('c', 'data');
    const snapshot = await B.snapshot('c');
    expect(snapshot.log).toEqual(['connect', 'data']);
    expect(snapshot.values).toEqual(['after the late reply']);
    expect(await request(B, 'c', { op: 'echo', echo: 'still open' })).toEqual({ ok: true, reply: 'still open' });
  });

  test("abort with an AbortController: rejects with the signal's reason (as fetch does), an AbortError without one, at once for an aborted signal", async () => {
    const { A, B } = world.page;
    await linked();
    const result = await B.run(async (d) => {
      const socket = d.socket('c');
      const caught = async (promise: Promise<unknown>): Promise<unknown> => promise.then(() => 'resolved', (error: unknown) => error);
      const controller = new AbortController();
      const reason = new Error('the user gave up');
      const first = caught(socket.request({ op: 'never' }, { signal: controller.signal }));
      setTimeout(() => controller.abort(reason), 30);
      const plain = new AbortController();
      const second = caught(socket.request({ op: 'never' }, { signal: plain.signal }));
      plain.abort();
      const third = caught(socket.request({ op: 'never' }, { signal: AbortSignal.abort('before') }));
      return { first: (await first) === reason, second: (await second as Error).name, third: await third };
    }, null);
    expect(result).toEqual({ first: true, second: 'AbortError', third: 'before' });
    // The aborted signal sent nothing; the other two reached A. Polled: a request aborted at once may still be on its way to A
    // when the page's promises settle (the suite once read 0 here right after them).
    await expect.poll(() => asked(A)).toBe(2);
    await A.page.waitForTimeout(100);
    expect(await asked(A)).toBe(2);
  });

  test('ERR_DATASOCKET_NO_HANDLER when the other page has no request handler; the connection stays open', async () => {
    const { A, B } = world.page;
    const accepted = await linked(false);
    expect(await request(B, 'c', 'anyone?')).toMatchObject({ ok: false, code: ErrorCode.NO_HANDLER });
    await B.send('c', 'still open');
    await A.until(accepted, 'data');
  });

  test("ERR_DATASOCKET_REMOTE when the other page's handler throws, its TypeError as cause; respond twice throws ERR_DATASOCKET_INVALID_ARGUMENT there", async () => {
    const { A, B } = world.page;
    await linked();
    expect(await request(B, 'c', { op: 'throw' })).toMatchObject({ ok: false, code: ErrorCode.REMOTE, cause: { name: 'TypeError', message: 'the page says no' } });
    expect(await request(B, 'c', { op: 'twice' })).toEqual({ ok: true, reply: 'first' });
    expect(await A.run((d) => (d.scratch as { twice?: unknown[] }).twice, null)).toEqual([ErrorCode.INVALID_ARGUMENT]);
  });

  test('ERR_DATASOCKET_CLOSED for every pending request when the answering page closes', async ({ browser }) => {
    const { B } = world.page;
    const context = await browser.newContext();
    try {
      const peer = await AppPage.open(context, world.app.A);
      const listener = await peer.listen('l', 'req-closing');
      await B.connect('c', reachOf(listener));
      await B.until('c', 'connect');
      await peer.until('l#1', 'connect');
      await answer(peer, 'l#1');
      await B.run((d) => {
        const socket = d.socket('c');
        d.scratch.pending = Promise.all(
          [1, 2, 3].map((n) => socket.request({ op: 'never', n }).then(() => 'resolved', (error: { code: string }) => error.code)),
        );
      }, null);
      await expect.poll(() => asked(peer)).toBe(3);
      await peer.page.close();
      expect(await B.run((d) => d.scratch.pending as Promise<string[]>, null)).toEqual([ErrorCode.CLOSED, ErrorCode.CLOSED, ErrorCode.CLOSED]);
      expect(await B.until('c', 'close')).toEqual(['connect', 'close']);
    } finally {
      await context.close();
    }
  });

  test('a Standard Schema object refusing a value mid-stream closes that connection with ERR_DATASOCKET_INVALID_VALUE: the values before it arrive, a pending request gets ERR_DATASOCKET_CLOSED', async () => {
    const { A, B } = world.page;
    const listener = await A.listen('l', 'req-schema');
    await B.run((d, at) => {
      const numbers = {
        '~standard': {
          version: 1 as const,
          vendor: 'test',
          validate: (value: unknown) => (typeof value === 'number' ? { value } : { issues: [{ message: 'expected a number' }] }),
        },
      };
      d.connect('s', at.name, at.port, { schema: numbers });
    }, reachOf(listener));
    await B.until('s', 'connect');
    await A.until('l#1', 'connect');
    await answer(A, 'l#1');
    await B.run((d) => {
      d.scratch.pending = d
        .socket('s')
        .request({ op: 'never' })
        .then(
          () => null,
          (error: { code: string; cause?: { code: string } }) => ({ code: error.code, cause: error.cause?.code }),
        );
    }, null);
    await expect.poll(() => asked(A)).toBe(1);
    // In one go: once B refused 'three' the connection is gone, and a later send() would throw.
    await A.run((d) => [1, 2, 'three', 4].forEach((value) => d.send('l#1', value)), null);
    const log = await B.until('s', 'close');
    expect(log).toEqual(['connect', 'data', 'data', `error:${ErrorCode.INVALID_VALUE}`, 'close']);
    const snapshot = await B.snapshot('s');
    expect(snapshot.values).toEqual([1, 2]);
    expect(snapshot.errors[0]!.message).toContain('expected a number');
    expect(await B.run((d) => d.scratch.pending, null)).toEqual({ code: ErrorCode.CLOSED, cause: ErrorCode.INVALID_VALUE });
    expect(await A.until('l#1', 'close')).toContain('close');
    expect((await A.snapshot('l')).state).toBe('listening');
  });

  test("request(value, { schema }) with a Standard Schema object: the reply is what it delivers; a reply it refuses fails that request only", async () => {
    const { B } = world.page;
    await linked();
    const results = await B.run(async (d) => {
      const doubled = {
        '~standard': {
          version: 1 as const,
          vendor: 'test',
          validate: (reply: unknown) => (typeof reply === 'number' ? { value: reply * 2 } : { issues: [{ message: 'not a number' }] }),
        },
      };
      const socket = d.socket('c');
      const settle = (p: Promise<unknown>) => p.then((value) => ({ value }), (error: { code: string }) => ({ code: error.code }));
      return [await settle(socket.request({ op: 'echo', echo: 21 }, { schema: doubled })), await settle(socket.request({ op: 'echo', echo: 'x' }, { schema: doubled })), await settle(socket.request({ op: 'echo', echo: 'plain' }))];
    }, null);
    expect(results).toEqual([{ value: 42 }, { code: ErrorCode.INVALID_VALUE }, { value: 'plain' }]);
  });
});

test.describe('§10 requests between a page and Node', () => {
  const world = useAppPages({ A: {} });
  /** The test process's peers: probes in the test's namespace, closed after each test. */
  const probes: DataSocketProbe[] = [];
  test.afterEach(async () => {
    await Promise.all(probes.splice(0).map((probe) => probe.close()));
  });
  function kept<T extends DataSocketProbe>(probe: T): T {
    probes.push(probe);
    return probe;
  }

  test('a page requests from a Node peer: the reply, a Promise reply, REMOTE, NO_HANDLER, a timeout', async () => {
    const { A } = world.page;
    const answering = kept(
      DataSocketProbe.listen('node', {
        respond: (value) => {
          const v = value as { op: string; echo?: unknown };
          if (v.op === 'echo') return { node: v.echo, at: new Date(3) };
          if (v.op === 'later') return new Promise((resolve) => setTimeout(() => resolve('later'), 30));
          if (v.op === 'throw') throw new RangeError('node says no');
          // 'never': a reply that never comes, so the page's request runs into its timeout.
          return new Promise(() => {});
        },
      }),
    );
    await answering.ready();
    // The probe's socket file is in the test process's socket directory (in the test's namespace): the page goes by its path.
    await A.connect('n', { name: answering.address.path! });
    await A.until('n', 'connect');
    expect(await request(A, 'n', { op: 'echo', echo: [1, 'two'] })).toEqual({ ok: true, reply: await A.run((d) => d.describe({ node: [1, 'two'], at: new Date(3) }), null) });
    expect(await request(A, 'n', { op: 'later' })).toEqual({ ok: true, reply: 'later' });
    expect(await request(A, 'n', { op: 'throw' })).toMatchObject({ ok: false, code: ErrorCode.REMOTE, cause: { name: 'RangeError', message: 'node says no' } });
    expect(await request(A, 'n', { op: 'never' }, { timeoutMs: 50 })).toMatchObject({ ok: false, code: ErrorCode.TIMEOUT });
    // The peer got each request as the page made it.
    expect(answering.requests).toEqual([{ op: 'echo', echo: [1, 'two'] }, { op: 'later' }, { op: 'throw' }, { op: 'never' }]);

    // No respond option: the probe has no request handler.
    const silent = kept(DataSocketProbe.listen('silent'));
    await silent.ready();
    await A.connect('s', { name: silent.address.path! });
    await A.until('s', 'connect');
    expect(await request(A, 's', 'anyone?')).toMatchObject({ ok: false, code: ErrorCode.NO_HANDLER });
  });

  test('a Node peer requests from a page: the reply made in the page, REMOTE with its TypeError, NO_HANDLER; pending ones get ERR_DATASOCKET_CLOSED when the page closes', async ({ browser }) => {
    const { A } = world.page;
    const listener = await A.listen('l', 'req-page');
    const client = kept(DataSocketProbe.connect(listener.address.path!));
    await A.until('l#1', 'connect');
    await answer(A, 'l#1');
    expect(await client.request({ op: 'echo', echo: new Map([['k', 1n]]) })).toStrictEqual(new Map([['k', 1n]]));
    await expect(client.request({ op: 'throw' })).rejects.toMatchObject({ code: ErrorCode.REMOTE, cause: { name: 'TypeError', message: 'the page says no' } });

    const unanswered = kept(DataSocketProbe.connect(listener.address.path!));
    await A.until('l#2', 'connect');
    await expect(unanswered.request('anyone?')).rejects.toMatchObject({ code: ErrorCode.NO_HANDLER });

    const context = await browser.newContext();
    try {
      const closing = await AppPage.open(context, world.app.A);
      const other = await closing.listen('l', 'req-page-closing');
      const pendingClient = kept(DataSocketProbe.connect(other.address.path!));
      await closing.until('l#1', 'connect');
      await answer(closing, 'l#1');
      const pending = [1, 2].map((n) => pendingClient.request({ op: 'never', n }).then(() => 'resolved', (error: { code: string }) => error.code));
      await expect.poll(() => asked(closing)).toBe(2);
      await closing.page.close();
      expect(await Promise.all(pending)).toEqual([ErrorCode.CLOSED, ErrorCode.CLOSED]);
    } finally {
      await context.close();
    }
  });

  test('the built CLI: `datasocket request` gets its reply from a page, and a page requests from `datasocket listen --reply`', async () => {
    const { A } = world.page;
    // process.env holds the test's namespace: the CLI resolves bare names where the page does.
    const env = { ...process.env, XDG_RUNTIME_DIR: world.app.A.runtimeDir };
    const name = 'req-cli';
    // The acceptor answers after a while: time for the page to set up its request handler on the new connection.
    await A.listen('l', name, undefined, { verdict: 'yes', delayMs: 300 });
    const asking = promisify(execFile)(process.execPath, [CLI, 'request', name, '{"op":"double","n":21}'], { env });
    await A.until('l', 'accepted');
    await answer(A, 'l#1');
    expect(await asking).toMatchObject({ stdout: '42\n', stderr: '' });

    const listening = spawn(process.execPath, [CLI, 'listen', 'req-cli-listen', '--reply', '{"from":"the CLI"}'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      let stderr = '';
      listening.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      await expect.poll(() => stderr, { timeout: 10_000 }).toMatch(/listening on \S+/);
      const at = /listening on (\S+)/.exec(stderr)![1]!;
      await A.connect('cli', { name: at });
      await A.until('cli', 'connect');
      expect(await request(A, 'cli', { asked: 'by the page' })).toEqual({ ok: true, reply: await A.run((d) => d.describe({ from: 'the CLI' }), null) });
    } finally {
      listening.kill('SIGKILL');
    }
  });
});
