/**
 * Stand-in for Electron's `ipcRenderer`, with only `postMessage`, the one method the
 * preload uses, and only for the bridge's channel: the preload hands main its end of
 * a MessageChannel there, and the stand-in carries that port to the harness (the
 * stand-in main process) over a WebSocket, one WebSocket per port, as Electron gives
 * main one MessagePortMain per port.
 *
 * Like Electron (shell/renderer/api/electron_api_ipc_renderer.cc, PostMessage;
 * docs/api/ipc-renderer.md: `transfer` is MessagePort[]), it takes the port over: the
 * port is transferred (structuredClone with `transfer`), so the preload's object is
 * detached and cannot be used or posted again; anything in the transfer list that is
 * not a real MessagePort (a brand check, not its tag), or a port already transferred,
 * throws a TypeError ("Invalid value for transfer", as Electron's).
 *
 * What the preload then posts into its end of the channel reaches the harness as
 * Electron's main would see it: a message posted with buffers in its transfer list
 * arrives as `null` (message-port.ts, #34905); ports that come along with a message
 * are closed here, since the stand-in's main cannot hold them (stricter: Electron's
 * main would get them in `event.ports`).
 *
 * Each WebSocket carries the harness's token for this document and the document's
 * next port number; the harness accepts each pair once, knows the document's URL
 * from its own record of the token, and disposes the document's earlier Host when a
 * second port comes, as Electron's main does for a frame.
 *
 * Stricter than Electron: any other channel throws; the message must be null and the
 * transfer list exactly one MessagePort; what the page posts into the port must pass
 * the strict encoding of wire-json.ts (Electron would structured-clone anything).
 */
import { BRIDGE_CHANNEL } from '../../../src/shared/bridge-protocol.js';
import { standInConfig } from './config.js';
import { crossRealm } from './context-bridge.js';
import { apply, defineProperty, isArray } from './intrinsics.js';
import { isMessagePort } from './message-port.js';
import { isolated, main } from './realms.js';
import type { RealmPort, RealmWindow } from './realm-types.js';
import { decodeMessage, encodeMessage, HOST_TO_PAGE, STRICT } from './wire-json.js';

const CONNECTING = 0;
const OPEN = 1;

/** The test-only global of the page; see {@link exposeTestInternals}. */
export const TEST_INTERNALS_KEY = '__datasocketTest';

// Taken before any page script runs, as in intrinsics.ts: the page can reach this realm.
const isolatedWindow = globalThis as unknown as RealmWindow;
const IsolatedWebSocket = isolatedWindow.WebSocket;
const isolatedClone = isolatedWindow.structuredClone;

/** How many ports this document has handed to main so far. */
let portsPosted = 0;

function relay(port: RealmPort): void {
  const socket = new IsolatedWebSocket(`${standInConfig.portUrl}?token=${standInConfig.token}&port=${++portsPosted}`);
  const waiting: string[] = [];
  const replies: unknown[] = [];
  const toHost = (message: unknown): void => {
    const text = encodeMessage(message, STRICT);
    if (socket.readyState === OPEN) socket.send(text);
    else if (socket.readyState === CONNECTING) waiting.push(text);
  };
  port.onmessage = (event) => {
    for (let i = 0; i < event.ports.length; i++) event.ports[i]!.close();
    try {
      toHost(event.data);
    } catch (error) {
      // Loud on purpose: a message the strict encoding refuses is a finding, not noise.
      console.error(`Electron stand-in: the page posted a message the strict IPC refuses: ${(error as Error).message}`);
      throw error;
    }
  };
  socket.onopen = () => {
    for (const text of waiting.splice(0)) socket.send(text);
  };
  socket.onmessage = (event) => {
    const message = decodeMessage(String(event.data), HOST_TO_PAGE);
    if (standInConfig.internals) replies.push(message);
    port.postMessage(message);
  };
  // Main is gone, refused the port or replaced it with a newer one: the port closes, as a MessagePortMain's would.
  socket.onclose = () => port.close();
  if (standInConfig.internals) exposeTestInternals(toHost, replies);
}

/**
 * TEST-ONLY, and only in this stand-in: puts `window.__datasocketTest` on the PAGE
 * with `post(raw)` (sends a raw message into this frame's port, as a hostile page
 * that reached the preload's internals could) and `replies()` (every host message
 * so far). The real preload exposes nothing but `window.Net.DataSocket`; only a
 * harness started with `--internals` turns this on, never the page.
 */
function exposeTestInternals(toHost: (message: unknown) => void, replies: unknown[]): void {
  const internals = crossRealm({ post: (raw: unknown) => toHost(raw), replies: () => replies.slice() }, isolated, main);
  defineProperty(main.window, TEST_INTERNALS_KEY, { value: internals, enumerable: false });
}

/** Takes a port over as Electron does: the transfer detaches the preload's object; null if it was already transferred. */
function takeOver(port: object): RealmPort | null {
  try {
    return apply(isolatedClone, isolatedWindow, [port, { transfer: [port] }]) as RealmPort;
  } catch {
    return null;
  }
}

/** `ipcRenderer` as the preload sees it: `postMessage` on the bridge channel, nothing else. */
export const ipcRenderer = Object.freeze({
  /** Takes `transfer[0]` (a MessagePort) over and hands it to the stand-in main process. */
  postMessage(channel: string, message: unknown, transfer?: unknown[]): void {
    if (channel !== BRIDGE_CHANNEL) throw new Error(`ipcRenderer stand-in: only the channel '${BRIDGE_CHANNEL}' exists here, not '${String(channel)}'`);
    if (message !== null) throw new TypeError('ipcRenderer stand-in: the bridge channel carries no message, only a port');
    if (!isArray(transfer)) throw new TypeError('Invalid value for transfer (ipcRenderer stand-in: an array of one MessagePort)');
    for (let i = 0; i < transfer.length; i++) {
      const item: unknown = transfer[i];
      if (typeof item === 'object' && item !== null && isMessagePort(item)) continue;
      // Electron takes the ports one by one and fails at the first that is not one: those before it are gone.
      for (let j = 0; j < i; j++) takeOver(transfer[j] as object)?.close();
      throw new TypeError('Invalid value for transfer (ipcRenderer stand-in: only MessagePorts)');
    }
    if (transfer.length !== 1) throw new TypeError('ipcRenderer stand-in: the bridge channel takes exactly one MessagePort');
    const port = transfer[0] as object;
    const owned = takeOver(port);
    if (owned === null) throw new TypeError('Invalid value for transfer (ipcRenderer stand-in: this MessagePort cannot be taken over, already transferred?)');
    relay(owned);
  },
});
