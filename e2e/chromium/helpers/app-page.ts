/**
 * One page of an app instance, open in Chromium, with the page driver installed:
 * typed shortcuts for what the tests do in pages, and every uncaught page error and
 * console error kept for the tests to check.
 */
import type { BrowserContext, JSHandle, Page } from '@playwright/test';
import type { AppInstance } from './app-instance.js';
import { createDriver, type AcceptPlan, type MemberSnapshot, type PageDriver, type Snapshot } from './page-driver.js';
import { createValueKit } from './page-values.js';

/** Where a page can reach a listener of another page: its path (local) or 127.0.0.1 and its port (TCP). */
export interface Reach {
  name: string;
  port?: number;
}

/** A page of an app instance. */
export class AppPage {
  readonly page: Page;
  readonly app: AppInstance;
  /** Uncaught errors in the page (and its isolated realm). */
  readonly pageErrors: string[] = [];
  /** console.error and console.warn lines of the page. */
  readonly consoleLines: string[] = [];
  #driver: JSHandle<PageDriver> | null = null;

  private constructor(page: Page, app: AppInstance) {
    this.page = page;
    this.app = app;
    page.on('pageerror', (error) => this.pageErrors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning') this.consoleLines.push(message.text());
    });
  }

  /** Opens a page of `app` in `context` (one context per app instance, like one app's session). */
  static async open(context: BrowserContext, app: AppInstance): Promise<AppPage> {
    const appPage = new AppPage(await context.newPage(), app);
    await appPage.#load(() => appPage.page.goto(app.pageUrl()));
    return appPage;
  }

  async #load(navigate: () => Promise<unknown>): Promise<void> {
    this.#driver = null;
    const from = this.app.events.length;
    await navigate();
    if (this.app.preload !== 'datasocket') return;
    try {
      const kit = await this.page.evaluateHandle(createValueKit);
      this.#driver = await this.page.evaluateHandle(createDriver, kit);
    } catch (error) {
      // Say why the preload did not run, if the page said it.
      throw new Error(`${(error as Error).message}\npage errors: ${JSON.stringify(this.pageErrors)}\nconsole: ${JSON.stringify(this.consoleLines)}`);
    }
    // The preload hands its port over as the document loads, but main may take it after the load event: a page is
    // ready once main has it, so that a test reading the harness's events from here on sees only what it caused.
    await this.app.waitFor((e) => e.ev === 'port', 10_000, from);
  }

  /** The driver in the current document. */
  get driver(): JSHandle<PageDriver> {
    if (this.#driver === null) throw new Error('this page has no driver (no DataSocket preload)');
    return this.#driver;
  }

  /** Reloads the page: a new document, a new port, a new driver. */
  async reload(): Promise<void> {
    await this.#load(() => this.page.reload());
  }

  /** Runs `fn` in the page with the driver. */
  run<R, A>(fn: (driver: PageDriver, arg: A) => R | Promise<R>, arg: A): Promise<R> {
    return this.driver.evaluate(fn as never, arg) as Promise<R>;
  }

  /** Connects; returns the state right after `connect()` returned. */
  connect(id: string, to: Reach, options?: object): Promise<string> {
    return this.run((d, a) => d.connect(a.id, a.name, a.port, a.options), { id, ...to, options });
  }

  /** Listens and waits until bound (or failed); returns the listener's snapshot. */
  async listen(id: string, name: string, port?: number, plan: AcceptPlan = { verdict: 'yes' }, options?: object): Promise<Snapshot> {
    await this.run((d, a) => d.listen(a.id, a.name, a.port, a.plan, a.options), { id, name, port, plan, options });
    await this.run(
      (d, a) =>
        Promise.race([d.until(a.id, 'listening'), d.until(a.id, 'close')]),
      { id },
    );
    return this.snapshot(id);
  }

  /** Joins the rendezvous at `name` (connectOrListen, accepting every follower) as member `id`; returns the role right after the call. */
  join(id: string, name: string, port?: number, options?: object): Promise<string> {
    return this.run((d, a) => d.join(a.id, a.name, a.port, a.options), { id, name, port, options });
  }

  member(id: string): Promise<MemberSnapshot> {
    return this.run((d, a) => d.member(a.id), { id });
  }

  /** Waits until member `id` logged `event` ('role:leader', 'connection', …) `count` times; returns its snapshot. */
  untilMember(id: string, event: string, count = 1, timeoutMs = 10_000): Promise<MemberSnapshot> {
    return this.run((d, a) => d.untilMember(a.id, a.event, a.count, a.timeoutMs), { id, event, count, timeoutMs });
  }

  /** Sends a JSON-able value; returns what send() returned. */
  send(id: string, value: unknown): Promise<boolean> {
    return this.run((d, a) => d.send(a.id, a.value), { id, value });
  }

  /** Waits until socket `id` logged `event` `count` times; returns its log. */
  until(id: string, event: string, count = 1, timeoutMs = 10_000): Promise<string[]> {
    return this.run((d, a) => d.until(a.id, a.event, a.count, a.timeoutMs), { id, event, count, timeoutMs });
  }

  snapshot(id: string): Promise<Snapshot> {
    return this.run((d, a) => d.snapshot(a.id), { id });
  }

  /** Closes every socket the driver holds. */
  async closeAll(): Promise<void> {
    if (this.#driver !== null) await this.run((d) => d.closeAll(), null);
  }
}

/** How a page of another instance reaches a bound listener: by its socket file's path, or by 127.0.0.1 and its port. */
export function reachOf(listener: Snapshot): Reach {
  const { path, port } = listener.address;
  if (port !== undefined) return { name: '127.0.0.1', port };
  if (path === undefined) throw new Error(`listener ${listener.id} is not bound: ${JSON.stringify(listener)}`);
  return { name: path };
}
