/**
 * The sandboxed preload's ipcRenderer, as far as the bridge uses it: one port to main.
 */
import { BRIDGE_CHANNEL } from '../../../src/shared/bridge-protocol.js';
import type { FakeTab, FakeWebFrameMain } from '../fake-electron.js';
import { FakeRendererPort } from './message-port.js';
import type { RendererDocument } from './renderer-document.js';
import { rejectSharedMemory } from './world.js';

/**
 * ipcRenderer.postMessage (lib/renderer/api/ipc-renderer.ts → ElectronApiIPCRenderer::PostMessage,
 * shell/renderer/api/electron_api_ipc_renderer.cc): the message is serialized with Electron's
 * V8 serializer; `transfer` must be an array of MessagePorts ("Invalid value for transfer"
 * otherwise), which are neutered here; main gets the message asynchronously. Only what the
 * bridge sends is modelled (fake-electron's FakeTab.postPort carries one port on BRIDGE_CHANNEL).
 */
export function postMessageToMain(document: RendererDocument, tab: FakeTab, frame: FakeWebFrameMain, channel: unknown, message: unknown, transfer: unknown): void {
  const world = document.isolatedWorld;
  if (typeof channel !== 'string') throw world.error('TypeError', 'Error processing argument at index 0, conversion failure from ' + typeof channel);
  try {
    rejectSharedMemory(message);
    structuredClone(message);
  } catch {
    throw world.error('Error', 'An object could not be cloned.');
  }
  let ports: FakeRendererPort[] = [];
  if (transfer !== undefined) {
    if (!Array.isArray(transfer)) throw world.error('TypeError', 'Invalid value for transfer');
    ports = transfer.map((item: unknown) => {
      if (!(item instanceof FakeRendererPort) || !item.transferable) throw world.error('TypeError', 'Invalid value for transfer');
      return item;
    });
  }
  if (channel !== BRIDGE_CHANNEL || message !== null || ports.length !== 1) {
    throw new Error(`fake-renderer: only ipcRenderer.postMessage('${BRIDGE_CHANNEL}', null, [port]) is modelled`);
  }
  const node = ports[0]!.handToMain();
  setImmediate(() => {
    if (document.unloaded) node.close();
    else tab.postPort(frame, node);
  });
}
