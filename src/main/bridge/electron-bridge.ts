/**
 * THIN adapter between Electron and the host: takes each frame's message port,
 * gives it a Host, and ties the host's life to the frame's document — reload,
 * navigation, crash, destruction and quit all close that frame's sockets.
 * Everything else (policy, limits, validation, relaying) is in host.ts.
 */
import { app, ipcMain, webFrameMain, type IpcMainEvent, type RenderProcessGoneDetails, type WebContents, type WebFrameMain } from 'electron';
import { BRIDGE_CHANNEL, type HostMessage } from '../../shared/bridge-protocol.js';
import { invalidArgument } from '../../shared/errors.js';
import { checkNamespace } from '../../shared/options.js';
import { DEFAULT_LIMITS, Host, type DisposeReason, type HostLimits } from './host.js';
import { defaultPolicy, type SocketPolicy } from './policy.js';

/** What the policy learns about the page asking. */
export interface BridgeRequester {
  webContents: WebContents;
  /** The frame that asked (null if it is already gone). */
  frame: WebFrameMain | null;
  /** The frame's URL when it asked. */
  url: string;
}

/** A policy for the Electron bridge: sees the request and who asks. */
export type BridgePolicy = SocketPolicy<BridgeRequester>;

/** Options of {@link installDataSocketBridge}. */
export interface BridgeOptions {
  /** Decides each connect/listen from a page. Default: local sockets, and TCP on loopback only. */
  policy?: BridgePolicy;
  /** Per page: `sockets` (default 64) and `queuedBytes` (default 64 MiB). */
  limits?: Partial<HostLimits>;
  /**
   * The namespace the pages' bare names resolve in (SPEC §13). Default: main's
   * DATASOCKET_NAMESPACE when each socket opens, else none. Pages cannot choose their own.
   */
  namespace?: string;
}

/** The installed bridge. */
export interface DataSocketBridge {
  /** Closes every page's sockets and stops serving. */
  dispose(): void;
}

interface Served {
  readonly webContents: WebContents;
  /** A cross-document navigation of its frame started: the next commit there replaces this document. */
  navigating: boolean;
  dispose(reason: DisposeReason): void;
}

/**
 * @internal
 * How long main waits, once a page's port closed, for the event that says why
 * ('render-process-gone', 'destroyed', a navigation's commit): Electron sends them
 * over other channels, in no fixed order with the port's close. The reason decides
 * what the page's peers see: ECONNRESET for a crash, a clean close otherwise.
 */
export const PORT_CLOSE_GRACE_MS = 500;


let installed = false;

/**
 * Lets preloads that called `exposeDataSocket()` open sockets through this main
 * process. Call once, before any window loads.
 */
export function installDataSocketBridge(options: BridgeOptions = {}): DataSocketBridge {
  if (installed) throw invalidArgument('installDataSocketBridge() was already called');
  // As the Node options are read: null is no options, anything else must be an object.
  const given: BridgeOptions = options ?? {};
  if (typeof given !== 'object' || Array.isArray(given)) throw invalidArgument('options must be an object');
  const policy = given.policy ?? defaultPolicy;
  if (typeof policy !== 'function') throw invalidArgument("'policy' must be a function (request) => boolean | Promise<boolean>");
  const limits = resolveLimits(given.limits);
  if (given.namespace !== undefined) checkNamespace(given.namespace, "the 'namespace' option");
  const namespace = given.namespace;
  installed = true;

  const served = new Set<Served>();
  const byFrame = new Map<string, Served>();
  /** For each watched webContents, how to stop watching it. */
  const watched = new Map<WebContents, () => void>();

  const frameKey = (webContents: WebContents, frame: WebFrameMain): string => `${webContents.id}:${frame.frameTreeNodeId}`;

  const watch = (webContents: WebContents): void => {
    if (watched.has(webContents)) return;
    // A cross-document navigation that commits replaces the document that was there when it
    // started. The mark lives on that document's entry, not in a table: a navigation that never
    // commits (a 204, a download, a prevented or failed one) leaves nothing behind.
    const onStart = (details: { isSameDocument: boolean; frame: WebFrameMain | null | undefined }): void => {
      if (details.isSameDocument || details.frame === null || details.frame === undefined) return;
      const current = byFrame.get(frameKey(webContents, details.frame));
      if (current) current.navigating = true;
    };
    const onCommit = (_event: unknown, _url: string, _code: number, _status: string, _isMainFrame: boolean, processId: number, routingId: number): void => {
      const frame = webFrameMain.fromId(processId, routingId);
      if (!frame) return;
      // The new document may have posted its port first: its entry is not marked and stays.
      const current = byFrame.get(frameKey(webContents, frame));
      if (current?.navigating) current.dispose('navigated');
    };
    const onGone = (_event: unknown, details: RenderProcessGoneDetails | undefined): void =>
      // 'clean-exit' is the one reason that is not a crash: the renderer ended on purpose.
      disposeAll(webContents, details?.reason === 'clean-exit' ? 'exited' : 'crashed');
    const onDestroyed = (): void => {
      disposeAll(webContents, 'destroyed');
      unwatch();
    };
    const unwatch = (): void => {
      watched.delete(webContents);
      webContents.off('did-start-navigation', onStart);
      webContents.off('did-frame-navigate', onCommit);
      webContents.off('render-process-gone', onGone);
      webContents.off('destroyed', onDestroyed);
    };
    watched.set(webContents, unwatch);
    webContents.on('did-start-navigation', onStart);
    webContents.on('did-frame-navigate', onCommit);
    webContents.on('render-process-gone', onGone);
    webContents.once('destroyed', onDestroyed);
  };

  const disposeAll = (webContents: WebContents, reason: DisposeReason): void => {
    for (const s of [...served]) if (s.webContents === webContents) s.dispose(reason);
  };

  // No event said why within the grace: ask the webContents, so a crash whose event is late
  // or missing still drops connections (peers see ECONNRESET) rather than closing them cleanly.
  const whyClosed = (webContents: WebContents): DisposeReason =>
    webContents.isDestroyed() ? 'destroyed' : webContents.isCrashed() ? 'crashed' : 'port-closed';

  const onPort = (event: IpcMainEvent): void => {
    const port = event.ports[0];
    const frame = event.senderFrame;
    if (port === undefined) return;
    if (frame === null) {
      // The frame is gone (or navigated) already: nobody serves this port. Say so, so a page
      // that still runs fails its sockets at once instead of waiting for answers.
      port.postMessage({ t: 'shutdown' } satisfies HostMessage);
      port.close();
      return;
    }
    const webContents = event.sender;
    const key = frameKey(webContents, frame);
    // One document, one host: a frame that sends a new port has a new document.
    byFrame.get(key)?.dispose('navigated');
    const host = new Host<BridgeRequester>((message) => port.postMessage(message), {
      policy,
      limits,
      namespace,
      traceLabel: `webContents ${webContents.id} frame ${frame.frameTreeNodeId}`,
      context: () => ({ webContents, frame: frame.isDestroyed() ? null : frame, url: frame.isDestroyed() ? '' : frame.url }),
    });
    let closeTimer: ReturnType<typeof setTimeout> | undefined;
    const entry: Served = {
      webContents,
      navigating: false,
      dispose(reason) {
        if (!served.delete(entry)) return;
        clearTimeout(closeTimer);
        if (byFrame.get(key) === entry) byFrame.delete(key);
        host.dispose(reason);
        // Tell the page before closing: Chromium fires no 'close' on the page's end of the port
        // (checked in Chromium 156), so a page that lives on (dispose()) learns it only this way.
        port.postMessage({ t: 'shutdown' } satisfies HostMessage);
        port.close();
      },
    };
    served.add(entry);
    byFrame.set(key, entry);
    watch(webContents);
    port.on('message', (message) => host.receive(message.data));
    port.on('close', () => {
      if (!served.has(entry) || closeTimer !== undefined) return;
      closeTimer = setTimeout(() => entry.dispose(whyClosed(webContents)), PORT_CLOSE_GRACE_MS);
    });
    port.start();
  };

  const disposeServed = (reason: DisposeReason): void => {
    for (const s of [...served]) s.dispose(reason);
  };
  const onQuit = (): void => disposeServed('quit');

  ipcMain.on(BRIDGE_CHANNEL, onPort);
  app.on('will-quit', onQuit);
  let disposed = false;
  return {
    dispose(): void {
      // A second call must not lift the once-only rule for a bridge installed since.
      if (disposed) return;
      disposed = true;
      ipcMain.removeListener(BRIDGE_CHANNEL, onPort);
      app.removeListener('will-quit', onQuit);
      disposeServed('disposed');
      for (const unwatch of [...watched.values()]) unwatch();
      installed = false;
    },
  };
}

/** The given limits over the defaults, read as the Node options are: an unknown key is refused, undefined keeps the default. */
function resolveLimits(given: unknown): HostLimits {
  const limits = { ...DEFAULT_LIMITS };
  if (given === undefined || given === null) return limits;
  if (typeof given !== 'object' || Array.isArray(given)) throw invalidArgument("'limits' must be an object");
  for (const [key, value] of Object.entries(given)) {
    if (!Object.hasOwn(DEFAULT_LIMITS, key)) throw invalidArgument(`unknown limit 'limits.${key}'`);
    if (value === undefined) continue;
    if (!Number.isSafeInteger(value) || value < 1) throw invalidArgument(`'limits.${key}' must be a positive integer`);
    limits[key as keyof HostLimits] = value;
  }
  return limits;
}
