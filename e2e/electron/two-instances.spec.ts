/**
 * Two instances of the demo app on one machine (SPEC §1): the sandboxed page of
 * one listens, the other's connects, and values go both ways — through the demo
 * window's UI, and through `window.Net.DataSocket` directly.
 */
import fs from 'node:fs';
import { expect } from '@playwright/test';
import { test } from '../../src/testing/index.js';
import { demoApp, demoWindow, launchPairWithHarness, noElectron } from './demo-app.js';
import { RICH_SUMMARY, type harness, type Harness } from './page-harness.js';

test.skip(noElectron !== null, noElectron ?? '');

/** Bare names resolve in each test's own namespace (the kit's datasocketNamespace): a fixed name never meets another test's. */
const NAME = 'pair';

const socketCard = (kind: 'listener' | 'client' | 'accepted') => `[data-testid="socket"][data-kind="${kind}"]`;
const logEntries = (event: string) => `[data-testid="log-entry"][data-event="${event}"]`;

test.describe('§1 two instances of one app', () => {
  test('run side by side, each with the userData directory launchInstance gave it, which DATASOCKET_DEMO_USER_DATA does not override', async ({ launchInstance }, testInfo) => {
    const a = await launchInstance(demoApp('a'));
    // The demo takes its userData from --user-data-dir, which the kit passes, else from DATASOCKET_DEMO_USER_DATA:
    // a value left in the environment must not make two instances under test share one.
    const elsewhere = testInfo.outputPath('user-data-from-env');
    const b = await launchInstance(demoApp('b', { env: { DATASOCKET_DEMO_USER_DATA: elsewhere } }));
    expect(await a.app.evaluate(({ app }) => app.getPath('userData'))).toBe(a.userDataDir);
    expect(await b.app.evaluate(({ app }) => app.getPath('userData'))).toBe(b.userDataDir);
    expect(a.userDataDir).not.toBe(b.userDataDir);
    expect(fs.existsSync(elsewhere)).toBe(false);
  });

  test('in the demo window, A listens and B connects; JSON and a file go both ways; B closes and A sees it', async ({ launchInstance, datasocketNamespace }) => {
    const pageA = await demoWindow(await launchInstance(demoApp('a')));
    const pageB = await demoWindow(await launchInstance(demoApp('b')));

    await pageA.getByTestId('listen-name').fill(NAME);
    await pageA.getByTestId('listen-button').click();
    const listener = pageA.locator(socketCard('listener'));
    await expect(listener).toHaveAttribute('data-state', 'listening');
    await expect(listener.getByTestId('socket-address')).toContainText(NAME);
    // The page's bare name resolved in this test's namespace: the kit put it in the app's environment.
    await expect(listener.getByTestId('socket-address')).toContainText(datasocketNamespace);

    await pageB.getByTestId('connect-name').fill(NAME);
    await pageB.getByTestId('connect-button').click();
    const client = pageB.locator(socketCard('client'));
    const accepted = pageA.locator(socketCard('accepted'));
    await expect(client).toHaveAttribute('data-state', 'open');
    await expect(accepted).toHaveAttribute('data-state', 'open');
    await expect(client.locator(logEntries('connect'))).toHaveCount(1);
    await expect(accepted.locator(logEntries('connect'))).toHaveCount(1);

    await client.getByTestId('send-json').fill('{"hello": "from B", "n": [1, 2, 3]}');
    await client.getByTestId('send-json-button').click();
    await expect(accepted.locator(logEntries('data'))).toHaveText(['data {"hello":"from B","n":[1,2,3]}']);
    await expect(client.locator(logEntries('sent'))).toHaveCount(1);

    await accepted.getByTestId('send-json').fill('[true, null, "ü"]');
    await accepted.getByTestId('send-json-button').click();
    await expect(client.locator(logEntries('data'))).toHaveText(['data [true,null,"ü"]']);

    await client.getByTestId('send-file').setInputFiles({ name: 'hello.txt', mimeType: 'text/plain', buffer: Buffer.from('hi there') });
    await expect(accepted.locator(logEntries('data')).nth(1)).toHaveText(
      'data {"name":"hello.txt","type":"text/plain","bytes":"bytes(8) 68 69 20 74 68 65 72 65"}',
    );

    await client.getByTestId('close-button').click();
    await expect(client).toHaveAttribute('data-state', 'closed');
    await expect(accepted).toHaveAttribute('data-state', 'closed');
    await expect(accepted.locator(logEntries('close'))).toHaveCount(1);
    await expect(accepted.locator(logEntries('error'))).toHaveCount(0);
    // A listener outlives the connections it accepted.
    await expect(listener).toHaveAttribute('data-state', 'listening');
    await expect(pageA.getByTestId('problem')).toBeHidden();
  });

  test('values keep their types both ways, and values sent while connecting arrive once accepted', async ({ launchInstance }) => {
    const { pageB, inA, inB } = await launchPairWithHarness(launchInstance);
    const dataOf = async (h: ReturnType<typeof harness>, key: string) => (await h.events(key)).filter((e) => e.event === 'data').map((e) => e.value);

    await inA.listen('listener', NAME);
    await expect.poll(() => inA.eventNames('listener')).toEqual(['listening']);
    // One evaluate, so both values are sent while still connecting: queued, they must arrive in order once A accepts.
    const stateWhenSent = await pageB.evaluate((name) => {
      const e2e = (globalThis as unknown as { e2e: Harness }).e2e;
      e2e.connect('client', name, null);
      e2e.sendRich('client');
      e2e.send('client', { plain: 'json', list: [1, 2] });
      return e2e.state('client');
    }, NAME);
    expect(stateWhenSent).toBe('connecting');

    await expect.poll(() => inA.accepted('listener')).toEqual(['listener/1']);
    await expect
      .poll(() => dataOf(inA, 'listener/1'))
      .toEqual([RICH_SUMMARY, { object: [['plain', 'json'], ['list', { array: [1, 2] }]] }]);
    expect((await inA.eventNames('listener/1'))[0]).toBe('connect');

    await inA.sendRich('listener/1');
    await expect.poll(() => dataOf(inB, 'client')).toEqual([RICH_SUMMARY]);
    const seenByB = await inB.eventNames('client');
    expect(seenByB[0]).toBe('connect');
    expect(seenByB.filter((event) => event === 'sent')).toHaveLength(2);
    expect(seenByB).not.toContain('error');
  });

  test('TCP on loopback: A binds port 0, B connects to the real port, values go both ways', async ({ launchInstance }) => {
    const { inA, inB } = await launchPairWithHarness(launchInstance);

    await inA.listen('listener', '127.0.0.1', 0);
    await expect.poll(() => inA.eventNames('listener')).toEqual(['listening']);
    const { port } = await inA.address('listener');
    if (port === undefined || port === 0) throw new Error(`the listener should report its real port, not ${String(port)}`);

    await inB.connect('client', '127.0.0.1', port);
    await expect.poll(() => inB.eventNames('client')).toEqual(['connect']);
    await inB.send('client', 'over TCP');
    await expect.poll(async () => (await inA.events('listener/1')).find((e) => e.event === 'data')?.value).toBe('over TCP');
    await inA.send('listener/1', 42);
    await expect.poll(async () => (await inB.events('client')).find((e) => e.event === 'data')?.value).toBe(42);
  });
});
