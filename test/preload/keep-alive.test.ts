/**
 * §11 through the real preload in a sandboxed renderer: the page's keep-alive runs
 * on the page's own timers (the main world's setInterval, which has no unref) and
 * finds a peer process that was SIGSTOPped, as a Node socket does.
 */
import { describe, expect, it, vi } from 'vitest';
import { ErrorCode } from '../../src/index.js';
import type { DataSocketCore } from '../../src/shared/socket-core.js';
import { useCleanup } from '../helpers/cleanup.js';
import { expectTimedOutSilence, freezeUntilClosed } from '../helpers/frozen-peer.js';
import { listenIn } from '../helpers/peer.js';
import { usePreloadPages } from '../helpers/preload-pages.js';
import { observe, uniqueName, until } from '../helpers/sockets.js';

vi.mock('electron', async () => (await import('../helpers/fake-electron.js')).fakeElectron);

const { spawn } = useCleanup();
const { install, loadPage } = usePreloadPages('ds-preload-');

/** The page's DataSocket class, as page code sees it. */
interface PageDataSocketClass {
  connect(name: string, options?: object): DataSocketCore;
}

describe('§11 keep-alive in a page, through the real preload', () => {
  it('a page socket with keepAliveMs finds a listening peer process that was SIGSTOPped within 2 × keepAliveMs', async () => {
    const keepAliveMs = 200;
    install();
    const peer = spawn();
    const at = await listenIn(peer, { name: uniqueName('alive') });
    const { document } = await loadPage();
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
