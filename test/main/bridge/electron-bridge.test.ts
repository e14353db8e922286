/**
 * §6 the Electron adapter: the real src/main/bridge/electron-bridge.ts against a fake
 * 'electron' (test/helpers/fake-electron.ts) whose ports are real worker_threads
 * channels driving the real page client, with real sockets and real Node peers.
 * It checks that each frame's document gets its own host and that the host lives
 * exactly as long as that document.
 */
import fs from 'node:fs';
import path from 'node:path';
import { inspect } from 'node:util';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { DataSocket as NodeDataSocket, ErrorCode } from '../../../src/index.js';
import { installDataSocketBridge, PORT_CLOSE_GRACE_MS, type BridgeOptions, type BridgePolicy, type DataSocketBridge } from '../../../src/main/bridge/electron-bridge.js';
import { BRIDGE_CHANNEL, type ClientMessage, type HostMessage } from '../../../src/shared/bridge-protocol.js';
import type { DataSocketCore } from '../../../src/shared/socket-core.js';
import { HOST_ANSWER_GRACE_MS } from '../../../src/renderer/client.js';
import { app, FakeTab, ipcMain, type FakePage, type FakeWebFrameMain } from '../../helpers/fake-electron.js';
import { observe, sleep, tempDir, uniqueName } from '../../helpers/sockets.js';

vi.mock('electron', async () => (await import('../../helpers/fake-electron.js')).fakeElectron);

// Bare names land in <XDG_RUNTIME_DIR>/datasocket: a directory of this file's own.
const runtimeDir = tempDir('ds-bridge-');
process.env.XDG_RUNTIME_DIR = runtimeDir;
afterAll(() => fs.rmSync(runtimeDir, { recursive: true, force: true }));

/** Every bridge a test installed, to dispose after it (whatever the test did with them). */
const bridges: DataSocketBridge[] = [];
const tabs: FakeTab[] = [];
const ours: { close(): void }[] = [];

function install(options?: BridgeOptions): DataSocketBridge {
  const bridge = installDataSocketBridge(options);
  bridges.push(bridge);
  return bridge;
}
/** Expects installing with `options` to throw ERR_DATASOCKET_INVALID_ARGUMENT. */
function expectInstallRefused(options?: unknown): void {
  expect(() => install(options as BridgeOptions)).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }));
}
function tab(url?: string): FakeTab {
  const t = new FakeTab(url);
  tabs.push(t);
  return t;
}
function track<T extends { close(): void }>(socket: T): T {
  ours.push(socket);
  return socket;
}

afterEach(() => {
  vi.restoreAllMocks();
  for (const bridge of bridges.splice(0).reverse()) bridge.dispose();
  for (const t of tabs.splice(0)) t.closePages();
  for (const socket of ours.splice(0)) socket.close();
});

/** Polls until `check` holds; fails naming `what` after `timeoutMs`. */
async function until(what: string, check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** The host messages of kind `t` a page got. */
function received<T extends HostMessage['t']>(page: FakePage, t: T): Extract<HostMessage, { t: T }>[] {
  return page.fromHost.filter((m): m is Extract<HostMessage, { t: T }> => m.t === t);
}

/** A Node listener in the test process that accepts everything; `accepted` holds its connections. */
async function nodeListener() {
  const accepted: NodeDataSocket[] = [];
  const listener = track(
    NodeDataSocket.listen((connection) => {
      accepted.push(track(connection));
      return true;
    }, uniqueName('node')),
  );
  const events = observe(listener);
  await until('the Node listener to bind', () => events.log.includes('listening'));
  return { listener, accepted, name: listener.address.name };
}

/**
 * A page with both kinds of connection to real Node peers, talking: its client is
 * connected to a Node listener (`peerOfClient` is the Node side), and a Node client
 * (`peerOfListener`) is connected to its listener on a bare name (`socketPath`).
 */
async function busyPage(t: FakeTab, frame: FakeWebFrameMain = t.mainFrame, page: FakePage = t.openPort(frame)) {
  const node = await nodeListener();
  const client = page.DataSocket.connect(node.name);
  const clientEvents = observe(client);
  const pageAccepted: DataSocketCore[] = [];
  const listener = page.DataSocket.listen((connection) => {
    pageAccepted.push(connection);
    return true;
  }, uniqueName('page'));
  const listenerEvents = observe(listener);
  await until('the page to connect and listen', () => clientEvents.log.includes('connect') && listenerEvents.log.includes('listening'));
  const socketPath = listener.address.path!;
  expect(fs.existsSync(socketPath)).toBe(true);
  const peerOfListener = track(NodeDataSocket.connect(listener.address.name));
  const peerOfListenerEvents = observe(peerOfListener);
  await until('the Node client and the Node listener to be connected', () => peerOfListenerEvents.log.includes('connect') && node.accepted[0]?.state === 'open');
  const peerOfClient = node.accepted[0]!;
  const peerOfClientEvents = observe(peerOfClient);
  const acceptedEvents = observe(pageAccepted[0]!);

  // Values go both ways on both connections before anything happens to the page.
  client.send('page to node listener');
  peerOfClient.send('node listener to page');
  pageAccepted[0]!.send('page listener to node');
  peerOfListener.send('node client to page');
  await until('values both ways', () => peerOfClientEvents.values.length === 1 && clientEvents.values.length === 1 && peerOfListenerEvents.values.length === 1 && acceptedEvents.values.length === 1);
  expect([peerOfClientEvents.values, clientEvents.values, peerOfListenerEvents.values, acceptedEvents.values]).toEqual([
    ['page to node listener'],
    ['node listener to page'],
    ['page listener to node'],
    ['node client to page'],
  ]);
  return { page, client, clientEvents, listener, listenerEvents, socketPath, peerOfClient, peerOfClientEvents, peerOfListener, peerOfListenerEvents, accepted: pageAccepted[0]!, acceptedEvents };
}
type BusyPage = Awaited<ReturnType<typeof busyPage>>;

/** The page's host is gone: both Node peers saw `close`, preceded by `error:<code>` when `error` is given, and the socket file is removed. */
async function expectDisposed(busy: BusyPage, error?: string): Promise<void> {
  await until('both peers to close', () => busy.peerOfClientEvents.log.includes('close') && busy.peerOfListenerEvents.log.includes('close'));
  const ending = error === undefined ? ['close'] : [`error:${error}`, 'close'];
  expect(busy.peerOfClientEvents.log).toEqual(ending);
  expect(busy.peerOfListenerEvents.log).toEqual(['connect', ...ending]);
  await until('the socket file to be removed', () => !fs.existsSync(busy.socketPath));
}

/** The page's host still serves: both connections carry values both ways, and its listener's file is there. */
async function expectServing(busy: BusyPage): Promise<void> {
  const before = [busy.peerOfClientEvents.values.length, busy.clientEvents.values.length, busy.peerOfListenerEvents.values.length, busy.acceptedEvents.values.length];
  busy.client.send('still here');
  busy.peerOfClient.send('still there');
  busy.accepted.send('still listening');
  busy.peerOfListener.send('still connected');
  await until('values both ways, again', () =>
    busy.peerOfClientEvents.values.length > before[0]! &&
    busy.clientEvents.values.length > before[1]! &&
    busy.peerOfListenerEvents.values.length > before[2]! &&
    busy.acceptedEvents.values.length > before[3]!,
  );
  expect(busy.peerOfClientEvents.values.at(-1)).toBe('still here');
  expect(busy.clientEvents.values.at(-1)).toBe('still there');
  expect(busy.peerOfListenerEvents.values.at(-1)).toBe('still listening');
  expect(busy.acceptedEvents.values.at(-1)).toBe('still connected');
  expect(busy.peerOfClientEvents.log).toEqual([]);
  expect(busy.peerOfListenerEvents.log).toEqual(['connect']);
  expect(fs.existsSync(busy.socketPath)).toBe(true);
}

describe('§6 each frame\'s document gets its own host: a socket is addressable only from the frame that made it', () => {
  for (const layout of [
    { name: 'two frames of one webContents', frames: (): [FakeTab, FakeWebFrameMain, FakeTab, FakeWebFrameMain] => {
      const t = tab();
      return [t, t.mainFrame, t, t.addFrame('app://main/embedded.html')];
    } },
    { name: 'the main frames of two webContents', frames: (): [FakeTab, FakeWebFrameMain, FakeTab, FakeWebFrameMain] => {
      const a = tab();
      const b = tab();
      return [a, a.mainFrame, b, b.mainFrame];
    } },
  ]) {
    it(`${layout.name}: frame B's port cannot send on, end or destroy frame A's socket; A and its peer are untouched`, async () => {
      install();
      const [tabA, frameA, tabB, frameB] = layout.frames();
      const a = await busyPage(tabA, frameA);
      const b = tabB.openPort(frameB);
      // The page client reports each refusal on the console; that is B's to see, and quiet here.
      const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
      const sendOfA = a.page.toHost.find((m): m is Extract<ClientMessage, { t: 'send' }> => m.t === 'send' && m.id === 1);
      expect(sendOfA, 'the page client numbers its first socket 1').toBeDefined();

      b.inject({ t: 'send', id: sendOfA!.id, bytes: sendOfA!.bytes, count: sendOfA!.count });
      b.inject({ t: 'end', id: sendOfA!.id });
      b.inject({ t: 'destroy', id: sendOfA!.id });
      await until("B's three refusals", () => received(b, 'rejected').length === 3);
      for (const { error } of received(b, 'rejected')) {
        expect(error.code).toBe(ErrorCode.INVALID_ARGUMENT);
        expect(error.message).toContain(`no socket ${sendOfA!.id}`);
      }
      expect(warn).toHaveBeenCalledTimes(3);

      await expectServing(a);
      // B's bytes never reached A's peer: it got A's first value once, then A's next one.
      expect(a.peerOfClientEvents.values).toEqual(['page to node listener', 'still here']);
      expect(received(a.page, 'rejected')).toEqual([]);
    });
  }
});

describe('§6 a frame that posts a second port has a new document: its first host is disposed', () => {
  it("the first port's sockets close cleanly, its listener's socket file is removed, and the new port serves", async () => {
    install();
    const t = tab();
    const first = await busyPage(t);
    const second = t.openPort(t.mainFrame);
    await expectDisposed(first);
    // The new document may listen on the old name at once.
    const again = second.DataSocket.listen(() => true, first.listener.address.name);
    const againEvents = observe(again);
    await until('the new port to listen', () => againEvents.log.length > 0);
    expect(againEvents.log).toEqual(['listening']);
    expect(again.address.path).toBe(first.socketPath);
  });

  it("the first document's port closing afterwards leaves the new host in charge of the frame", async () => {
    install();
    const t = tab();
    const first = await busyPage(t);
    const second = await busyPage(t, t.mainFrame);
    await expectDisposed(first);
    first.page.close();
    await sleep(50);
    await expectServing(second);
    // The frame is still tied to the new host: its next committed navigation disposes it.
    t.startNavigation(t.mainFrame, 'app://main/next.html');
    t.commitNavigation(t.mainFrame, 'app://main/next.html');
    await expectDisposed(second);
  });

  it("another frame's host is not disposed by it", async () => {
    install();
    const t = tab();
    const other = await busyPage(t, t.addFrame('app://main/embedded.html'));
    const first = await busyPage(t);
    t.openPort(t.mainFrame);
    await expectDisposed(first);
    await expectServing(other);
  });
});

describe('§6 a cross-document navigation disposes the host when it commits, not before', () => {
  for (const sameFrameHost of [false, true]) {
    it(`start then commit (${sameFrameHost ? 'the same frame host' : 'a new frame host'}) closes the frame's sockets cleanly and removes its socket files`, async () => {
      install();
      const t = tab();
      const busy = await busyPage(t);
      t.startNavigation(t.mainFrame, 'app://main/next.html');
      await sleep(50);
      await expectServing(busy);
      t.commitNavigation(t.mainFrame, 'app://main/next.html', { sameFrameHost });
      // The old document's port is still open here: the commit alone disposed the host.
      await expectDisposed(busy);
    });
  }

  it('a navigation that starts and never commits leaves the host serving', async () => {
    install();
    const t = tab();
    const busy = await busyPage(t);
    t.startNavigation(t.mainFrame, 'app://main/download.zip');
    t.failNavigation(t.mainFrame, 'app://main/download.zip');
    await sleep(50);
    await expectServing(busy);
  });

  it('a same-document navigation leaves the host serving', async () => {
    install();
    const t = tab();
    const busy = await busyPage(t);
    t.startNavigation(t.mainFrame, 'app://main/index.html#settings', { sameDocument: true });
    t.navigateInPage(t.mainFrame, 'app://main/index.html#settings');
    await sleep(50);
    await expectServing(busy);
  });

  it("a commit in one frame leaves the other frames' hosts serving", async () => {
    install();
    const t = tab();
    const main = await busyPage(t);
    const sub = t.addFrame('app://main/embedded.html');
    const embedded = await busyPage(t, sub);
    t.startNavigation(sub, 'app://main/other.html');
    t.commitNavigation(sub, 'app://main/other.html');
    await expectDisposed(embedded);
    await expectServing(main);
  });

  for (const inPage of [false, true]) {
    it(`the new document's port, arriving before the commit is reported${inPage ? ', with a same-document navigation of its own' : ''}, is not disposed by the report`, async () => {
      install();
      const t = tab();
      const old = await busyPage(t);
      t.startNavigation(t.mainFrame, 'app://main/next.html');
      let next: { frame: FakeWebFrameMain; page: FakePage } | undefined;
      t.commitNavigation(t.mainFrame, 'app://main/next.html', {
        beforeReport: (frame) => {
          next = { frame, page: t.openPort(frame) };
          if (!inPage) return;
          t.startNavigation(frame, 'app://main/next.html#top', { sameDocument: true });
          t.navigateInPage(frame, 'app://main/next.html#top');
        },
      });
      await expectDisposed(old);
      await expectServing(await busyPage(t, next!.frame, next!.page));
    });
  }
});

describe('§6 a crash drops the page\'s connections; everything else closes them cleanly', () => {
  it('render-process-gone: the peers of that page see ECONNRESET, its socket files go, other webContents are untouched', async () => {
    install();
    const crashing = tab();
    const busy = await busyPage(crashing);
    const otherTab = tab();
    const other = await busyPage(otherTab);
    await crashing.crash();
    await expectDisposed(busy, 'ECONNRESET');
    // The dead renderer's ports go away too; nothing changes for anyone.
    crashing.closePages();
    await sleep(50);
    await expectServing(other);
  });

  // Electron gives no order between the port's 'close' and 'render-process-gone'; the reason decides.
  const crashes = ['crashed', 'oom', 'killed', 'abnormal-exit', 'launch-failed', 'integrity-failure'];
  for (const ports of ['before', 'after'] as const) {
    for (const reason of crashes) {
      it(`reason '${reason}', the port closing ${ports} the event: the peers see ECONNRESET`, async () => {
        install();
        const crashing = tab();
        const busy = await busyPage(crashing);
        await crashing.crash({ reason, ports });
        await expectDisposed(busy, 'ECONNRESET');
      });
    }
    it(`reason 'clean-exit', the port closing ${ports} the event: the peers see a plain close`, async () => {
      install();
      const exiting = tab();
      const busy = await busyPage(exiting);
      await exiting.crash({ reason: 'clean-exit', ports });
      await expectDisposed(busy);
    });
  }

  it(`the port closing first waits for the reason (up to ${PORT_CLOSE_GRACE_MS} ms): a crash reported late still drops the connections`, async () => {
    install();
    const crashing = tab();
    const busy = await busyPage(crashing);
    await crashing.crash({ reason: 'killed', ports: 'before', delayMs: PORT_CLOSE_GRACE_MS / 2 });
    await expectDisposed(busy, 'ECONNRESET');
  });

  it("a crash whose 'render-process-gone' never comes is still told by isCrashed() once the wait is over", async () => {
    install();
    const crashing = tab();
    const busy = await busyPage(crashing);
    crashing.webContents.markCrashed();
    crashing.closePages();
    await expectDisposed(busy, 'ECONNRESET');
  });

  const endings: { how: string; run: (t: FakeTab) => void }[] = [
    {
      how: 'a committed navigation',
      run: (t) => {
        t.startNavigation(t.mainFrame, 'app://main/next.html');
        t.commitNavigation(t.mainFrame, 'app://main/next.html');
      },
    },
    { how: "webContents 'destroyed'", run: (t) => t.destroy() },
    { how: "app 'will-quit'", run: () => app.emit('will-quit', { defaultPrevented: false, preventDefault(): void {} }) },
    { how: "the page's end of the port closing", run: (t) => t.closePages() },
    { how: 'a second port from the frame', run: (t) => t.openPort(t.mainFrame) },
    { how: "the bridge's dispose()", run: () => bridges[0]!.dispose() },
  ];
  for (const ending of endings) {
    it(`${ending.how}: the peers see close without error, and the socket file is removed`, async () => {
      install();
      const t = tab();
      const busy = await busyPage(t);
      ending.run(t);
      await expectDisposed(busy);
    });
  }

  it("webContents 'destroyed' disposes only that webContents' hosts", async () => {
    install();
    const closing = tab();
    const busy = await busyPage(closing);
    const other = await busyPage(tab());
    closing.destroy();
    await expectDisposed(busy);
    await expectServing(other);
  });

  it("app 'will-quit' disposes the hosts of every webContents", async () => {
    install();
    const first = tab();
    const a = await busyPage(first);
    const b = await busyPage(first, first.addFrame('app://main/embedded.html'));
    const c = await busyPage(tab());
    app.emit('will-quit', { defaultPrevented: false, preventDefault(): void {} });
    await Promise.all([expectDisposed(a), expectDisposed(b), expectDisposed(c)]);
  });
});

describe('§6 an IPC message that is not a live frame\'s port is ignored', () => {
  it("a null senderFrame: nothing throws, the port gets no host, and the page is told at once ('shutdown'), so its sockets fail", async () => {
    const policy = vi.fn<BridgePolicy>(() => true);
    install({ policy });
    const t = tab();
    let page: FakePage | undefined;
    expect(() => (page = t.openPort(t.mainFrame, { senderFrame: null }))).not.toThrow();
    const client = observe(page!.DataSocket.connect(uniqueName('nobody')));
    await until('the connect to fail', () => client.log.includes('close'), 1_000);
    expect(client.log).toEqual([`error:${ErrorCode.CLOSED}`, 'close']);
    expect(page!.fromHost).toEqual([{ t: 'shutdown' }]);
    expect(policy).not.toHaveBeenCalled();
  });

  it('a frame destroyed before its message is handled gives a null senderFrame: the same', async () => {
    const policy = vi.fn<BridgePolicy>(() => true);
    install({ policy });
    const t = tab();
    const frame = t.addFrame('app://main/embedded.html');
    frame.destroy();
    let page: FakePage | undefined;
    expect(() => (page = t.openPort(frame))).not.toThrow();
    const client = observe(page!.DataSocket.connect(uniqueName('nobody')));
    await until('the connect to fail', () => client.log.includes('close'), 1_000);
    expect(client.log).toEqual([`error:${ErrorCode.CLOSED}`, 'close']);
    expect(page!.fromHost).toEqual([{ t: 'shutdown' }]);
    expect(policy).not.toHaveBeenCalled();
  });

  it('a message without a port: nothing throws, and the frame keeps the host it has', async () => {
    install();
    const t = tab();
    const busy = await busyPage(t);
    expect(() => t.openPort(t.mainFrame, { withPort: false })).not.toThrow();
    await expectServing(busy);
  });

  it('navigation events about frames the bridge does not know, or no frame at all, change nothing', async () => {
    install();
    const t = tab();
    const busy = await busyPage(t);
    const unknown = t.addFrame('app://main/never-served.html');
    expect(() => {
      t.startNavigation(null, 'app://main/elsewhere.html');
      t.startNavigation(unknown, 'app://main/elsewhere.html');
      t.commitNavigation(unknown, 'app://main/elsewhere.html');
      t.webContents.emit('did-frame-navigate', {}, 'app://main/gone.html', 200, 'OK', false, 999_999, 999_999);
    }).not.toThrow();
    await sleep(50);
    await expectServing(busy);
  });
});

describe('§6 installDataSocketBridge() is installed once, with valid options', () => {
  it('a second call throws ERR_DATASOCKET_INVALID_ARGUMENT and leaves the first serving', async () => {
    install();
    expectInstallRefused();
    expect(ipcMain.listenerCount(BRIDGE_CHANNEL)).toBe(1);
    await expectServing(await busyPage(tab()));
  });

  for (const options of [
    42,
    'options',
    [],
    { policy: 'allow' },
    { policy: 42 },
    { policy: {} },
    { limits: { sockets: 0 } },
    { limits: { sockets: -1 } },
    { limits: { sockets: 1.5 } },
    { limits: { sockets: '8' } },
    { limits: { queuedBytes: Number.NaN } },
    { limits: { queuedBytes: Infinity } },
    { limits: { queuedBytes: 2 ** 53 } },
    { limits: 5 },
    { limits: 'many' },
    { limits: [64] },
    { limits: { socket: 4 } },
    { namespace: '' },
    { namespace: 'a/b' },
    { namespace: '..' },
    { namespace: 42 },
  ]) {
    it(`${inspect(options)} throws ERR_DATASOCKET_INVALID_ARGUMENT, installs nothing, and a valid call still installs`, () => {
      expectInstallRefused(options);
      expect(ipcMain.listenerCount(BRIDGE_CHANNEL)).toBe(0);
      expect(app.listenerCount('will-quit')).toBe(0);
      install();
      expect(ipcMain.listenerCount(BRIDGE_CHANNEL)).toBe(1);
    });
  }

  it('null options, or a limit or the policy given as undefined, take the defaults', async () => {
    install(null as unknown as BridgeOptions).dispose();
    install({ limits: null } as unknown as BridgeOptions).dispose();
    install({ policy: undefined, limits: { sockets: undefined, queuedBytes: 1024 } });
    await expectServing(await busyPage(tab()));
  });

  it("the limits reach each page's host", async () => {
    install({ limits: { sockets: 1 } });
    const t = tab();
    const page = t.openPort(t.mainFrame);
    const node = await nodeListener();
    const first = observe(page.DataSocket.connect(node.name));
    const second = observe(page.DataSocket.connect(node.name));
    await until('both connects to settle', () => first.log.length > 0 && second.log.includes('close'));
    expect(first.log).toEqual(['connect']);
    expect(second.log).toEqual([`error:${ErrorCode.NOT_ALLOWED}`, 'close']);
  });

  it("the namespace option reaches each page's host: a page's bare name resolves inside it", async () => {
    install({ namespace: 'bridge-ns' });
    const t = tab();
    const page = t.openPort(t.mainFrame);
    const name = uniqueName('in-ns');
    const socket = page.DataSocket.listen(() => true, name);
    const listener = observe(socket);
    await until('the page to listen', () => listener.log.includes('listening'));
    expect(socket.address.path).toBe(path.join(runtimeDir, 'datasocket', 'bridge-ns', `${name}.sock`));
  });

  it('without a policy, the default one refuses TCP beyond loopback', async () => {
    install();
    const t = tab();
    const page = t.openPort(t.mainFrame);
    const events = observe(page.DataSocket.connect('192.0.2.1', 9));
    await until('the connect to be refused', () => events.log.includes('close'));
    expect(events.log).toEqual([`error:${ErrorCode.NOT_ALLOWED}`, 'close']);
  });
});

describe("§6 the bridge's dispose() stops serving", () => {
  it('removes its listeners: a later port gets no host, and will-quit is no longer watched', async () => {
    const policy = vi.fn<BridgePolicy>(() => true);
    install({ policy }).dispose();
    expect(ipcMain.listenerCount(BRIDGE_CHANNEL)).toBe(0);
    expect(app.listenerCount('will-quit')).toBe(0);
    const t = tab();
    const page = t.openPort(t.mainFrame);
    page.DataSocket.connect(uniqueName('nobody'));
    await sleep(100);
    expect(page.fromHost).toEqual([]);
    expect(policy).not.toHaveBeenCalled();
  });

  it('allows installing again, and the new bridge serves', async () => {
    install().dispose();
    install();
    await expectServing(await busyPage(tab()));
  });

  it('is harmless to call twice', async () => {
    const bridge = install();
    const busy = await busyPage(tab());
    bridge.dispose();
    expect(() => bridge.dispose()).not.toThrow();
    await expectDisposed(busy);
  });

  it('a second dispose() of an old bridge does not lift the once-only rule for the bridge installed after it', async () => {
    const old = install();
    old.dispose();
    install();
    old.dispose();
    expectInstallRefused();
    expect(ipcMain.listenerCount(BRIDGE_CHANNEL)).toBe(1);
    await expectServing(await busyPage(tab()));
  });
});

describe('§6 the policy learns who asks: the webContents, the frame and its URL, with the request', () => {
  it('a local connect: webContents, frame, url, action, transport, name and path', async () => {
    const requests: Parameters<BridgePolicy>[0][] = [];
    install({ policy: (request) => (requests.push(request), true) });
    const t = tab('app://main/index.html');
    const frame = t.addFrame('app://main/embedded.html');
    const page = t.openPort(frame);
    const node = await nodeListener();
    const events = observe(page.DataSocket.connect(node.name));
    await until('the connect', () => events.log.includes('connect'));
    expect(requests).toHaveLength(1);
    const [request] = requests;
    expect(request!.webContents).toBe(t.webContents);
    expect(request!.frame).toBe(frame);
    expect(request).toMatchObject({ url: 'app://main/embedded.html', action: 'connect', transport: 'local', name: node.name, path: node.listener.address.path });
  });

  it('a TCP listen, and the URL the frame has when it asks (after a same-document navigation)', async () => {
    const requests: Parameters<BridgePolicy>[0][] = [];
    install({ policy: (request) => (requests.push(request), true) });
    const t = tab('app://main/index.html');
    const page = t.openPort(t.mainFrame);
    t.startNavigation(t.mainFrame, 'app://main/index.html#/settings', { sameDocument: true });
    t.navigateInPage(t.mainFrame, 'app://main/index.html#/settings');
    const events = observe(page.DataSocket.listen(() => true, '127.0.0.1', 0));
    await until('the listen', () => events.log.includes('listening'));
    expect(requests).toHaveLength(1);
    expect(requests[0]!.webContents).toBe(t.webContents);
    expect(requests[0]!.frame).toBe(t.mainFrame);
    expect(requests[0]).toMatchObject({ url: 'app://main/index.html#/settings', action: 'listen', transport: 'tcp', name: '127.0.0.1', port: 0 });
  });

  it("a request that arrives after its frame was destroyed gives the policy frame null and url '' (never touching the dead frame)", async () => {
    const requests: Parameters<BridgePolicy>[0][] = [];
    install({ policy: (request) => (requests.push(request), false) });
    const t = tab();
    const frame = t.addFrame('app://main/embedded.html');
    const page = t.openPort(frame);
    const events = observe(page.DataSocket.connect(uniqueName('late')));
    // The message is on its way to main; the frame goes before main reads it.
    frame.destroy();
    await until('the refusal', () => events.log.includes('close'));
    expect(events.log).toEqual([`error:${ErrorCode.NOT_ALLOWED}`, 'close']);
    expect(requests).toHaveLength(1);
    expect(requests[0]!.webContents).toBe(t.webContents);
    expect(requests[0]!.frame).toBeNull();
    expect(requests[0]!.url).toBe('');
  });

  it('a refusal reaches the page as ERR_DATASOCKET_NOT_ALLOWED and opens nothing', async () => {
    install({ policy: () => false });
    const t = tab();
    const page = t.openPort(t.mainFrame);
    const name = uniqueName('refused');
    const events = observe(page.DataSocket.listen(() => true, name));
    await until('the refusal', () => events.log.includes('close'));
    expect(events.log).toEqual([`error:${ErrorCode.NOT_ALLOWED}`, 'close']);
    expect(fs.existsSync(`${runtimeDir}/datasocket/${name}.sock`)).toBe(false);
  });
});

describe("§6 dispose() lets go of what the bridge watched", () => {
  it('removes its listeners from every webContents it watched, so install/dispose cycles do not pile them up', async () => {
    const t = tab();
    const events = ['did-start-navigation', 'did-frame-navigate', 'render-process-gone', 'destroyed'] as const;
    const before = events.map((e) => t.webContents.listenerCount(e));
    for (let cycle = 0; cycle < 3; cycle++) {
      const bridge = install();
      await busyPage(t);
      expect(events.map((e) => t.webContents.listenerCount(e))).toEqual(before.map((n) => n + 1));
      bridge.dispose();
      expect(events.map((e) => t.webContents.listenerCount(e))).toEqual(before);
    }
  });
});

/** A collector for tests that must see an object become unreachable. */
function collectGarbage(): () => void {
  v8.setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

describe('§6 navigations that never commit leave nothing behind', () => {
  it('many frames whose navigations never commit, then go away: none of their ports stays reachable', async () => {
    install();
    const gc = collectGarbage();
    const t = tab();
    const refs: WeakRef<object>[] = [];
    const seen = (event: { ports: object[] }): void => {
      refs.push(new WeakRef(event.ports[0]!));
    };
    ipcMain.on(BRIDGE_CHANNEL, seen);
    for (let i = 0; i < 200; i++) {
      const frame = t.addFrame(`app://main/embedded-${i}.html`);
      const page = t.openPort(frame);
      // A 204, a download, a prevented navigation, an error that never commits…
      t.startNavigation(frame, `app://main/download-${i}.zip`);
      t.failNavigation(frame, `app://main/download-${i}.zip`);
      // …then the frame is removed: its document's port closes.
      frame.destroy();
      page.close();
    }
    ipcMain.off(BRIDGE_CHANNEL, seen);
    expect(refs).toHaveLength(200);
    // The bridge waits a moment after each port's close for the reason, then lets go.
    t.closePages();
    let live = refs.length;
    const deadline = Date.now() + PORT_CLOSE_GRACE_MS + 10_000;
    while (live > 0 && Date.now() < deadline) {
      await sleep(50);
      gc();
      live = refs.filter((ref) => ref.deref() !== undefined).length;
    }
    expect(live).toBe(0);
  });
});

describe("§6 the page learns that main's bridge is gone", () => {
  it("dispose(): every socket of the page fails with ERR_DATASOCKET_CLOSED and closes; a later connect() or listen() fails at once", async () => {
    const bridge = install();
    const busy = await busyPage(tab());
    bridge.dispose();
    await until('the page sockets to close', () => [busy.clientEvents, busy.listenerEvents, busy.acceptedEvents].every((e) => e.log.includes('close')));
    expect(busy.clientEvents.log).toEqual(['connect', `error:${ErrorCode.CLOSED}`, 'close']);
    expect(busy.listenerEvents.log).toEqual(['listening', `error:${ErrorCode.CLOSED}`, 'close']);
    expect(busy.acceptedEvents.log).toEqual([`error:${ErrorCode.CLOSED}`, 'close']);
    expect(() => busy.client.send('anyone?')).toThrow(expect.objectContaining({ code: ErrorCode.CLOSED }));
    const started = Date.now();
    const later = observe(busy.page.DataSocket.connect(uniqueName('after')));
    const laterListener = observe(busy.page.DataSocket.listen(() => true, uniqueName('after')));
    await until('the later sockets to fail', () => later.log.includes('close') && laterListener.log.includes('close'));
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(later.log).toEqual([`error:${ErrorCode.CLOSED}`, 'close']);
    expect(laterListener.log).toEqual([`error:${ErrorCode.CLOSED}`, 'close']);
    await expectDisposed(busy);
  });

  it("main's port closed for another reason (a second port replaced it): the first page's sockets fail the same way", async () => {
    install();
    const t = tab();
    const first = await busyPage(t);
    t.openPort(t.mainFrame);
    await until('the first page sockets to close', () => first.clientEvents.log.includes('close') && first.listenerEvents.log.includes('close'));
    expect(first.clientEvents.log).toEqual(['connect', `error:${ErrorCode.CLOSED}`, 'close']);
    expect(first.listenerEvents.log).toEqual(['listening', `error:${ErrorCode.CLOSED}`, 'close']);
  });

  it('a connect() or listen() that main never answers fails with ERR_DATASOCKET_TIMEOUT after handshakeTimeoutMs and a grace', async () => {
    // No bridge installed in main: the port reaches nobody, and nobody answers.
    const t = tab();
    const page = t.openPort(t.mainFrame);
    const started = Date.now();
    const client = observe(page.DataSocket.connect(uniqueName('unanswered'), { handshakeTimeoutMs: 200 }));
    const listener = observe(page.DataSocket.listen(() => true, uniqueName('unanswered'), { handshakeTimeoutMs: 200 }));
    await until('both to fail', () => client.log.includes('close') && listener.log.includes('close'), 5_000);
    const took = Date.now() - started;
    expect(client.log).toEqual([`error:${ErrorCode.TIMEOUT}`, 'close']);
    expect(listener.log).toEqual([`error:${ErrorCode.TIMEOUT}`, 'close']);
    expect(took).toBeGreaterThanOrEqual(200 + HOST_ANSWER_GRACE_MS - 20);
    expect(took).toBeLessThan(200 + HOST_ANSWER_GRACE_MS + 1_000);
  });

  it('a connect() main answers in time is not failed by the page: the timer ends with the answer', async () => {
    install();
    const t = tab();
    const page = t.openPort(t.mainFrame);
    const node = await nodeListener();
    const client = observe(page.DataSocket.connect(node.name, { handshakeTimeoutMs: 100 }));
    await until('the connect', () => client.log.includes('connect'));
    await sleep(100 + HOST_ANSWER_GRACE_MS + 100);
    expect(client.log).toEqual(['connect']);
  });
});

describe('§6 the fake MessagePortMain is no looser than Electron', () => {
  it('postMessage throws for a transfer list holding anything but MessagePortMain objects (electron/electron#37565)', () => {
    install();
    const t = tab();
    let port: { postMessage(message: unknown, transfer?: unknown[]): void } | undefined;
    const take = (event: { ports: { postMessage(message: unknown, transfer?: unknown[]): void }[] }): void => {
      port = event.ports[0];
    };
    ipcMain.on(BRIDGE_CHANNEL, take);
    t.openPort(t.mainFrame);
    ipcMain.off(BRIDGE_CHANNEL, take);
    const bytes = new Uint8Array(8);
    expect(() => port!.postMessage({ bytes }, [bytes.buffer])).toThrow(/only MessagePortMain/);
    expect(() => port!.postMessage({ bytes }, [bytes])).toThrow(/only MessagePortMain/);
    expect(() => port!.postMessage({ bytes }, [{}])).toThrow(/only MessagePortMain/);
    // The bytes were not moved: nothing was transferred.
    expect(bytes.byteLength).toBe(8);
  });
});
