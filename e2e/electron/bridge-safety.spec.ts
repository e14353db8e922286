/**
 * What the Electron bridge refuses, and what it never gives the page: the
 * acceptor's verdict (SPEC §2), the default policy (§6), a page that sees
 * `window.Net.DataSocket` and nothing else (§6), under a strict CSP.
 */
import { expect } from '@playwright/test';
import type { NetApi } from '../../src/renderer/index.js';
import { test } from '../../src/testing/index.js';
import { demoApp, demoWindow, launchPairWithHarness, noElectron } from './demo-app.js';
import { harness, installHarness } from './page-harness.js';

test.skip(noElectron !== null, noElectron ?? '');

/** Bare names resolve in each test's own namespace (the kit's datasocketNamespace): a fixed name never meets another test's. */
const NAME = 'safety';

/** The little of the DOM the CSP check uses (the e2e code is type-checked without the DOM library). */
interface PageDom {
  document: {
    head: { append(node: unknown): void };
    createElement(tag: 'script'): { textContent: string };
    addEventListener(type: 'securitypolicyviolation', listener: (event: { effectiveDirective: string }) => void): void;
  };
  inlineScriptRan?: boolean;
}

test.describe('§2 the acceptor decides', () => {
  test('a refusing acceptor: the client gets ERR_DATASOCKET_REJECTED then close, never connect; its queued value is dropped', async ({
    launchInstance,
  }) => {
    const { inA, inB } = await launchPairWithHarness(launchInstance);

    await inA.listen('listener', NAME, null, false);
    await expect.poll(() => inA.eventNames('listener')).toEqual(['listening']);
    await inB.connect('client', NAME);
    await inB.send('client', 'never delivered');

    await expect.poll(() => inB.events('client')).toEqual([{ event: 'error', code: 'ERR_DATASOCKET_REJECTED' }, { event: 'close' }]);
    expect(await inA.acceptorCalls('listener')).toBe(1);
    expect(await inA.accepted('listener')).toEqual([]);
    // The refused connection existed on A only as a candidate: no connect, no value, just its close.
    await expect.poll(() => inA.eventNames('listener/1')).toEqual(['close']);
    // The listener keeps listening after a refusal.
    expect(await inA.state('listener')).toBe('listening');
    expect(await inA.eventNames('listener')).toEqual(['listening']);
  });

  test('the demo window can refuse: B logs the rejection, A logs the refusal', async ({ launchInstance }) => {
    const pageA = await demoWindow(await launchInstance(demoApp('a')));
    const pageB = await demoWindow(await launchInstance(demoApp('b')));
    await pageA.getByTestId('listen-name').fill(NAME);
    await pageA.getByTestId('listen-refuse').check();
    await pageA.getByTestId('listen-button').click();
    const listener = pageA.locator('[data-testid="socket"][data-kind="listener"]');
    await expect(listener).toHaveAttribute('data-state', 'listening');

    await pageB.getByTestId('connect-name').fill(NAME);
    await pageB.getByTestId('connect-button').click();
    const client = pageB.locator('[data-testid="socket"][data-kind="client"]');
    await expect(client).toHaveAttribute('data-state', 'closed');
    await expect(client.locator('[data-testid="log-entry"][data-event="error"]')).toContainText('ERR_DATASOCKET_REJECTED');
    await expect(client.locator('[data-testid="log-entry"][data-event="connect"]')).toHaveCount(0);
    await expect(listener.locator('[data-testid="log-entry"][data-event="refused"]')).toHaveCount(1);
    await expect(pageA.locator('[data-testid="socket"][data-kind="accepted"]')).toHaveCount(0);
  });
});

test.describe('§6 the default policy', () => {
  test('refuses TCP to or on a non-loopback address with ERR_DATASOCKET_NOT_ALLOWED, and allows loopback', async ({ launchInstance }) => {
    const page = await demoWindow(await launchInstance(demoApp('a')));
    await installHarness(page);
    const inPage = harness(page);
    const refused = [{ event: 'error', code: 'ERR_DATASOCKET_NOT_ALLOWED' }, { event: 'close' }];

    // 192.0.2.0/24 is reserved for documentation: nothing is dialled anyway, the policy answers first.
    await inPage.connect('remote', '192.0.2.1', 9);
    await inPage.listen('any-interface', '0.0.0.0', 0);
    await expect.poll(() => inPage.events('remote')).toEqual(refused);
    await expect.poll(() => inPage.events('any-interface')).toEqual(refused);

    await inPage.listen('loopback', '127.0.0.1', 0);
    await expect.poll(() => inPage.eventNames('loopback')).toEqual(['listening']);
  });
});

test.describe('§6 the page gets window.Net.DataSocket and nothing else', () => {
  test('window.Net has exactly the key DataSocket; no ipcRenderer, require, process or Buffer in the page', async ({ launchInstance }) => {
    const page = await demoWindow(await launchInstance(demoApp('a')));
    const seen = await page.evaluate(() => {
      const g = globalThis as unknown as Record<string, unknown> & { Net: NetApi };
      return {
        netKeys: Reflect.ownKeys(g.Net).map(String),
        dataSocketStatics: Object.getOwnPropertyNames(g.Net.DataSocket).sort(),
        nodeOrElectron: ['require', 'process', 'module', 'exports', 'Buffer', 'global', '__dirname', '__filename', 'ipcRenderer', 'electron'].filter(
          (name) => name in g,
        ),
        // (Not /require/: the page has XREquirectLayer.)
        suspicious: Object.getOwnPropertyNames(globalThis).filter((name) => /ipc|electron/i.test(name)),
      };
    });
    expect(seen.netKeys).toEqual(['DataSocket']);
    expect(seen.dataSocketStatics).toEqual(['connect', 'length', 'listen', 'name', 'prototype']);
    expect(seen.nodeOrElectron).toEqual([]);
    expect(seen.suspicious).toEqual([]);
  });

  test('the page runs under its strict CSP: no inline script, no eval', async ({ launchInstance }) => {
    const page = await demoWindow(await launchInstance(demoApp('a')));
    const inline = await page.evaluate(
      () =>
        new Promise<string>((resolve) => {
          const g = globalThis as unknown as PageDom;
          g.document.addEventListener('securitypolicyviolation', (event) => resolve(event.effectiveDirective));
          const script = g.document.createElement('script');
          script.textContent = 'globalThis.inlineScriptRan = true';
          g.document.head.append(script);
          setTimeout(() => resolve(g.inlineScriptRan === true ? 'inline script ran' : 'no violation reported'), 2_000);
        }),
    );
    expect(inline).toBe('script-src-elem');
    // In a task of its own: Playwright's evaluate itself may eval, the page's own code may not.
    const evalResult = await page.evaluate(
      () =>
        new Promise<string>((resolve) => {
          setTimeout(() => {
            try {
              (0, eval)('1');
              resolve('eval ran');
            } catch (error) {
              resolve(error instanceof Error ? error.name : String(error));
            }
          }, 0);
        }),
    );
    expect(evalResult).toBe('EvalError');
  });
});
