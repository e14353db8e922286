/**
 * The set-up every describe here shares: some app instances (harness processes), one
 * browser context and one page each. After each test, every socket the pages hold is
 * closed and the pages must not have thrown (SPEC §2: an `error` nobody listens to is
 * never thrown either).
 *
 * By default the whole world is made for each test and torn down after it, inside the
 * test: the testing kit (electron-datasocket/testing) has set the test's
 * DATASOCKET_NAMESPACE and DATASOCKET_TRACE in this worker by then (its automatic
 * fixture is set up before beforeEach hooks and torn down after afterEach hooks), so
 * the harnesses inherit them — every socket of a test is in the test's namespace, and
 * the harnesses have exited, their traces written, before the kit reads the trace of a
 * failed test. The stand-in's own tests make no sockets and share one lab page per
 * describe (`scope: 'describe'`), started outside any test and so with no namespace.
 */
import type { Browser, BrowserContext } from '@playwright/test';
import { expect } from '@playwright/test';
import { test } from '../../../src/testing/index.js';
import { AppInstance, type AppInstanceOptions } from './app-instance.js';
import { AppPage } from './app-page.js';

/** One instance and its page: the page is what the instance serves. */
export interface InstanceSpec {
  app?: AppInstanceOptions;
}

/** Filled in before each test (or, with scope 'describe', before the describe's first); read it inside tests. */
export interface AppPages<K extends string> {
  readonly app: Record<K, AppInstance>;
  readonly context: Record<K, BrowserContext>;
  readonly page: Record<K, AppPage>;
}

/** How useAppPages sets up. */
export interface AppPagesOptions {
  /**
   * Every instance runs in the first one's runtime dir, as instances of one app in one
   * user session do (same socket directory, same election key).
   */
  oneSession?: boolean;
  /** 'test' (default): a new world for each test, in its namespace. 'describe': one for the describe (the stand-in's lab only). */
  scope?: 'test' | 'describe';
}

/**
 * Registers the hooks on the current describe for one instance and page per key of
 * `specs`; each instance is labelled with its key in the trace (`A frame 1`).
 */
export function useAppPages<K extends string>(specs: Record<K, InstanceSpec>, options: AppPagesOptions = {}): AppPages<K> {
  const keys = Object.keys(specs) as K[];
  const world = { app: {}, context: {}, page: {} } as { app: Record<K, AppInstance>; context: Record<K, BrowserContext>; page: Record<K, AppPage> };
  const optionsOf = (k: K): AppInstanceOptions => ({ label: k, ...specs[k].app });

  async function setUp(browser: Browser): Promise<void> {
    // A test's world is its own: nothing of the previous test's is reachable.
    world.app = {} as Record<K, AppInstance>;
    world.context = {} as Record<K, BrowserContext>;
    world.page = {} as Record<K, AppPage>;
    if (options.oneSession === true) {
      const [first, ...rest] = keys;
      world.app[first!] = await AppInstance.start(optionsOf(first!));
      const runtimeDir = world.app[first!].runtimeDir;
      const apps = await AppInstance.startAll(...rest.map((k) => ({ ...optionsOf(k), runtimeDir })));
      rest.forEach((k, i) => (world.app[k] = apps[i]!));
    } else {
      const apps = await AppInstance.startAll(...keys.map(optionsOf));
      keys.forEach((k, i) => (world.app[k] = apps[i]!));
    }
    await Promise.all(
      keys.map(async (k) => {
        world.context[k] = await browser.newContext();
        world.page[k] = await AppPage.open(world.context[k], world.app[k]);
      }),
    );
  }

  /** Closes the pages' sockets and returns what the pages threw (taken: a failure belongs to the test that caused it). */
  async function closeSockets(): Promise<[AppPage, string[]][]> {
    const pages = keys.map((k) => world.page[k]).filter((p) => p !== undefined && !p.page.isClosed());
    await Promise.all(pages.map((p) => p.closeAll()));
    return pages.map((p) => [p, p.pageErrors.splice(0)]);
  }

  async function tearDown(): Promise<void> {
    await Promise.all(keys.map((k) => world.context[k]?.close()));
    // In one session the first instance owns the runtime dir the others use: it stops last.
    const owner = options.oneSession === true ? keys.slice(0, 1) : [];
    await Promise.all(keys.filter((k) => !owner.includes(k)).map((k) => world.app[k]?.stop()));
    await Promise.all(owner.map((k) => world.app[k]?.stop()));
  }

  function expectNoErrors(thrown: [AppPage, string[]][]): void {
    for (const [p, errors] of thrown) expect(errors, `uncaught errors in a page of ${p.app.runtimeDir}`).toEqual([]);
  }

  if (options.scope === 'describe') {
    test.beforeAll(async ({ browser }) => setUp(browser));
    test.afterEach(async () => expectNoErrors(await closeSockets()));
    test.afterAll(tearDown);
  } else {
    // The namespace fixture is named so that the order is explicit, not only Playwright's rule that automatic fixtures come first.
    test.beforeEach(async ({ browser, datasocketNamespace }) => {
      void datasocketNamespace;
      await setUp(browser);
    });
    test.afterEach(async () => {
      let thrown: [AppPage, string[]][] = [];
      try {
        thrown = await closeSockets();
      } finally {
        await tearDown();
      }
      expectNoErrors(thrown);
    });
  }

  return world;
}
