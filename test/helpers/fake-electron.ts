/**
 * A stand-in for the few parts of Electron's main-process API that
 * src/main/bridge/electron-bridge.ts uses, for `vi.mock('electron', …)`: ipcMain and app
 * are EventEmitters, webContents emit the events Electron emits with Electron's
 * arguments, webFrameMain.fromId finds live frames, and each frame's port is a real
 * worker_threads MessageChannel, so every message is structured-cloned. The page
 * end of each port drives the real page client (src/renderer/client.ts).
 *
 * It is never looser than Electron where the bridge relies on it: `senderFrame` is
 * null once the frame is gone, a destroyed frame's `url` throws, a cross-document
 * commit gives the frame a new WebFrameMain (same frameTreeNodeId, new routing id)
 * unless told to keep it, a port emits 'message' only after start(), and 'close'
 * only when the page's end goes away; `MessagePortMain.postMessage` refuses a transfer
 * list (electron/electron#37565). A renderer that goes away (`crash()`) can close its
 * ports before or after 'render-process-gone', as Electron gives no order; a navigation
 * or destruction does not close them here: when that happens in Electron is not the
 * bridge's to rely on, so tests close them with `page.close()` where they mean to.
 */
import { EventEmitter } from 'node:events';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { BRIDGE_CHANNEL, type ClientMessage, type HostMessage } from '../../src/shared/bridge-protocol.js';
import { createBridgeClient, type PageDataSocketClass } from '../../src/renderer/client.js';

/** Electron's `ipcMain`: the bridge listens on it for the preload's port. */
export const ipcMain = new EventEmitter();
/** Electron's `app`: emits 'will-quit'. */
export const app = new EventEmitter();

/** Live frames by `processId:routingId`, as webFrameMain.fromId finds them. */
const liveFrames = new Map<string, FakeWebFrameMain>();
let lastProcessId = 100;
let lastRoutingId = 0;
let lastFrameTreeNodeId = 0;
let lastWebContentsId = 0;

/** Electron's `webFrameMain`. */
export const webFrameMain = {
  fromId(processId: number, routingId: number): FakeWebFrameMain | undefined {
    return liveFrames.get(`${processId}:${routingId}`);
  },
};

/** Electron's `MessagePortMain`, over one end of a real worker_threads channel. */
export class FakeMessagePortMain extends EventEmitter {
  readonly #port: MessagePort;
  #started = false;
  #closed = false;

  constructor(port: MessagePort) {
    super();
    this.#port = port;
    // Electron: "Emitted when the remote end of a MessagePortMain object becomes disconnected."
    port.on('close', () => {
      if (this.#closed) return;
      this.#closed = true;
      this.emit('close');
    });
  }

  /**
   * Electron (docs/api/message-port-main.md, shell/browser/api/message_port.cc) transfers
   * only MessagePortMain objects: anything else in the transfer list — an ArrayBuffer or a
   * typed array included (electron/electron#37565, which crashed main before it threw) — is
   * an error. Stricter here: no transfer list at all (the bridge never moves ports to a page).
   */
  postMessage(message: unknown, transfer: unknown[] = []): void {
    if (!Array.isArray(transfer)) throw new TypeError('fake-electron: MessagePortMain.postMessage: the transfer list must be an array');
    for (const item of transfer) {
      if (!(item instanceof FakeMessagePortMain)) throw new TypeError('fake-electron: MessagePortMain.postMessage transfers only MessagePortMain objects (electron/electron#37565)');
    }
    if (transfer.length > 0) throw new Error('fake-electron: transferring ports is not modelled');
    if (this.#closed) return;
    this.#port.postMessage(message);
  }

  /** Messages wait in the channel until this is called, as in Electron. */
  start(): void {
    if (this.#started || this.#closed) return;
    this.#started = true;
    this.#port.on('message', (data: unknown) => this.emit('message', { data, ports: [] }));
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#port.close();
  }
}

/** Electron's `WebFrameMain`: one per frame host; its `url` throws once it is destroyed. */
export class FakeWebFrameMain {
  readonly frameTreeNodeId: number;
  readonly processId: number;
  readonly routingId: number;
  #url: string;
  #destroyed = false;

  constructor(frameTreeNodeId: number, processId: number, url: string) {
    this.frameTreeNodeId = frameTreeNodeId;
    this.processId = processId;
    this.routingId = ++lastRoutingId;
    this.#url = url;
    liveFrames.set(`${processId}:${this.routingId}`, this);
  }

  get url(): string {
    if (this.#destroyed) throw new Error('Render frame was disposed before WebFrameMain could be accessed');
    return this.#url;
  }

  isDestroyed(): boolean {
    return this.#destroyed;
  }

  /** Driver: the document's URL changes. */
  setUrl(url: string): void {
    this.#url = url;
  }

  /** Driver: the frame host goes away. */
  destroy(): void {
    this.#destroyed = true;
    liveFrames.delete(`${this.processId}:${this.routingId}`);
  }
}

/** Electron's `WebContents`: an EventEmitter with an `id`. */
export class FakeWebContents extends EventEmitter {
  readonly id = ++lastWebContentsId;
  #destroyed = false;
  #crashed = false;

  isDestroyed(): boolean {
    return this.#destroyed;
  }

  isCrashed(): boolean {
    return this.#crashed;
  }

  /** Driver: its renderer process died. */
  markCrashed(): void {
    this.#crashed = true;
  }

  /** Driver: marks it destroyed (the 'destroyed' event is the tab's to emit). */
  markDestroyed(): void {
    this.#destroyed = true;
  }
}

/** The page end of a port: the real page client, and everything that crossed. */
export class FakePage {
  readonly DataSocket: PageDataSocketClass;
  /** Every message the host sent this page. */
  readonly fromHost: HostMessage[] = [];
  /** Every message this page's client sent the host. */
  readonly toHost: ClientMessage[] = [];
  readonly #port: MessagePort;

  constructor(port: MessagePort) {
    this.#port = port;
    const client = createBridgeClient((message) => {
      this.toHost.push(message);
      port.postMessage(message);
    }, process.platform);
    this.DataSocket = client.DataSocket;
    port.on('message', (message: HostMessage) => {
      this.fromHost.push(message);
      client.receive(message);
    });
  }

  /** Posts a raw message to the host, as a hostile page could. */
  inject(message: unknown): void {
    this.#port.postMessage(message);
  }

  /** The page's end of the port goes away: main sees the port's 'close'. */
  close(): void {
    this.#port.close();
  }
}

/** What a test can say about the IPC message a frame sends. */
export interface PortMessage {
  /** `event.senderFrame`; default: the frame, or null once it is destroyed. */
  senderFrame?: FakeWebFrameMain | null;
  /** Whether the message carries a port (the preload always sends one). Default true. */
  withPort?: boolean;
}

/** One webContents and its frames, and the things that happen to them. */
export class FakeTab {
  readonly webContents = new FakeWebContents();
  readonly processId = ++lastProcessId;
  /** The current frame host of each frame tree node. */
  readonly #frames = new Map<number, FakeWebFrameMain>();
  readonly #mainFrameTreeNodeId: number;
  readonly #pages = new Set<FakePage>();

  constructor(url = 'app://main/index.html') {
    this.#mainFrameTreeNodeId = this.#add(url).frameTreeNodeId;
  }

  get mainFrame(): FakeWebFrameMain {
    return this.#frames.get(this.#mainFrameTreeNodeId)!;
  }

  /** Adds a subframe (an iframe) in the same renderer process. */
  addFrame(url: string): FakeWebFrameMain {
    return this.#add(url);
  }

  /** What the preload does in `frame`'s document: posts a new port to main on the bridge channel. */
  openPort(frame: FakeWebFrameMain, message: PortMessage = {}): FakePage {
    const { port1, port2 } = new MessageChannel();
    const page = new FakePage(port2);
    this.#pages.add(page);
    const withPort = message.withPort ?? true;
    if (!withPort) port1.close();
    this.postPort(frame, withPort ? port1 : null, message);
    return page;
  }

  /**
   * `ipcRenderer.postMessage(BRIDGE_CHANNEL, null, [port])` from `frame`'s document, as main
   * receives it: `port` (main's end of a real channel, or null for a message without one)
   * arrives as a MessagePortMain in `event.ports`.
   */
  postPort(frame: FakeWebFrameMain, port: MessagePort | null, message: Omit<PortMessage, 'withPort'> = {}): void {
    const ports = port === null ? [] : [new FakeMessagePortMain(port)];
    const explicit = 'senderFrame' in message;
    const event = {
      type: 'frame' as const,
      sender: this.webContents,
      // Electron looks the frame up when asked, and gives null once it navigated or was destroyed.
      get senderFrame(): FakeWebFrameMain | null {
        if (explicit) return message.senderFrame ?? null;
        return frame.isDestroyed() ? null : frame;
      },
      ports,
      processId: frame.processId,
      frameId: frame.routingId,
      returnValue: undefined as unknown,
      reply(): void {
        throw new Error('fake-electron: the bridge never replies over ipc');
      },
    };
    ipcMain.emit(BRIDGE_CHANNEL, event, null);
  }

  /** 'did-start-navigation', as Electron emits it. */
  startNavigation(frame: FakeWebFrameMain | null, url: string, options: { sameDocument?: boolean } = {}): void {
    const isSameDocument = options.sameDocument ?? false;
    const isMainFrame = frame !== null && frame.frameTreeNodeId === this.#mainFrameTreeNodeId;
    const details = { url, isSameDocument, isMainFrame, frame, initiator: null, defaultPrevented: false, preventDefault(): void {} };
    this.webContents.emit('did-start-navigation', details, url, isSameDocument, isMainFrame, frame?.processId ?? -1, frame?.routingId ?? -1);
  }

  /**
   * A cross-document navigation of `frame` commits: 'did-frame-navigate'. By default the
   * new document gets a new frame host (a new WebFrameMain, the old one destroyed).
   * `beforeReport` runs after the commit and before the event (the new document may
   * post its port before main hears of the commit).
   */
  commitNavigation(frame: FakeWebFrameMain, url: string, options: { sameFrameHost?: boolean; beforeReport?: (frame: FakeWebFrameMain) => void } = {}): FakeWebFrameMain {
    let current = frame;
    if (options.sameFrameHost) {
      frame.setUrl(url);
    } else {
      frame.destroy();
      current = new FakeWebFrameMain(frame.frameTreeNodeId, this.processId, url);
      this.#frames.set(frame.frameTreeNodeId, current);
    }
    options.beforeReport?.(current);
    const isMainFrame = frame.frameTreeNodeId === this.#mainFrameTreeNodeId;
    this.webContents.emit('did-frame-navigate', { defaultPrevented: false, preventDefault(): void {} }, url, 200, 'OK', isMainFrame, current.processId, current.routingId);
    return current;
  }

  /** A navigation that started but did not commit (a download, a 204, a cancel). */
  failNavigation(frame: FakeWebFrameMain, url: string): void {
    const isMainFrame = frame.frameTreeNodeId === this.#mainFrameTreeNodeId;
    this.webContents.emit('did-fail-provisional-load', { defaultPrevented: false, preventDefault(): void {} }, -3, 'ERR_ABORTED', url, isMainFrame, frame.processId, frame.routingId);
  }

  /** A same-document navigation (pushState, #fragment) commits: 'did-navigate-in-page'. */
  navigateInPage(frame: FakeWebFrameMain, url: string): void {
    frame.setUrl(url);
    const isMainFrame = frame.frameTreeNodeId === this.#mainFrameTreeNodeId;
    this.webContents.emit('did-navigate-in-page', { defaultPrevented: false, preventDefault(): void {} }, url, isMainFrame, frame.processId, frame.routingId);
  }

  /**
   * The renderer process goes away: its frames are gone, then 'render-process-gone' with
   * `reason` ('crashed', 'oom', 'killed', … or 'clean-exit'; Electron's
   * RenderProcessGoneDetails). Its ports die with it, and Electron gives no order between
   * a port's 'close' and that event (they travel over different pipes): `ports` says
   * whether the page ends of this tab's ports close 'before' the event (and before
   * `isCrashed()` turns true), 'after' it, or are left open ('never', the default, for
   * tests that close them themselves).
   */
  async crash(options: { reason?: string; ports?: 'before' | 'after' | 'never'; delayMs?: number } = {}): Promise<void> {
    const { reason = 'crashed', ports = 'never', delayMs = 20 } = options;
    for (const frame of this.#frames.values()) frame.destroy();
    if (ports === 'before') {
      this.closePages();
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
    // content::WebContents::IsCrashed() is false for a renderer that exited normally.
    if (reason !== 'clean-exit') this.webContents.markCrashed();
    this.webContents.emit('render-process-gone', { defaultPrevented: false, preventDefault(): void {} }, { reason, exitCode: reason === 'clean-exit' ? 0 : 139 });
    if (ports === 'after') {
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      this.closePages();
    }
  }

  /** The webContents is destroyed (its window closed): frames gone, then 'destroyed'. */
  destroy(): void {
    for (const frame of this.#frames.values()) frame.destroy();
    this.webContents.markDestroyed();
    this.webContents.emit('destroyed');
  }

  /** Closes the page ends of every port this tab opened. */
  closePages(): void {
    for (const page of this.#pages) page.close();
    this.#pages.clear();
  }

  #add(url: string): FakeWebFrameMain {
    const frame = new FakeWebFrameMain(++lastFrameTreeNodeId, this.processId, url);
    this.#frames.set(frame.frameTreeNodeId, frame);
    return frame;
  }
}

/** The module `vi.mock('electron', …)` gives the bridge. */
export const fakeElectron = { app, ipcMain, webFrameMain };
