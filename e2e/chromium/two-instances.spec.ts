/**
 * §6 (and §2, §5): two app instances — two harness processes standing for two Electron
 * main processes, each with its own runtime dir, and one page each in its own browser
 * context — talk page to page through real sockets that their main processes own,
 * over a Unix socket and over TCP on 127.0.0.1, each page as listener and as client.
 */
import fs from 'node:fs';
import { expect } from '@playwright/test';
import { ErrorCode } from '../../src/shared/errors.js';
import { test } from '../../src/testing/index.js';
import { AppInstance } from './helpers/app-instance.js';
import { AppPage, reachOf } from './helpers/app-page.js';
import { useAppPages } from './helpers/app-pages.js';

const TRANSPORTS = [
  // A fixed bare name: each test's instances are its own, and resolve it in the test's namespace.
  { name: 'a Unix socket', endpoint: (): { name: string; port?: number } => ({ name: 'page' }) },
  { name: 'TCP on 127.0.0.1', endpoint: (): { name: string; port?: number } => ({ name: '127.0.0.1', port: 0 }) },
];

test.describe('§6 two app instances: a page listens, a page of the other instance connects', () => {
  const world = useAppPages({ A: {}, B: {} });

  for (const transport of TRANSPORTS) {
    for (const [L, C] of [['A', 'B'], ['B', 'A']] as const) {
      test(`over ${transport.name}: page ${L} listens, page ${C} connects; ${L}'s acceptor runs, then values go both ways and close is clean`, async ({ datasocketNamespace }) => {
        const listenerPage = world.page[L];
        const clientPage = world.page[C];
        const at = transport.endpoint();
        const listener = await listenerPage.listen('l', at.name, at.port, { verdict: 'yes' });
        expect(listener.log).toEqual(['listening']);
        if (at.port === undefined) {
          // The socket file is where SPEC §5 puts it, in the listening instance's runtime dir, inside the test's namespace (§13).
          expect(listener.address.path).toBe(listenerPage.app.socketFile(at.name));
          expect(listenerPage.app.namespace).toBe(datasocketNamespace);
          expect(fs.statSync(listener.address.path!).isSocket()).toBe(true);
        } else {
          expect(listener.address.port).toBeGreaterThan(0);
        }

        expect(await clientPage.connect('c', reachOf(listener))).toBe('connecting');
        await clientPage.until('c', 'connect');
        const [acceptedId] = (await listenerPage.snapshot('l')).accepted;
        expect(acceptedId).toBeDefined();
        await listenerPage.until(acceptedId!, 'connect');
        expect((await listenerPage.snapshot(acceptedId!)).stateInAcceptor).toBe('connecting');

        await clientPage.send('c', `hello from ${C}`);
        await listenerPage.until(acceptedId!, 'data');
        await listenerPage.send(acceptedId!, `hello back from ${L}`);
        await clientPage.until('c', 'data');

        const client = await clientPage.snapshot('c');
        expect(client.log).toEqual(['connect', 'data']);
        expect(client.values).toEqual([`hello back from ${L}`]);
        expect(client.state).toBe('open');
        expect(client.active).toBe(true);
        const accepted = await listenerPage.snapshot(acceptedId!);
        expect(accepted.log).toEqual(['connect', 'data']);
        expect(accepted.values).toEqual([`hello from ${C}`]);
        if (at.port !== undefined) expect(accepted.address.name).toBe('127.0.0.1');

        await clientPage.run((d) => d.socket('c').close(), null);
        expect(await listenerPage.until(acceptedId!, 'close')).toEqual(['connect', 'data', 'close']);
        expect(await clientPage.until('c', 'close')).toEqual(['connect', 'data', 'close']);
      });

      test(`over ${transport.name}: an acceptor in page ${L} that says no gives page ${C} ERR_DATASOCKET_REJECTED, then close`, async () => {
        const listenerPage = world.page[L];
        const clientPage = world.page[C];
        const at = transport.endpoint();
        const listener = await listenerPage.listen('l', at.name, at.port, { verdict: 'no' });
        await clientPage.connect('c', reachOf(listener));
        expect(await clientPage.until('c', 'close')).toEqual([`error:${ErrorCode.REJECTED}`, 'close']);
        // The acceptor did run, and the refused connection never opened on the listening side.
        await listenerPage.until('l', 'accepted');
        const refused = await listenerPage.snapshot('l#1');
        expect(refused.log).not.toContain('connect');
        expect(refused.values).toEqual([]);
        expect((await listenerPage.snapshot('l')).state).toBe('listening');
      });
    }
  }

  test('two instances in one user session (one runtime dir) find each other by bare name', async ({ browser }) => {
    // Started in the test, so in its namespace too, as the instances of one app started by one test are.
    const sibling = await AppInstance.start({ runtimeDir: world.app.A.runtimeDir, label: 'sibling' });
    const context = await browser.newContext();
    try {
      const siblingPage = await AppPage.open(context, sibling);
      const name = 'shared';
      await world.page.A.listen('l', name);
      await siblingPage.connect('c', { name });
      await siblingPage.until('c', 'connect');
      await siblingPage.send('c', 'by name');
      await world.page.A.until('l#1', 'data');
      expect((await world.page.A.snapshot('l#1')).values).toEqual(['by name']);
      expect(siblingPage.pageErrors).toEqual([]);
    } finally {
      await context.close();
      await sibling.stop();
    }
  });

  test('a token is proven across instances; a wrong one fails both sides with ERR_DATASOCKET_AUTH_FAILED', async () => {
    const { A, B } = world.page;
    const listener = await A.listen('l', '127.0.0.1', 0, { verdict: 'yes' }, { token: 'shared secret' });
    await B.connect('good', reachOf(listener), { token: 'shared secret' });
    await B.until('good', 'connect');
    await B.connect('wrong', reachOf(listener), { token: 'another secret' });
    expect(await B.until('wrong', 'close')).toEqual([`error:${ErrorCode.AUTH_FAILED}`, 'close']);
    // The listener hears of the failed handshake and keeps listening; its acceptor never saw that peer.
    expect(await A.until('l', 'clientError')).toContain(`clientError:${ErrorCode.AUTH_FAILED}`);
    const snapshot = await A.snapshot('l');
    expect(snapshot.state).toBe('listening');
    expect(snapshot.accepted).toEqual(['l#1']);
  });
});
