/**
 * Stand-in for Electron's `ipcRenderer`, with only `postMessage`, the one method the
 * preload uses, and only for the bridge's channel: the preload hands main its end of
 * a MessageChannel there, and the stand-in carries that port to the harness (the
 * stand-in main process) over a WebSocket, one WebSocket per port, as Electron gives
 * main one MessagePortMain per port.
 *
 * Stricter than Electron: any other channel throws; the message must be null and the
 * transfer list exactly one MessagePort; what the page posts into the port must pass
 * the strict encoding of wire-json.ts (Electron would structured-clone anything).
 */
import { BRIDGE_CHANNEL } from '../../../src/shared/bridge-protocol.js';
import { crossRealm, standInRealms } from './context-bridge.js';
import { CONFIG_KEY, type RealmPort, type RealmWindow, type StandInConfig } from './realm-types.js';
import { decodeMessage, encodeMessage, HOST_TO_PAGE, STRICT } from './wire-json.js';

const CONNECTING = 0;
const OPEN = 1;

/** The test-only global of the page; see {@link exposeTestInternals}. */
export const TEST_INTERNALS_KEY = '__datasocketTest';

function relay(port: RealmPort, config: StandInConfig): void {
  const realm = globalThis as unknown as RealmWindow;
  const page = encodeURIComponent(realm.parent.location.href);
  const socket = new realm.WebSocket(`${config.portUrl}?page=${page}`);
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
    if (config.internals) replies.push(message);
    port.postMessage(message);
  };
  // Main is gone (the harness stopped): the preload's port closes, as a MessagePortMain's would.
  socket.onclose = () => port.close();
  if (config.internals) exposeTestInternals(toHost, replies);
}

/**
 * TEST-ONLY, and only in this stand-in: puts `window.__datasocketTest` on the PAGE
 * with `post(raw)` (sends a raw message into this frame's port, as a hostile page
 * that reached the preload's internals could) and `replies()` (every host message
 * so far). The real preload exposes nothing but `window.Net.DataSocket`; the
 * harness turns this on only for pages loaded with `?internals=1`.
 */
function exposeTestInternals(toHost: (message: unknown) => void, replies: unknown[]): void {
  const { isolated, main } = standInRealms();
  const internals = crossRealm({ post: (raw: unknown) => toHost(raw), replies: () => replies.slice() }, isolated, main);
  Object.defineProperty(main.window, TEST_INTERNALS_KEY, { value: internals, enumerable: false });
}

/** `ipcRenderer` as the preload sees it: `postMessage` on the bridge channel, nothing else. */
export const ipcRenderer = Object.freeze({
  /** Hands `transfer[0]` (a MessagePort) to the stand-in main process. */
  postMessage(channel: string, message: unknown, transfer?: unknown[]): void {
    if (channel !== BRIDGE_CHANNEL) throw new Error(`ipcRenderer stand-in: only the channel '${BRIDGE_CHANNEL}' exists here, not '${String(channel)}'`);
    if (message !== null) throw new TypeError('ipcRenderer stand-in: the bridge channel carries no message, only a port');
    const [port, ...more] = Array.isArray(transfer) ? transfer : [];
    if (port === undefined || more.length > 0 || Object.prototype.toString.call(port) !== '[object MessagePort]') {
      throw new TypeError('ipcRenderer stand-in: the bridge channel takes exactly one MessagePort');
    }
    const config = (globalThis as unknown as Record<string, unknown>)[CONFIG_KEY] as StandInConfig | undefined;
    if (config === undefined) throw new Error('Electron stand-in: not loaded by the stand-in loader (no config)');
    relay(port as RealmPort, config);
  },
});
