/**
 * The stand-in runs the app's preload as Electron runs a sandboxed one
 * (stand-in/sandboxed-preload.ts; Electron's lib/sandboxed_renderer/init.ts and
 * preload.ts, docs/tutorial/sandbox.md): bundled as an app's bundler bundles it, with a
 * `require` that knows only what Electron's knows (and less) and a `process` with
 * little more than `platform`. A preload that reaches for a Node built-in or for
 * `process.env` fails here, as it must not be allowed to pass.
 */
import { expect } from '@playwright/test';
// The suite's `test` is the testing kit's: helpers/app-pages.ts registers hooks that use its fixtures.
import { test } from '../../src/testing/index.js';
import { bundlePreload } from './harness/bundles.js';
import type { AppPage } from './helpers/app-page.js';
import { useAppPages } from './helpers/app-pages.js';
import { useLab, type IsolatedGlobal } from './helpers/lab.js';

test.describe("the stand-in: a sandboxed preload's require and process", () => {
  const lab = useLab();

  test("require knows 'electron' (and 'electron/common', 'electron/renderer'); any other name throws \"module not found\", the Node modules Electron does give included", async () => {
    const seen = await lab.isolated.evaluate(() => {
      const { require } = (globalThis as unknown as IsolatedGlobal).__lab;
      const attempt = (name: string): string => {
        try {
          const module = require(name) as Record<string, unknown>;
          return `loaded: ${Object.keys(module).join(',')}`;
        } catch (error) {
          return (error as Error).message;
        }
      };
      return Object.fromEntries(
        ['electron', 'electron/common', 'electron/renderer', 'fs', 'node:fs', 'path', 'child_process', 'electron-datasocket/preload', 'events', 'node:timers', 'url'].map((name) => [name, attempt(name)]),
      );
    });
    const loaded = 'loaded: contextBridge,ipcRenderer';
    expect(seen).toEqual({
      electron: loaded,
      'electron/common': loaded,
      'electron/renderer': loaded,
      fs: 'module not found: fs',
      'node:fs': 'module not found: node:fs',
      path: 'module not found: path',
      child_process: 'module not found: child_process',
      'electron-datasocket/preload': 'module not found: electron-datasocket/preload',
      // Electron has these three; the stand-in does not, which is only stricter.
      events: expect.stringMatching(/^module not found: events \(Electron has it/) as unknown as string,
      'node:timers': expect.stringMatching(/^module not found: node:timers \(Electron has it/) as unknown as string,
      url: expect.stringMatching(/^module not found: url \(Electron has it/) as unknown as string,
    });
  });

  test("process has platform and nothing else (no env, versions, argv, cwd or events), frozen; the isolated realm's global has no process, require, module, exports or Buffer", async () => {
    const seen = await lab.isolated.evaluate(() => {
      const g = globalThis as unknown as IsolatedGlobal;
      const { process } = g.__lab;
      return {
        keys: Object.getOwnPropertyNames(process),
        frozen: Object.isFrozen(process),
        env: typeof process.env,
        readingEnv: (() => {
          try {
            return String((process.env as Record<string, string>).HOME);
          } catch (error) {
            return (error as Error).name;
          }
        })(),
        globals: ['process', 'require', 'module', 'exports', 'Buffer', 'setImmediate', 'global'].filter((name) => name in g),
      };
    });
    expect(seen).toEqual({ keys: ['platform'], frozen: true, env: 'undefined', readingEnv: 'TypeError', globals: [] });
  });

  test("the harness bundles a preload as an app's bundler does: one CommonJS file, everything inlined but 'electron' and Node's built-ins", async () => {
    const requires = (text: string): string[] => [...text.matchAll(/\brequire\("([^"]+)"\)/g)].map((m) => m[1]!);
    expect(requires(await bundlePreload('datasocket'))).toEqual(['electron']);
    expect(requires(await bundlePreload('requires-fs'))).toEqual(['node:fs', 'electron']);
  });
});

test.describe('the stand-in: a preload that needs Node fails to load, as in a sandboxed renderer', () => {
  const world = useAppPages({ fs: { app: { preload: 'requires-fs' } }, env: { app: { preload: 'reads-env' } } });

  /** What the page got from its preload, and what the isolated realm logged. */
  async function outcome(page: AppPage): Promise<{ net: string; logged: string[] }> {
    const net = await page.page.evaluate(() => typeof (globalThis as unknown as { Net?: { DataSocket?: unknown } }).Net?.DataSocket);
    return { net, logged: page.consoleLines.slice() };
  }

  test("a preload that imports 'node:fs' throws \"module not found\" before it exposes anything: the page has no Net", async () => {
    const { net, logged } = await outcome(world.page.fs);
    expect(net).toBe('undefined');
    expect(logged[0]).toBe('Unable to load preload script: preload.js');
    expect(logged[1]).toMatch(/module not found: node:fs/);
  });

  test('a preload that reads process.env throws before it exposes anything: the page has no Net', async () => {
    const { net, logged } = await outcome(world.page.env);
    expect(net).toBe('undefined');
    expect(logged[0]).toBe('Unable to load preload script: preload.js');
    expect(logged[1]).toMatch(/TypeError: Cannot read properties of undefined \(reading 'DATASOCKET_DEBUG'\)/);
  });
});
