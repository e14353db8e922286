/**
 * Stand-in for Electron's `ipcRenderer`, with only `postMessage`, the one method the
 * preload uses, and only for the bridge's channel: the preload hands main its end of
 * a MessageChannel there, and the stand-in carries that port to the harness (the
 * stand-in main process) over a WebSocket, one WebSocket per port, as Electron gives
 * main one MessagePortMain per port.
 *
 * Like Electron, it takes the port over: the port is transferred (structuredClone
 * with `transfer`), so the preload's object is detached and cannot be used or posted
 * again; anything that is not a real MessagePort (a brand check, not its tag) throws.
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
import { apply, branded, defineProperty, getterOf, isArray } from './intrinsics.js';
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
/** A real MessagePort of either realm (the event-handler getter throws for anything else). */
const isMessagePort = branded(getterOf(isolatedWindow.MessagePort.prototype, 'onmessageerror'));

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

/** `ipcRenderer` as the preload sees it: `postMessage` on the bridge channel, nothing else. */
export const ipcRenderer = Object.freeze({
  /** Takes `transfer[0]` (a MessagePort) over and hands it to the stand-in main process. */
  postMessage(channel: string, message: unknown, transfer?: unknown[]): void {
    if (channel !== BRIDGE_CHANNEL) throw new Error(`ipcRenderer stand-in: only the channel '${BRIDGE_CHANNEL}' exists here, not '${String(channel)}'`);
    if (message !== null) throw new TypeError('ipcRenderer stand-in: the bridge channel carries no message, only a port');
    if (!isArray(transfer) || transfer.length !== 1) throw new TypeError('ipcRenderer stand-in: the bridge channel takes exactly one MessagePort');
    const port: unknown = transfer[0];
    if (typeof port !== 'object' || port === null || !isMessagePort(port)) throw new TypeError('ipcRenderer stand-in: the bridge channel takes exactly one MessagePort');
    // Taking it over as Electron does: the transfer detaches the preload's object, and throws if it was already transferred.
    let owned: RealmPort;
    try {
      owned = apply(isolatedClone, isolatedWindow, [port, { transfer: [port] }]) as RealmPort;
    } catch (error) {
      throw new TypeError(`ipcRenderer stand-in: this MessagePort cannot be taken over (already transferred?): ${(error as Error).message}`);
    }
    relay(owned);
  },
});
