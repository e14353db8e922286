/**
 * §11 through the real preload in a sandboxed renderer: the page's keep-alive runs
 * on the page's own timers (the main world's setInterval, which has no unref) and
 * finds a peer process that was SIGSTOPped, as a Node socket does.
 */
import fs from 'node:fs';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { ErrorCode } from '../../src/index.js';
import { installDataSocketBridge, type DataSocketBridge } from '../../src/main/bridge/electron-bridge.js';
import type { DataSocketCore } from '../../src/shared/socket-core.js';
import { appPreload } from '../helpers/app-preload.js';
import { useCleanup } from '../helpers/cleanup.js';
import { FakeTab } from '../helpers/fake-electron.js';
import { loadPreload, type RendererDocument } from '../helpers/fake-renderer.js';
import { expectTimedOutSilence, freezeUntilClosed } from '../helpers/frozen-peer.js';
import { listenIn } from '../helpers/peer.js';
import { observe, tempDir, uniqueName, until } from '../helpers/sockets.js';

vi.mock('electron', async () => (await import('../helpers/fake-electron.js')).fakeElectron);

// Bare names land in <XDG_RUNTIME_DIR>/datasocket: a directory of this file's own (peer processes inherit it).
const runtimeDir = tempDir('ds-preload-');
process.env.XDG_RUNTIME_DIR = runtimeDir;
afterAll(() => fs.rmSync(runtimeDir, { recursive: true, force: true }));

const { spawn } = useCleanup();
const bridges: DataSocketBridge[] = [];
const documents: RendererDocument[] = [];

afterEach(() => {
  for (const document of documents.splice(0)) {
    document.unload();
    expect(document.uncaught, "what the page's listeners and timers threw").toEqual([]);
  }
  for (const bridge of bridges.splice(0)) bridge.dispose();
});

/** The page's DataSocket class, as page code sees it. */
interface PageDataSocketClass {
  connect(name: string, options?: object): DataSocketCore;
}

describe('§11 keep-alive in a page, through the real preload', () => {
  it('a page socket with keepAliveMs finds a listening peer process that was SIGSTOPped within 2 × keepAliveMs', async () => {
    const keepAliveMs = 200;
    bridges.push(installDataSocketBridge());
    const peer = spawn();
    const at = await listenIn(peer, { name: uniqueName('alive') });
    const tab = new FakeTab();
    const document = loadPreload(tab, tab.mainFrame, await appPreload());
    documents.push(document);
    const DataSocket = document.mainWorld.global.Net!.DataSocket as PageDataSocketClass;
    const client = DataSocket.connect(at.name, document.mainWorld.copyIn({ keepAliveMs }) as object);
    const events = observe(client);
    await until(() => events.log.includes('connect'), 5_000);
    const accepted = (await peer.waitFor((e) => e.ev === 'accepted')) as { id: string };
    await peer.run({ op: 'send', id: accepted.id, value: 'last words' });
    await until(() => events.values.length === 1);
    const silence = await freezeUntilClosed(peer, () => until(() => events.log.includes('close'), 2 * keepAliveMs + 5_000));
    expect(events.log).toEqual(['connect', `error:${ErrorCode.TIMEOUT}`, 'close']);
    expectTimedOutSilence(silence, keepAliveMs);
  });
});
