/**
 * THIN adapter for a sandboxed preload: opens a message port to the main
 * process and installs `window.Net.DataSocket` in the page's main world.
 *
 * The DataSocket class is built in the main world itself (through
 * contextBridge.executeInMainWorld), not proxied across the bridge: contextBridge
 * makes a new proxy for every crossing of a function (electron/electron#33328), so
 * `off(f)` and chaining could not work on a proxied object. Only two functions
 * cross, once each: one to post to main, one to receive from it. The page gets
 * nothing else — no ipcRenderer, no channel names.
 */
import { contextBridge, ipcRenderer } from 'electron';
import { installMainWorld } from 'electron-datasocket:main-world';
import { BRIDGE_CHANNEL, type ClientMessage, type HostMessage } from '../shared/bridge-protocol.js';
import { invalidArgument } from '../shared/errors.js';
import type { MainWorldBridge } from '../renderer/main-world.js';

/** Options of {@link exposeDataSocket}. */
export interface ExposeOptions {
  /** The global the page finds the API on: `window[key].DataSocket`. Default `'Net'`, as in Sciter. */
  key?: string;
}

let exposed = false;

/**
 * Makes `window.Net.DataSocket` available to the page. Call once, from a preload
 * running with `contextIsolation: true` and `sandbox: true`; main must have called
 * `installDataSocketBridge()`.
 */
export function exposeDataSocket(options: ExposeOptions = {}): void {
  const key = options.key ?? 'Net';
  if (typeof key !== 'string' || !/^[A-Za-z_$][\w$]*$/.test(key)) throw invalidArgument(`'key' must be an identifier, not ${String(key)}`);
  if (exposed) throw invalidArgument('exposeDataSocket() was already called in this preload');
  exposed = true;

  const { port1, port2 } = new MessageChannel();
  let receive: ((message: HostMessage) => void) | null = null;
  const early: HostMessage[] = [];
  port1.onmessage = (event: MessageEvent<HostMessage>) => {
    if (receive) receive(event.data);
    else early.push(event.data);
  };
  const bridge: MainWorldBridge = {
    post(message: ClientMessage): void {
      // Never a transfer list: a renderer message whose transfer list holds an ArrayBuffer
      // reaches MessagePortMain with its data lost (electron/electron#34905), so the bytes
      // are copied once more here rather than moved.
      port1.postMessage(message);
    },
    listen(handler: (message: HostMessage) => void): void {
      if (receive) return;
      receive = handler;
      for (const message of early.splice(0)) handler(message);
    },
  };
  ipcRenderer.postMessage(BRIDGE_CHANNEL, null, [port2]);
  contextBridge.executeInMainWorld({ func: installMainWorld, args: [key, bridge, process.platform] });
}
