/**
 * §6 policy: the main process decides each connect/listen a page asks for. A refused
 * request reaches the page as ERR_DATASOCKET_NOT_ALLOWED, then close — with the
 * library's default policy (TCP only on loopback) and with an app's own policy.
 */
import fs from 'node:fs';
import { expect } from '@playwright/test';
import { ErrorCode } from '../../src/shared/errors.js';
import { test } from '../../src/testing/index.js';
import { useAppPages } from './helpers/app-pages.js';

test.describe('§6 the main process policy decides every request of a page', () => {
  const world = useAppPages({ default: {}, custom: { app: { policy: 'refuse-forbidden' } } });

  test('the default policy refuses TCP to a non-loopback address with ERR_DATASOCKET_NOT_ALLOWED, then close', async () => {
    const page = world.page.default;
    await page.connect('lan', { name: '10.255.255.1', port: 80 });
    await page.connect('dns', { name: 'example.com', port: 443 });
    for (const id of ['lan', 'dns']) {
      expect(await page.until(id, 'close')).toEqual([`error:${ErrorCode.NOT_ALLOWED}`, 'close']);
    }
    const listener = await page.listen('any', '0.0.0.0', 0);
    expect(listener.log).toEqual([`error:${ErrorCode.NOT_ALLOWED}`, 'close']);
  });

  test('the default policy allows local sockets and loopback TCP', async () => {
    const page = world.page.default;
    expect((await page.listen('local', 'allowed')).log).toEqual(['listening']);
    const tcp = await page.listen('tcp', '127.0.0.1', 0);
    expect(tcp.log).toEqual(['listening']);
    await page.connect('self', { name: '127.0.0.1', port: tcp.address.port! });
    await page.until('self', 'connect');
  });

  test("an app's own policy refuses what it refuses (names starting with 'forbidden-'), before anything is bound", async () => {
    const page = world.page.custom;
    const name = 'forbidden-listen';
    const listener = await page.listen('l', name);
    expect(listener.log).toEqual([`error:${ErrorCode.NOT_ALLOWED}`, 'close']);
    expect(listener.errors[0]!.message).toContain(name);
    expect(fs.existsSync(world.app.custom.socketFile(name))).toBe(false);
    await page.connect('c', { name: 'forbidden-connect' });
    expect(await page.until('c', 'close')).toEqual([`error:${ErrorCode.NOT_ALLOWED}`, 'close']);
    // The same app still allows what its policy allows.
    const allowed = await page.listen('ok', 'allowed');
    expect(allowed.log).toEqual(['listening']);
    expect(allowed.address.path).toBe(world.app.custom.socketFile('allowed'));
    expect(fs.existsSync(allowed.address.path!)).toBe(true);
  });
});
