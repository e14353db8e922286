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
import { DataSocketError, ErrorCode, invalidArgument } from '../shared/errors.js';
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
  // Install first, then hand main the port: a page without the API must not hold a host in main.
  // Until main has the port, what the page posts waits in it.
  let failure: string | null;
  try {
    failure = contextBridge.executeInMainWorld({ func: installMainWorld, args: [key, bridge, process.platform] }) as string | null;
  } catch (error) {
    failure = error instanceof Error ? error.message : String(error);
  }
  if (failure !== null) {
    exposed = false;
    port1.close();
    port2.close();
    throw new DataSocketError(ErrorCode.INVALID_ARGUMENT, installFailure(key, failure));
  }
  ipcRenderer.postMessage(BRIDGE_CHANNEL, null, [port2]);
}

/** Explains why the page's DataSocket could not be installed, naming the likely cause. */
function installFailure(key: string, failure: string): string {
  const helper = /\b(__[A-Za-z]\w*|_class\w*|_define\w*) is not defined/.exec(failure);
  if (helper !== null) {
    return (
      `exposeDataSocket(): window.${key}.DataSocket could not be installed: ${failure}. ` +
      `A bundler rewrote the function that runs in the page's main world and added a helper ('${helper[1]}') the main world does not have ` +
      "(esbuild's keepNames adds __name; a target below es2015 adds others). Bundle the preload without that option, or leave electron-datasocket/preload as it is shipped."
    );
  }
  if (/already defined|redefine|read[- ]only|not extensible|non-configurable/i.test(failure)) {
    return `exposeDataSocket(): window.${key} is already taken in the page and cannot be replaced (${failure}); choose another key with exposeDataSocket({ key }).`;
  }
  return `exposeDataSocket(): window.${key}.DataSocket could not be installed in the page's main world: ${failure}`;
}
