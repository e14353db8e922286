/**
 * §6 the real preload, as an app ships it: the built bundle (scripts/preload-bundle.mjs)
 * re-bundled by an app's bundler from `import { exposeDataSocket } from
 * 'electron-datasocket/preload'; exposeDataSocket();`, run the way a sandboxed,
 * context-isolated Electron renderer runs it (test/helpers/fake-renderer.ts), against the
 * real bridge (src/main/bridge/electron-bridge.ts over test/helpers/fake-electron.ts) and real
 * sockets. Page code here is the test, using `window.Net.DataSocket` with values made of
 * the page's own objects.
 */
import { describe, expect, it, vi } from 'vitest';
import { DataSocket as NodeDataSocket, ErrorCode } from '../../src/index.js';
import { BRIDGE_CHANNEL } from '../../src/shared/bridge-protocol.js';
import type { DataSocketCore } from '../../src/shared/socket-core.js';
import { appPreload, type AppBuild } from '../helpers/app-preload.js';
import { ipcMain } from '../helpers/fake-electron.js';
import type { PreloadOptions } from '../helpers/fake-renderer.js';
import { usePreloadPages } from '../helpers/preload-pages.js';
import { observe, sleep, uniqueName, until } from '../helpers/sockets.js';
import { VALUE_CASES } from '../helpers/value-table.js';

vi.mock('electron', async () => (await import('../helpers/fake-electron.js')).fakeElectron);

const { install, track, loadPage } = usePreloadPages('ds-preload-');

/** 8 MiB with a pattern that shows any shifted, dropped or repeated byte. */
const LARGE = Uint8Array.from({ length: 8 * 1024 * 1024 }, (_, i) => (i * 31 + (i >>> 16)) & 0xff);

/** A tab whose main frame loaded a document with the app's preload; `DataSocket` is the page's `window.Net.DataSocket`. */
async function openPage(source?: string, options?: PreloadOptions) {
  const { tab, document } = await loadPage(source, options);
  return { tab, document, DataSocket: document.mainWorld.global.Net?.DataSocket as PageDataSocketClass | undefined };
}

/** The page's DataSocket class, as page code sees it. */
interface PageDataSocketClass {
  connect(name: string, port?: number): DataSocketCore;
  listen(acceptor: (connection: DataSocketCore) => boolean, name: string): DataSocketCore;
}

/** A Node listener in the test process that accepts everything; `accepted` holds its connections' recorders. */
async function nodeListener() {
  const accepted: { socket: NodeDataSocket; log: string[]; values: unknown[] }[] = [];
  const listener = track(
    NodeDataSocket.listen((connection) => {
      accepted.push({ socket: track(connection), ...observe(connection) });
      return true;
    }, uniqueName('node')),
  );
  const events = observe(listener);
  await until(() => events.log.includes('listening'));
  return { accepted, name: listener.address.name };
}

/** A page connected to a Node listener: `client` is the page's socket, `peer` the Node side. */
async function pageConnectedToNode(source?: string) {
  install();
  const node = await nodeListener();
  const page = await openPage(source);
  expect(page.document.preloadError).toBeUndefined();
  const client = page.DataSocket!.connect(node.name);
  const clientEvents = observe(client);
  await until(() => clientEvents.log.includes('connect') && node.accepted.length === 1, 5_000);
  return { ...page, client, clientEvents, peer: node.accepted[0]! };
}

/** `received` holds exactly the bytes of LARGE, as a Uint8Array of `realm`'s (the page's, or Node's). */
function expectLarge(received: unknown, realm: { Uint8Array: Uint8ArrayConstructor }): void {
  expect(received).toBeInstanceOf(realm.Uint8Array);
  const bytes = received as Uint8Array;
  expect(bytes.byteLength).toBe(LARGE.byteLength);
  expect(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).equals(LARGE)).toBe(true);
}

describe('§6 the real preload in a sandboxed renderer carries every value between the page and a Node peer', () => {
  it('a page connected to a Node listener sends it every value of §3; each arrives as promised', async () => {
    const { document, client, peer } = await pageConnectedToNode();
    for (const c of VALUE_CASES) client.send(document.mainWorld.copyIn(c.make()));
    await until(() => peer.values.length === VALUE_CASES.length, 5_000);
    VALUE_CASES.forEach((c, i) => c.check(peer.values[i], c.make()));
    expect(peer.log).toEqual(['connect']);
  });

  it("a Node peer sends the page every value of §3; each arrives as promised, made of the page's own objects", async () => {
    const { document, clientEvents, peer } = await pageConnectedToNode();
    for (const c of VALUE_CASES) peer.socket.send(c.make());
    await until(() => clientEvents.values.length === VALUE_CASES.length, 5_000);
    // copyOut throws for any object that is not of the page's world.
    VALUE_CASES.forEach((c, i) => c.check(document.mainWorld.copyOut(clientEvents.values[i]), c.make()));
    expect(clientEvents.log).toEqual(['connect']);
  });

  it('an 8 MiB Uint8Array goes page → peer and peer → page byte-exact', async () => {
    const { document, client, clientEvents, peer } = await pageConnectedToNode();
    client.send(document.mainWorld.copyIn(LARGE));
    peer.socket.send(LARGE);
    await until(() => peer.values.length === 1 && clientEvents.values.length === 1, 10_000);
    expectLarge(peer.values[0], globalThis);
    expectLarge(clientEvents.values[0], document.mainWorld.global as { Uint8Array: Uint8ArrayConstructor });
  });

  it('page to page across two tabs: one listens, the other connects, and values (8 MiB too) go both ways', async () => {
    install();
    const listening = await openPage();
    const connecting = await openPage();
    const accepted: DataSocketCore[] = [];
    const listener = listening.DataSocket!.listen((connection) => {
      accepted.push(connection);
      return true;
    }, uniqueName('page'));
    const listenerEvents = observe(listener);
    await until(() => listenerEvents.log.includes('listening'), 5_000);
    const client = connecting.DataSocket!.connect(listener.address.name);
    const clientEvents = observe(client);
    await until(() => clientEvents.log.includes('connect') && accepted.length === 1, 5_000);
    const acceptedEvents = observe(accepted[0]!);

    client.send(connecting.document.mainWorld.copyIn({ from: 'the connecting tab', bytes: Uint8Array.of(1, 2, 3) }));
    client.send(connecting.document.mainWorld.copyIn(LARGE));
    accepted[0]!.send(listening.document.mainWorld.copyIn(new Map([['from', 'the listening tab']])));
    accepted[0]!.send(listening.document.mainWorld.copyIn(LARGE));
    await until(() => acceptedEvents.values.length === 2 && clientEvents.values.length === 2, 10_000);
    expect(listening.document.mainWorld.copyOut(acceptedEvents.values[0])).toStrictEqual({ from: 'the connecting tab', bytes: Uint8Array.of(1, 2, 3) });
    expectLarge(acceptedEvents.values[1], listening.document.mainWorld.global as { Uint8Array: Uint8ArrayConstructor });
    expect(connecting.document.mainWorld.copyOut(clientEvents.values[0])).toStrictEqual(new Map([['from', 'the listening tab']]));
    expectLarge(clientEvents.values[1], connecting.document.mainWorld.global as { Uint8Array: Uint8ArrayConstructor });
    expect([clientEvents.log, acceptedEvents.log]).toEqual([['connect'], []]);
  });
});

/** Counts the ports preloads hand to main from now on, until `stop()`. */
function countPortsToMain(): { readonly count: number; stop(): void } {
  let count = 0;
  const seen = (): void => {
    count++;
  };
  ipcMain.on(BRIDGE_CHANNEL, seen);
  return {
    get count() {
      return count;
    },
    stop: () => ipcMain.removeListener(BRIDGE_CHANNEL, seen),
  };
}

describe("§6 the preload's failure modes", () => {
  it('window.Net already defined, non-configurable: exposeDataSocket throws ERR_DATASOCKET_INVALID_ARGUMENT naming the cause, and main gets no port', async () => {
    install();
    const ports = countPortsToMain();
    try {
      const { document } = await openPage(undefined, {
        // What another preload's contextBridge.exposeInMainWorld('Net', …) leaves: read-only, non-configurable.
        before: (main) => main.evaluate("Object.defineProperty(window, 'Net', { value: Object.freeze({ theirs: true }), writable: false, configurable: false })"),
      });
      const error = document.preloadError as { name: string; code: string; message: string };
      expect(error).toBeInstanceOf(document.isolatedWorld.global.Error);
      expect(error.name).toBe('DataSocketError');
      expect(error.code).toBe(ErrorCode.INVALID_ARGUMENT);
      expect(error.message).toMatch(/window\.Net is already (taken|defined)/);
      expect(document.mainWorld.evaluate('window.Net')).toEqual({ theirs: true });
      await sleep(50);
      expect(ports.count).toBe(0);
    } finally {
      ports.stop();
    }
  });
});

describe("§6 the built preload re-bundled by an app's bundler (esbuild, CommonJS)", () => {
  /** The page connects to a Node listener and a value goes each way. */
  async function expectWorks(options: AppBuild): Promise<void> {
    const { document, client, clientEvents, peer } = await pageConnectedToNode(await appPreload(options));
    client.send(document.mainWorld.copyIn({ to: 'the peer', bytes: Uint8Array.of(4, 5) }));
    peer.socket.send({ to: 'the page', when: new Date(7) });
    await until(() => peer.values.length === 1 && clientEvents.values.length === 1, 5_000);
    expect(peer.values).toStrictEqual([{ to: 'the peer', bytes: Uint8Array.of(4, 5) }]);
    expect(document.mainWorld.copyOut(clientEvents.values[0])).toStrictEqual({ to: 'the page', when: new Date(7) });
  }

  for (const [name, options] of [
    ['target es2020', { target: 'es2020' }],
    ['target es2022', { target: 'es2022' }],
    ['minify', { minify: true }],
  ] as [string, AppBuild][]) {
    it(`${name}: window.Net.DataSocket connects and carries values`, () => expectWorks(options));
  }

  it("keepNames: exposeDataSocket throws ERR_DATASOCKET_INVALID_ARGUMENT naming the helper '__name', and main gets no port", async () => {
    install();
    const ports = countPortsToMain();
    try {
      const { document, DataSocket } = await openPage(await appPreload({ keepNames: true }));
      const error = document.preloadError as { name: string; code: string; message: string };
      expect(error.name).toBe('DataSocketError');
      expect(error.code).toBe(ErrorCode.INVALID_ARGUMENT);
      expect(error.message).toContain("'__name'");
      expect(error.message).toContain('__name is not defined');
      expect(DataSocket).toBeUndefined();
      await sleep(50);
      expect(ports.count).toBe(0);
    } finally {
      ports.stop();
    }
  });
});
