/**
 * §6 ownership and cleanup: when a page's document goes away (reload, navigation,
 * closed tab) its frame's port closes, and the main process closes every socket the
 * page held at once and removes its listeners' socket files. Peers are a page of
 * another app instance and a plain Node process (test/fixtures/peer.ts).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from '@playwright/test';
import { Peer } from '../../test/helpers/peer.js';
import { test } from '../../src/testing/index.js';
import { AppPage, reachOf, uniqueName } from './helpers/app-page.js';
import { useAppPages } from './helpers/app-pages.js';

test.describe('§6 a page that goes away closes all its sockets at once and removes its socket files', () => {
  const world = useAppPages({ owner: {}, other: {} });
  let owner!: AppPage;
  let other!: AppPage;
  test.beforeEach(() => {
    ({ owner, other } = world.page);
  });

  test('reloading closes every socket of the page: the other page and a Node process see a clean close, the socket file is gone, and the new document starts afresh', async () => {
    const peerDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ds-e2e-peer-'));
    const peer = new Peer({ XDG_RUNTIME_DIR: peerDir });
    try {
      // The page holds: a local listener and a TCP listener, a connection accepted by each, and a client to the Node process.
      const name = uniqueName('reload');
      const local = await owner.listen('local', name);
      const file = world.app.owner.socketFile(name);
      expect(local.address.path).toBe(file);
      expect(fs.existsSync(file)).toBe(true);
      const tcp = await owner.listen('tcp', '127.0.0.1', 0);
      await other.connect('inLocal', reachOf(local));
      await other.connect('inTcp', reachOf(tcp));
      await peer.run({ op: 'listen', name: uniqueName('peer'), acceptor: 'yes' });
      const peerAt = (await peer.next('listening', 'listener')) as unknown as { address: { path: string } };
      await owner.connect('out', { name: peerAt.address.path });
      await Promise.all([other.until('inLocal', 'connect'), other.until('inTcp', 'connect'), owner.until('out', 'connect')]);
      const accepted = (await peer.waitFor((e) => e.ev === 'accepted')) as { id: string };
      await peer.next('connect', accepted.id);

      const seen = world.app.owner.events.length;
      await owner.reload();

      // All five at once, by one dispose of the page's host.
      expect(await world.app.owner.waitFor((e) => e.ev === 'disposed', 5_000, seen)).toMatchObject({ ev: 'disposed', reason: 'port-closed', sockets: 5 });
      await expect.poll(() => fs.existsSync(file), { timeout: 2_000 }).toBe(false);
      expect(await other.until('inLocal', 'close')).toEqual(['connect', 'close']);
      expect(await other.until('inTcp', 'close')).toEqual(['connect', 'close']);
      await peer.next('close', accepted.id);
      expect(peer.events.filter((e) => e.ev === 'error')).toEqual([]);

      // The new document got a new port (a new host) and may take the same name again.
      // (Its preload runs as the document loads, which may come after the old one's sockets closed: wait for it.)
      await expect.poll(() => world.app.owner.events.slice(seen).filter((e) => e.ev === 'port').length, { timeout: 5_000 }).toBe(1);
      const again = await owner.listen('local', name);
      expect(again.log).toEqual(['listening']);
      expect(fs.existsSync(file)).toBe(true);
    } finally {
      await peer.stop();
      fs.rmSync(peerDir, { recursive: true, force: true });
    }
  });

  for (const [how, leave] of [
    ['navigating to another page', (p: AppPage) => p.page.goto('about:blank')],
    ['closing the tab', (p: AppPage) => p.page.close()],
  ] as const) {
    test(`${how} does the same: the peer sees close and the socket file is gone`, async () => {
      const page = await AppPage.open(world.context.owner, world.app.owner);
      const name = uniqueName('leave');
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
