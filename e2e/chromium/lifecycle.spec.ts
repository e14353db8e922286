/**
 * §6 ownership and cleanup: when a page's document goes away (reload, navigation,
 * closed tab) its frame's port closes, and the main process closes every socket the
 * page held at once and removes its listeners' socket files. Peers are a page of
 * another app instance and a DataSocketProbe (a Node DataSocket) in the test process.
 */
import fs from 'node:fs';
import { expect } from '@playwright/test';
import { DataSocketProbe, test } from '../../src/testing/index.js';
import { AppPage, reachOf } from './helpers/app-page.js';
import { useAppPages } from './helpers/app-pages.js';

test.describe('§6 a page that goes away closes all its sockets at once and removes its socket files', () => {
  const world = useAppPages({ owner: {}, other: {} });
  let owner!: AppPage;
  let other!: AppPage;
  test.beforeEach(() => {
    ({ owner, other } = world.page);
  });

  test('reloading closes every socket of the page: the other page and a Node peer see a clean close, the socket file is gone, and the new document starts afresh', async () => {
    // The test process's peer: its socket file is in this process's socket directory, so the page reaches it by path.
    const peer = DataSocketProbe.listen('peer');
    try {
      await peer.ready();
      // The page holds: a local listener and a TCP listener, a connection accepted by each, and a client to the Node peer.
      const name = 'reload';
      const local = await owner.listen('local', name);
      const file = world.app.owner.socketFile(name);
      expect(local.address.path).toBe(file);
      expect(fs.existsSync(file)).toBe(true);
      const tcp = await owner.listen('tcp', '127.0.0.1', 0);
      await other.connect('inLocal', reachOf(local));
      await other.connect('inTcp', reachOf(tcp));
      await owner.connect('out', { name: peer.address.path! });
      await Promise.all([other.until('inLocal', 'connect'), other.until('inTcp', 'connect'), owner.until('out', 'connect')]);
      await peer.connection();

      const seen = world.app.owner.events.length;
      await owner.reload();

      // All five at once, by one dispose of the page's host.
      expect(await world.app.owner.waitFor((e) => e.ev === 'disposed', 5_000, seen)).toMatchObject({ ev: 'disposed', reason: 'port-closed', sockets: 5 });
      await expect.poll(() => fs.existsSync(file), { timeout: 2_000 }).toBe(false);
      expect(await other.until('inLocal', 'close')).toEqual(['connect', 'close']);
      expect(await other.until('inTcp', 'close')).toEqual(['connect', 'close']);
      // Clean: the connection closed, and the peer's socket reported no error (a reset would be ECONNRESET here).
      await expect.poll(() => peer.connections, { timeout: 5_000 }).toBe(0);
      expect(peer.errors).toEqual([]);

      // The new document got a new port (a new host) and may take the same name again.
      // (Its preload runs as the document loads, which may come after the old one's sockets closed: wait for it.)
      await expect.poll(() => world.app.owner.events.slice(seen).filter((e) => e.ev === 'port').length, { timeout: 5_000 }).toBe(1);
      const again = await owner.listen('local', name);
      expect(again.log).toEqual(['listening']);
      expect(fs.existsSync(file)).toBe(true);
    } finally {
      await peer.close();
    }
  });

  for (const [how, leave] of [
    ['navigating to another page', (p: AppPage) => p.page.goto('about:blank')],
    ['closing the tab', (p: AppPage) => p.page.close()],
  ] as const) {
    test(`${how} does the same: the peer sees close and the socket file is gone`, async () => {
      const page = await AppPage.open(world.context.owner, world.app.owner);
      const name = 'leave';
      const listener = await page.listen('l', name);
      await other.connect('in', reachOf(listener));
      await other.until('in', 'connect');
      await page.until('l#1', 'connect');
      const seen = world.app.owner.events.length;
      await leave(page);
      expect(await world.app.owner.waitFor((e) => e.ev === 'disposed', 5_000, seen)).toMatchObject({ sockets: 2 });
      expect(await other.until('in', 'close')).toEqual(['connect', 'close']);
      await expect.poll(() => fs.existsSync(listener.address.path!), { timeout: 2_000 }).toBe(false);
      if (!page.page.isClosed()) await page.page.close();
    });
  }
});
