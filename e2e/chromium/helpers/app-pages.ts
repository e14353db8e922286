/**
 * The set-up every describe here shares: some app instances (harness processes), one
 * browser context and one page each, started once for the describe and torn down
 * after it. After each test, every socket the pages hold is closed and the pages must
 * not have thrown (SPEC §2: an `error` nobody listens to is never thrown either).
 */
import { expect, test, type BrowserContext } from '@playwright/test';
import { AppInstance, type AppInstanceOptions } from './app-instance.js';
import { AppPage } from './app-page.js';

/** One instance and its page: the page is what the instance serves. */
export interface InstanceSpec {
  app?: AppInstanceOptions;
}

/** Filled in by the describe's beforeAll; read it inside tests. */
export interface AppPages<K extends string> {
  readonly app: Record<K, AppInstance>;
  readonly context: Record<K, BrowserContext>;
  readonly page: Record<K, AppPage>;
}

/**
 * Registers the hooks on the current describe for one instance and page per key of
 * `specs`. `keepSockets`: leave the pages' sockets open between tests (for a describe
 * whose tests share one connection made in its own beforeAll). `oneSession`: every
 * instance runs in the first one's runtime dir, as instances of one app in one user
 * session do (same socket directory, same election key).
 */
export function useAppPages<K extends string>(specs: Record<K, InstanceSpec>, options: { keepSockets?: boolean; oneSession?: boolean } = {}): AppPages<K> {
  const keys = Object.keys(specs) as K[];
  const world = { app: {}, context: {}, page: {} } as { app: Record<K, AppInstance>; context: Record<K, BrowserContext>; page: Record<K, AppPage> };

  test.beforeAll(async ({ browser }) => {
    if (options.oneSession === true) {
      const [first, ...rest] = keys;
      world.app[first!] = await AppInstance.start(specs[first!].app ?? {});
      const runtimeDir = world.app[first!].runtimeDir;
      const apps = await AppInstance.startAll(...rest.map((k) => ({ ...specs[k].app, runtimeDir })));
      rest.forEach((k, i) => (world.app[k] = apps[i]!));
    } else {
      const apps = await AppInstance.startAll(...keys.map((k) => specs[k].app ?? {}));
      keys.forEach((k, i) => (world.app[k] = apps[i]!));
    }
    for (const k of keys) {
      world.context[k] = await browser.newContext();
      world.page[k] = await AppPage.open(world.context[k], world.app[k]);
    }
  });

  test.afterEach(async () => {
    const pages = keys.map((k) => world.page[k]).filter((p) => p !== undefined && !p.page.isClosed());
    if (options.keepSockets !== true) await Promise.all(pages.map((p) => p.closeAll()));
    // Taken, not just read: a failure belongs to the test that caused it, not to every test after it.
    for (const p of pages) expect(p.pageErrors.splice(0), `uncaught errors in a page of ${p.app.runtimeDir}`).toEqual([]);
  });

  test.afterAll(async () => {
    await Promise.all(keys.map((k) => world.context[k]?.close()));
    // In one session the first instance owns the runtime dir the others use: it stops last.
    const owner = options.oneSession === true ? keys.slice(0, 1) : [];
    await Promise.all(keys.filter((k) => !owner.includes(k)).map((k) => world.app[k]?.stop()));
    await Promise.all(owner.map((k) => world.app[k]?.stop()));
  });

  return world;
}
