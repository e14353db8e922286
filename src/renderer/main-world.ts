/**
 * What runs in the page's main world: it builds the page's DataSocket class and
 * defines `window[key] = { DataSocket }`. The preload runs this through
 * `contextBridge.executeInMainWorld`, which serializes the function, so the build
 * bundles this file (with the client, the codec and msgpackr) into one
 * self-contained function: see scripts/preload-bundle.mjs.
 */
import type { ClientMessage, HostMessage } from '../shared/bridge-protocol.js';
import { createBridgeClient } from './client.js';

/** The two functions the preload lends the main world; each crosses the bridge once. */
export interface MainWorldBridge {
  /** Posts a message to the main process. */
  post(message: ClientMessage): void;
  /** Registers the one function that receives the main process's messages. */
  listen(receive: (message: HostMessage) => void): void;
}

/** Installs `globalThis[key].DataSocket`, read-only, like contextBridge.exposeInMainWorld would. */
export function install(key: string, bridge: MainWorldBridge, platform: string): void {
  // As contextBridge.exposeInMainWorld does: never bind on top of what the page's world already has.
  if (Object.prototype.hasOwnProperty.call(globalThis, key)) throw new TypeError(`window.${key} is already defined`);
  const client = createBridgeClient((message) => bridge.post(message), platform);
  bridge.listen((message) => client.receive(message));
  Object.defineProperty(globalThis, key, {
    value: Object.freeze({ DataSocket: client.DataSocket }),
    enumerable: true,
    writable: false,
    configurable: false,
  });
}
