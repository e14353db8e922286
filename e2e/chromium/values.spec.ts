/**
 * §3 in the page: values sent by one page arrive equal in a page of another app
 * instance, through two main processes and a real Unix socket. Both pages encode and
 * decode themselves (the hosts only relay bytes), so this is the page's codec
 * against the page's codec, as in two Electron apps.
 */
import { expect } from '@playwright/test';
import { ErrorCode } from '../../src/shared/errors.js';
import { test } from '../../src/testing/index.js';
import { reachOf, type AppPage } from './helpers/app-page.js';
import { useAppPages } from './helpers/app-pages.js';
import type { Description, PageDriver } from './helpers/page-driver.js';

test.describe('§3 values, page to page over a real socket', () => {
  const world = useAppPages({ sender: {}, receiver: {} });
  /** The receiver's end of the connection each test here gets. */
  const ACCEPTED = 'l#1';
  let sender!: AppPage;
  let receiver!: AppPage;

  test.beforeEach(async () => {
    ({ sender, receiver } = world.page);
    // A fixed name: it is in this test's namespace, which no other test, worker or run shares.
    const listener = await receiver.listen('l', 'values');
    await sender.connect('c', reachOf(listener));
    await sender.until('c', 'connect');
    await receiver.until(ACCEPTED, 'connect');
  });

  /** Sends every sample from `from`'s socket; returns the sender's descriptions and the receiver's. */
  async function roundTrip(from: AppPage, fromId: string, to: AppPage, toId: string): Promise<{ sent: [string, Description][]; received: Description[] }> {
    const before = await to.run((d, a) => d.valueCount(a.id), { id: toId });
    const sent = await from.run(
      (d, a) =>
        d.sampleNames().map((name): [string, Description] => {
          const value = d.sample(name);
          d.send(a.id, value);
          return [name, d.describe(value)];
        }),
      { id: fromId },
    );
    await to.run((d, a) => d.untilValues(a.id, a.count), { id: toId, count: before + sent.length });
    return { sent, received: await to.run((d, a) => d.values(a.id, a.from), { id: toId, from: before }) };
  }

  /** Sends `value` (made in the sending page by `make`) and returns the receiver's description of what arrived. */
  async function sendAndReceive(send: (d: PageDriver, id: string) => void): Promise<Description> {
    const before = await receiver.run((d, a) => d.valueCount(a.id), { id: ACCEPTED });
    await sender.run(send, 'c');
    await receiver.run((d, a) => d.untilValues(a.id, a.count), { id: ACCEPTED, count: before + 1 });
    return (await receiver.run((d, a) => d.values(a.id, a.from), { id: ACCEPTED, from: before }))[0];
  }

  for (const direction of ['client to accepted connection', 'accepted connection to client'] as const) {
    test(`every §3 kind of value arrives equal, ${direction}: Map, Set, Date, BigInt, every typed array, circular and shared references, …`, async () => {
      const { sent, received } =
        direction === 'client to accepted connection' ? await roundTrip(sender, 'c', receiver, ACCEPTED) : await roundTrip(receiver, ACCEPTED, sender, 'c');
      expect(received).toHaveLength(sent.length);
      sent.forEach(([name, description], i) => expect(received[i], `sample '${name}'`).toEqual(description));

      // The descriptions really tell kinds apart (a test that cannot fail proves nothing).
      const byName = Object.fromEntries(sent);
      expect(byName.map).toMatchObject({ proto: 'Map' });
      expect(byName.circular).toMatchObject({ object: expect.arrayContaining([['self', { ref: 0 }]]) });
      expect(byName['shared references']).toMatchObject({ object: expect.arrayContaining([['second', { ref: 1 }]]) });
      expect(JSON.stringify(byName['typed arrays'])).toContain('"typed":"BigUint64Array"');
    });
  }

  test('received objects never get a foreign prototype, whatever keys they carry, and Object.prototype stays clean', async () => {
    const received = await sendAndReceive((d, id) => {
      d.send(id, JSON.parse('{"__proto__": {"polluted": true}, "constructor": {"prototype": {"polluted": true}}, "plain": 1}'));
    });
    // PROTOCOL.md §5.3: a "__proto__" key arrives renamed "__proto_" (msgpackr's guard), as plain data.
    expect(received).toEqual({
      ref: 0,
      proto: 'Object',
      tag: 'Object',
      object: [
        ['__proto_', { ref: 1, proto: 'Object', tag: 'Object', object: [['polluted', true]] }],
        ['constructor', { ref: 2, proto: 'Object', tag: 'Object', object: [['prototype', { ref: 3, proto: 'Object', tag: 'Object', object: [['polluted', true]] }]] }],
        ['plain', 1],
      ],
    });
    const polluted = await receiver.run(() => [({} as Record<string, unknown>).polluted, Object.prototype.hasOwnProperty('polluted')], null);
    expect(polluted).toEqual([undefined, false]);
  });

  test('a few thousand values arrive whole and in order, both ways at once', async () => {
    const COUNT = 5000;
    await Promise.all([
      sender.run((d, a) => d.sendSequence(a.id, a.count), { id: 'c', count: COUNT }),
      receiver.run((d, a) => d.sendSequence(a.id, a.count), { id: ACCEPTED, count: COUNT }),
    ]);
    for (const [page, id] of [[receiver, ACCEPTED], [sender, 'c']] as const) {
      await expect.poll(() => page.run((d, a) => d.sequence(a.id).received, { id }), { timeout: 20_000 }).toBe(COUNT);
      expect(await page.run((d, a) => d.sequence(a.id), { id })).toEqual({ received: COUNT, inOrder: true });
    }
  });

  test('a function or a Symbol in a value makes send() throw ERR_DATASOCKET_UNSERIALIZABLE in the page, and nothing is sent', async () => {
    const before = await receiver.run((d, a) => d.valueCount(a.id), { id: ACCEPTED });
    const codes = await sender.run((d, a) => {
      const socket = d.socket(a.id);
      const attempts: unknown[] = [{ f: () => 1 }, [Symbol('s')], new Map([[Symbol('key'), 1]]), new Set([() => 2])];
      return attempts.map((value) => {
        try {
          socket.send(value);
          return 'sent';
        } catch (error) {
          return (error as { code?: string }).code ?? String(error);
        }
      });
    }, { id: 'c' });
    expect(codes).toEqual(Array(4).fill(ErrorCode.UNSERIALIZABLE));
    await sender.send('c', 'after the refused ones');
    await receiver.run((d, a) => d.untilValues(a.id, a.count), { id: ACCEPTED, count: before + 1 });
    expect(await receiver.run((d, a) => d.values(a.id, a.from), { id: ACCEPTED, from: before })).toEqual(['after the refused ones']);
  });
});
