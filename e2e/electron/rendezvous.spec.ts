/**
 * Instances that find each other (SPEC §9), in the demo window's "Find each other"
 * panel: three instances of the demo app, each with its own userData, join one name;
 * exactly one leads and shows its two followers, a line goes to every link, and
 * closing the leader's window hands over to another instance within 1 s.
 */
import { expect, type Page } from '@playwright/test';
import { test, type DataSocketFixtures, type DataSocketInstance } from '../../src/testing/index.js';
import { demoApp, demoWindow, noElectron } from './demo-app.js';

test.skip(noElectron !== null, noElectron ?? '');

/** Bare names resolve in each test's own namespace (the kit's datasocketNamespace): a fixed name never meets another test's. */
const NAME = 'group';

const linkCards = '[data-testid="socket"][data-kind="link"]';
const logEntries = (event: string) => `[data-testid="log-entry"][data-event="${event}"]`;

/** What the role indicator of a demo window says. */
function roleOf(page: Page): Promise<string | null> {
  return page.getByTestId('role').getAttribute('data-role');
}

/** Notes, in the page, when its role indicator first says 'leader' (the page's Date.now()). */
async function noteWhenLeading(page: Page): Promise<void> {
  await page.evaluate(() => {
    // The page's DOM, typed here as far as used (this file is type-checked without the DOM library).
    type Indicator = { dataset: Record<string, string | undefined> };
    const g = globalThis as unknown as {
      document: { querySelector(selector: string): Indicator };
      MutationObserver: new (callback: () => void) => { observe(target: Indicator, options: object): void };
      e2eLedAt?: number;
    };
    const role = g.document.querySelector('[data-testid="role"]');
    new g.MutationObserver(() => {
      if (role.dataset['role'] === 'leader') g.e2eLedAt ??= Date.now();
    }).observe(role, { attributes: true, attributeFilter: ['data-role'] });
  });
}

function ledAt(page: Page): Promise<number | undefined> {
  return page.evaluate(() => (globalThis as unknown as { e2eLedAt?: number }).e2eLedAt);
}

/** One instance of the demo and its window. */
interface Demo {
  instance: DataSocketInstance;
  page: Page;
}

/** Launches an instance of the demo and opens its window. */
async function launchDemo(launchInstance: DataSocketFixtures['launchInstance'], label: string): Promise<Demo> {
  const instance = await launchInstance(demoApp(label));
  return { instance, page: await demoWindow(instance) };
}

test.describe('§9 instances of the demo find each other', () => {
  test('three instances join one name: one leads with two followers linked, a line reaches every link, and closing the leader’s window hands over within 1 s', async ({ launchInstance }) => {
    const apps = [await launchDemo(launchInstance, 'a'), await launchDemo(launchInstance, 'b'), await launchDemo(launchInstance, 'c')];
    expect(new Set(apps.map(({ instance }) => instance.userDataDir)).size).toBe(3);
    for (const { page } of apps) {
      await expect(page.getByTestId('role')).toHaveAttribute('data-role', 'none');
      await page.getByTestId('join-name').fill(NAME);
    }
    // All three at once: the election must still end with exactly one leader.
    await Promise.all(apps.map(({ page }) => page.getByTestId('join-button').click()));

    await expect.poll(async () => (await Promise.all(apps.map(({ page }) => roleOf(page)))).sort()).toEqual(['follower', 'follower', 'leader']);
    const roles = await Promise.all(apps.map(({ page }) => roleOf(page)));
    const leader = apps[roles.indexOf('leader')]!;
    const followers = apps.filter((a) => a !== leader);
    await expect(leader.page.getByTestId('link-count')).toHaveAttribute('data-count', '2');
    await expect(leader.page.getByTestId('link-count')).toHaveText('2 followers linked');
    await expect(leader.page.locator(linkCards)).toHaveCount(2);
    for (const { page } of followers) {
      await expect(page.getByTestId('link-count')).toHaveText('linked to the leader');
      await expect(page.locator(linkCards)).toHaveCount(1);
    }

    // The leader sends one line to every link; a follower answers on its link.
    await leader.page.getByTestId('broadcast-text').fill('hello, group');
    await leader.page.getByTestId('broadcast-button').click();
    for (const { page } of followers) await expect(page.locator(linkCards).locator(logEntries('data'))).toHaveText(['data "hello, group"']);
    const answering = followers[0]!.page.locator(linkCards);
    await answering.getByTestId('send-json').fill('{"from": "a follower"}');
    await answering.getByTestId('send-json-button').click();
    await expect(leader.page.locator(linkCards).locator(logEntries('data'))).toHaveText(['data {"from":"a follower"}']);

    for (const { page } of followers) await noteWhenLeading(page);
    const closedAt = Date.now();
    await leader.instance.app.evaluate(({ BrowserWindow }) => {
      for (const window of BrowserWindow.getAllWindows()) window.close();
    });

    await expect
      .poll(async () => (await Promise.all(followers.map(({ page }) => roleOf(page)))).sort(), { timeout: 5_000 })
      .toEqual(['follower', 'leader']);
    const after = await Promise.all(followers.map(({ page }) => roleOf(page)));
    const newLeader = followers[after.indexOf('leader')]!;
    const stillFollowing = followers.find((a) => a !== newLeader)!;
    expect((await ledAt(newLeader.page))! - closedAt).toBeLessThan(1_000);
    expect(await ledAt(stillFollowing.page)).toBeUndefined();
    // The third instance follows the new leader over a new link; the old links closed.
    await expect(newLeader.page.getByTestId('link-count')).toHaveAttribute('data-count', '1');
    await expect(stillFollowing.page.getByTestId('link-count')).toHaveText('linked to the leader');
    await expect(stillFollowing.page.locator(linkCards)).toHaveCount(2);
    await expect(stillFollowing.page.locator(linkCards).first()).toHaveAttribute('data-state', 'closed');
    await newLeader.page.getByTestId('broadcast-text').fill('"from the new leader"');
    await newLeader.page.getByTestId('broadcast-button').click();
    await expect(stillFollowing.page.locator(linkCards).last().locator(logEntries('data'))).toHaveText(['data "from the new leader"']);
    for (const { page } of followers) await expect(page.getByTestId('problem')).toBeHidden();
  });

  test('Leave stops leading: the socket is handed to a follower, the leaving window shows it is not joined and may join again as a follower', async ({ launchInstance }) => {
    const a = await launchDemo(launchInstance, 'a');
    const b = await launchDemo(launchInstance, 'b');
    await a.page.getByTestId('join-name').fill(NAME);
    await a.page.getByTestId('join-button').click();
    await expect(a.page.getByTestId('role')).toHaveAttribute('data-role', 'leader');
    await b.page.getByTestId('join-name').fill(NAME);
    await b.page.getByTestId('join-button').click();
    await expect(b.page.getByTestId('role')).toHaveAttribute('data-role', 'follower');
    await expect(a.page.getByTestId('link-count')).toHaveText('1 follower linked');

    await a.page.getByTestId('leave-button').click();
    await expect(a.page.getByTestId('role')).toHaveAttribute('data-role', 'none');
    await expect(b.page.getByTestId('role')).toHaveAttribute('data-role', 'leader');
    await expect(a.page.locator(linkCards)).toHaveAttribute('data-state', 'closed');

    await a.page.getByTestId('join-button').click();
    await expect(a.page.getByTestId('role')).toHaveAttribute('data-role', 'follower');
    await expect(b.page.getByTestId('link-count')).toHaveText('1 follower linked');
  });
});
