/**
 * §6 validation: every message from a page is checked in main; a bad one is answered
 * with ERR_DATASOCKET_INVALID_ARGUMENT and never crashes or blocks the host. The
 * messages go straight into the frame's port through the stand-in's TEST-ONLY
 * `window.__datasocketTest` (see stand-in/ipc-renderer.ts: the real preload exposes
 * nothing but Net.DataSocket), as a page that reached the preload's internals could;
 * the 'hostile' instance's harness is started with it on, and only for these tests.
 */
import { expect } from '@playwright/test';
import type { PlainError } from '../../src/shared/errors.js';
import { ErrorCode } from '../../src/shared/errors.js';
import { test } from '../../src/testing/index.js';
import { AppPage, reachOf } from './helpers/app-page.js';
import { useAppPages } from './helpers/app-pages.js';

/** The stand-in's test-only internals, as the page sees them. */
interface TestInternals {
  post(raw: unknown): void;
  replies(): { t: string; id?: number; error?: PlainError }[];
}

/** Bytes for a message: the page turns `{ $u8: [...] }` into a Uint8Array before posting. */
const u8 = (...bytes: number[]): { $u8: number[] } => ({ $u8: bytes });

/** A whole VALUE frame holding msgpack 42 (PROTOCOL.md: u32 length, u8 kind, body). */
const FRAME_42 = u8(0, 0, 0, 1, 0, 0x2a);

const OPTIONS = { maxFrameBytes: 1024, maxBufferedBytes: 1024, highWaterMark: 1024, handshakeTimeoutMs: 1000, acceptTimeoutMs: 1000 };

const HOSTILE: [string, unknown][] = [
  ['a number instead of a message', 42],
  ['null', null],
  ['a string', 'connect'],
  ['an array', [1, 2]],
  ['an unknown type', { t: 'explode', id: 1 }],
  ['a connect with a string id', { t: 'connect', id: '1', name: 'x', port: null, options: OPTIONS }],
  ['a connect with a fractional id', { t: 'connect', id: 1.5, name: 'x', port: null, options: OPTIONS }],
  ['a connect with a negative id', { t: 'connect', id: -3, name: 'x', port: null, options: OPTIONS }],
  ['a connect without options', { t: 'connect', id: 100_000, name: 'x', port: null }],
  ['a connect whose options carry an unknown field', { t: 'connect', id: 100_000, name: 'x', port: null, options: { ...OPTIONS, tls: true } }],
  ['a connect to a port out of range', { t: 'connect', id: 100_000, name: '127.0.0.1', port: 70_000, options: OPTIONS }],
  ['a listen with an empty name', { t: 'listen', id: 100_000, name: '', port: null, options: OPTIONS }],
  ['a send whose bytes are a string', { t: 'send', id: 1, bytes: 'abc', count: 1 }],
  ['a send whose bytes are an array of numbers', { t: 'send', id: 1, bytes: [0, 0, 0, 1, 0, 42], count: 1 }],
  ['a send with a negative count', { t: 'send', id: 1, bytes: FRAME_42, count: -1 }],
  ['a verdict that is not a boolean', { t: 'verdict', id: -1, accept: 'yes' }],
  ['an extra field', { t: 'end', id: 1, sneaky: true }],
  ['id 0', { t: 'destroy', id: 0 }],
  ['a send to an id never issued', { t: 'send', id: 99_999, bytes: FRAME_42, count: 1 }],
  ['a verdict for an incoming id never issued', { t: 'verdict', id: -77_777, accept: true }],
  ['an end for an id never issued', { t: 'end', id: 88_888 }],
  ['a destroy for an id never issued', { t: 'destroy', id: 77_777 }],
];

/** Posts a raw message into `page`'s port. */
function post(page: AppPage, raw: unknown): Promise<void> {
  return page.page.evaluate((message) => {
    const revive = (value: unknown): unknown => {
      if (Array.isArray(value)) return value.map(revive);
      if (value === null || typeof value !== 'object') return value;
      if ('$u8' in value) return Uint8Array.from((value as { $u8: number[] }).$u8);
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, revive(v)]));
    };
    (globalThis as unknown as { __datasocketTest: TestInternals }).__datasocketTest.post(revive(message));
  }, raw);
}

/** The host's replies to `page` so far, reduced to what the tests read (no bytes). */
function replies(page: AppPage): Promise<{ t: string; id?: number; code?: string; message?: string }[]> {
  return page.page.evaluate(() =>
    (globalThis as unknown as { __datasocketTest: TestInternals }).__datasocketTest
      .replies()
      .map((m) => ({ t: m.t, id: m.id, code: m.error?.code, message: m.error?.message })),
  );
}

async function rejections(page: AppPage): Promise<{ code?: string; message?: string }[]> {
  return (await replies(page)).filter((m) => m.t === 'rejected');
}

/** The id the host gave the socket whose last `open`/`bound` reply came in. */
async function lastHostId(page: AppPage, t: 'open' | 'bound'): Promise<number> {
  const id = (await replies(page)).filter((m) => m.t === t).at(-1)?.id;
  if (id === undefined) throw new Error(`no '${t}' reply yet`);
  return id;
}

test.describe('§6 main refuses malformed messages from a page with ERR_DATASOCKET_INVALID_ARGUMENT and keeps serving', () => {
  // Each test has its own instances (and namespace); the last test does all the others' steps first, in one world.
  const world = useAppPages({ hostile: { app: { internals: true } }, peer: {} });
  let hostile!: AppPage;
  let peer!: AppPage;
  test.beforeEach(() => {
    ({ hostile, peer } = world.page);
  });

  /** Posts the hostile message `n` (HOSTILE[n]): refused, and the host goes on serving the page. */
  async function refusesHostile(n: number): Promise<void> {
    const before = (await rejections(hostile)).length;
    await post(hostile, HOSTILE[n]![1]);
    await expect.poll(async () => (await rejections(hostile)).length).toBe(before + 1);
    expect((await rejections(hostile)).at(-1)).toMatchObject({ code: ErrorCode.INVALID_ARGUMENT });
    expect((await hostile.listen(`probe${n}`, `probe-${n}`)).log).toEqual(['listening']);
    expect((await rejections(hostile)).length).toBe(before + 1);
  }

  async function refusesAnotherFramesSocket(): Promise<void> {
    const listener = await peer.listen('l', 'owner');
    await hostile.connect('c', reachOf(listener));
    await hostile.until('c', 'connect');
    await peer.until('l#1', 'connect');
    const ownersId = await lastHostId(hostile, 'open');

    // Another frame of the same app instance (its own port, its own host), that never made a socket.
    const other = await AppPage.open(world.context.hostile, world.app.hostile);
    try {
      await post(other, { t: 'send', id: ownersId, bytes: FRAME_42, count: 1 });
      await post(other, { t: 'end', id: ownersId });
      await post(other, { t: 'destroy', id: ownersId });
      await expect.poll(async () => (await rejections(other)).length).toBe(3);
      for (const rejection of await rejections(other)) expect(rejection.code).toBe(ErrorCode.INVALID_ARGUMENT);
      expect(other.pageErrors).toEqual([]);
    } finally {
      await other.page.close();
    }
    await hostile.page.waitForTimeout(100);
    expect((await hostile.snapshot('c')).state).toBe('open');
    expect((await peer.snapshot('l#1')).values).toEqual([]);
    await hostile.send('c', 'still mine');
    await peer.run((d) => d.untilValues('l#1', 1), null);
    expect((await peer.snapshot('l#1')).values).toEqual(['still mine']);
  }

  async function refusesAReusedId(): Promise<void> {
    await hostile.listen('l', 'reuse');
    const used = await lastHostId(hostile, 'bound');
    const before = (await rejections(hostile)).length;
    await post(hostile, { t: 'listen', id: used, name: 'again-listen', port: null, options: OPTIONS });
    await post(hostile, { t: 'connect', id: 1, name: 'again-connect', port: null, options: OPTIONS });
    await expect.poll(async () => (await rejections(hostile)).length).toBe(before + 2);
    for (const rejection of (await rejections(hostile)).slice(before)) expect(rejection).toMatchObject({ code: ErrorCode.INVALID_ARGUMENT, message: expect.stringContaining('used before') });
    expect((await hostile.snapshot('l')).state).toBe('listening');
  }

  async function failsOnlyTheSocketWithBadFrames(): Promise<void> {
    const listener = await peer.listen('l', 'frames');
    await hostile.connect('bad', reachOf(listener));
    await hostile.until('bad', 'connect');
    const id = await lastHostId(hostile, 'open');
    await hostile.connect('good', reachOf(listener));
    await hostile.until('good', 'connect');
    await post(hostile, { t: 'send', id, bytes: u8(0, 0, 0, 9, 0, 1, 2), count: 1 });
    expect(await hostile.until('bad', 'close')).toEqual(['connect', `error:${ErrorCode.INVALID_ARGUMENT}`, 'close']);
    await hostile.send('good', 'unaffected');
    await peer.until('l#2', 'data');
    expect((await peer.snapshot('l#2')).values).toEqual(['unaffected']);
  }

  HOSTILE.forEach(([what], n) => {
    test(`refuses ${what}, and the host goes on serving the page`, () => refusesHostile(n));
  });

  test("refuses messages about another frame's socket: that socket and its peer are untouched", refusesAnotherFramesSocket);

  test('refuses a reused socket id', refusesAReusedId);

  test('fails only the socket whose page sends bytes that are not whole frames, with ERR_DATASOCKET_INVALID_ARGUMENT', failsOnlyTheSocketWithBadFrames);

  test('after all of that, the hostile page, another page of its instance and the other instance still connect and talk normally', async () => {
    // "All of that": every test above, in order, on this test's pages; their sockets closed between tests as they were when
    // the tests shared one world.
    for (let n = 0; n < HOSTILE.length; n++) await refusesHostile(n);
    for (const step of [refusesAnotherFramesSocket, refusesAReusedId, failsOnlyTheSocketWithBadFrames]) {
      await Promise.all([hostile.closeAll(), peer.closeAll()]);
      await step();
    }
    await Promise.all([hostile.closeAll(), peer.closeAll()]);

    const rejectedBefore = (await rejections(hostile)).length;
    const inPeer = await peer.listen('l', 'after');
    const inHostile = await hostile.listen('l', 'after');
    await hostile.connect('out', reachOf(inPeer));
    await peer.connect('out', reachOf(inHostile));
    await Promise.all([hostile.until('out', 'connect'), peer.until('out', 'connect')]);
    await hostile.send('out', 'from the hostile page');
    await peer.send('out', 'from the peer page');
    await Promise.all([peer.until('l#1', 'data'), hostile.until('l#1', 'data')]);
    expect((await peer.snapshot('l#1')).values).toEqual(['from the hostile page']);
    expect((await hostile.snapshot('l#1')).values).toEqual(['from the peer page']);

    const sibling = await AppPage.open(world.context.hostile, world.app.hostile);
    try {
      await sibling.connect('out', reachOf(inPeer));
      await sibling.until('out', 'connect');
      await sibling.send('out', 'from a sibling page');
      await peer.until('l#2', 'data');
      expect((await peer.snapshot('l#2')).values).toEqual(['from a sibling page']);
      expect(sibling.pageErrors).toEqual([]);
    } finally {
      await sibling.page.close();
    }
    // Normal use drew no rejection, and the stand-in's strict IPC never refused what a page sent.
    expect((await rejections(hostile)).length).toBe(rejectedBefore);
    expect(world.app.hostile.events.filter((e) => e.ev === 'refused-ipc')).toEqual([]);
  });
});
