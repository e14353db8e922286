/**
 * What the tests of the real preload (test/preload/) share: a per-file XDG_RUNTIME_DIR, and
 * bridges, pages and sockets that are undone after each test — each page unloaded (and
 * expected to have thrown nothing), each bridge disposed, each tracked socket closed.
 * The test file mocks 'electron' with fake-electron.ts, as the bridge needs.
 */
import fs from 'node:fs';
import { afterAll, afterEach, expect } from 'vitest';
import { installDataSocketBridge, type DataSocketBridge } from '../../src/main/bridge/electron-bridge.js';
import { appPreload } from './app-preload.js';
import { FakeTab } from './fake-electron.js';
import { loadPreload, type PreloadOptions, type RendererDocument } from './fake-renderer.js';
import { tempDir } from './sockets.js';

/**
 * Points XDG_RUNTIME_DIR at a new directory (named with `runtimePrefix`, removed after the
 * file) and registers the afterEach that undoes what the test opened; `beforeUndo` runs first in it.
 */
export function usePreloadPages(runtimePrefix: string, beforeUndo?: () => void) {
  // Bare names land in <XDG_RUNTIME_DIR>/datasocket: a directory of this file's own (peer processes inherit it).
  const runtimeDir = tempDir(runtimePrefix);
  process.env.XDG_RUNTIME_DIR = runtimeDir;
  afterAll(() => fs.rmSync(runtimeDir, { recursive: true, force: true }));

  const bridges: DataSocketBridge[] = [];
  const documents: RendererDocument[] = [];
  const ours: { close(): void }[] = [];

  afterEach(() => {
    beforeUndo?.();
    for (const document of documents.splice(0)) {
      document.unload();
      expect(document.uncaught, "what the page's listeners and timers threw").toEqual([]);
    }
    for (const bridge of bridges.splice(0)) bridge.dispose();
    for (const socket of ours.splice(0)) socket.close();
  });

  return {
    /** The bridges installed (disposed after the test). */
    bridges,
    /** Sockets of Node's or a page's to close after the test. */
    ours,
    /** Installs the bridge (main's side), disposed after the test. */
    install(): DataSocketBridge {
      const bridge = installDataSocketBridge();
      bridges.push(bridge);
      return bridge;
    },
    /** Closes `socket` after the test. */
    track<T extends { close(): void }>(socket: T): T {
      ours.push(socket);
      return socket;
    },
    /** A new tab whose main frame loaded a document with `source` (the app's preload by default); unloaded after the test. */
    async loadPage(source?: string, options?: PreloadOptions): Promise<{ tab: FakeTab; document: RendererDocument }> {
      const tab = new FakeTab();
      const document = loadPreload(tab, tab.mainFrame, source ?? (await appPreload()), options);
      documents.push(document);
      return { tab, document };
    },
  };
}
