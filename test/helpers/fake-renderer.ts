/**
 * A stand-in for one document of a sandboxed, context-isolated Electron 45 renderer,
 * to run a REAL preload bundle in Node the way Electron runs it. The other half of
 * test/helpers/fake-electron.ts (main's API): the preload's port reaches main through
 * `FakeTab.postPort`, so the real bridge serves it.
 *
 * Two node:vm contexts stand for the two worlds of the document: the isolated world
 * (the preload's) and the main world (the page's). Neither sees the other's globals;
 * values cross only through the fake contextBridge, by Electron's rules. Every rule
 * carries where Electron's behaviour is written; where the real thing was unclear the
 * stand-in is stricter, never looser (CONVENTIONS.md, habit 11). Sources are read at
 * electron/electron main as of v45.0.0-nightly (2026-08).
 *
 * Not modelled, and refused or absent rather than faked: contextBridge.exposeInMainWorld,
 * ipcRenderer's other methods, transferring MessagePorts through a renderer MessagePort,
 * DOM objects (Element, Blob, VideoFrame) crossing the bridge, WebAssembly objects.
 *
 * This file loads the preload (the sandbox's require and process); the rules live beside it
 * in fake-renderer/: world.ts (a world, its structured clone), context-bridge.ts,
 * message-port.ts, ipc-renderer.ts, renderer-document.ts (timers, web globals), and
 * copy-across.ts (exact copies for test code).
 */
import { EventEmitter, on, once } from 'node:events';
import * as nodeUrl from 'node:url';
import vm from 'node:vm';
import type { FakeTab, FakeWebFrameMain } from './fake-electron.js';
import { executeInMainWorld } from './fake-renderer/context-bridge.js';
import { postMessageToMain } from './fake-renderer/ipc-renderer.js';
import { FakeRendererPort } from './fake-renderer/message-port.js';
import { RendererDocument } from './fake-renderer/renderer-document.js';
import { World } from './fake-renderer/world.js';

export { RendererDocument, World };

/** Options of {@link loadPreload}. */
export interface PreloadOptions {
  /** `process.platform` as the preload sees it. Default: Node's. */
  platform?: string;
  /** Runs in the main world before the preload (what another preload or the embedder put there). */
  before?: (mainWorld: World) => void;
  /** The preload's file name, for stack traces. */
  filename?: string;
}

/**
 * Loads a document in `frame` of `tab` and runs `source` (a CommonJS preload bundle, as an
 * app's bundler makes it) in its isolated world the way Electron's sandboxed renderer does
 * (lib/sandboxed_renderer/init.ts, lib/sandboxed_renderer/preload.ts): compiled as a
 * function of `require, process, exports, module, Buffer, global, setImmediate,
 * clearImmediate`; what it throws is caught and kept in `preloadError`.
 */
export function loadPreload(tab: FakeTab, frame: FakeWebFrameMain, source: string, options: PreloadOptions = {}): RendererDocument {
  const document = new RendererDocument();
  const { mainWorld, isolatedWorld } = document;
  isolatedWorld.global.MessageChannel = class MessageChannel {
    readonly port1: FakeRendererPort;
    readonly port2: FakeRendererPort;
    constructor() {
      ({ port1: this.port1, port2: this.port2 } = FakeRendererPort.pair(document));
    }
  };
  options.before?.(mainWorld);

  const electron = {
    contextBridge: {
      executeInMainWorld: (...argv: unknown[]) => executeInMainWorld(isolatedWorld, mainWorld, argv),
    },
    ipcRenderer: {
      postMessage: (channel: unknown, message: unknown, transfer?: unknown) => postMessageToMain(document, tab, frame, channel, message, transfer),
    },
  };
  const timers = document.timers(isolatedWorld);
  const immediate = {
    setImmediate: (callback: unknown, ...args: unknown[]) => document.setTimer(isolatedWorld, 'immediate', callback, 0, args),
    clearImmediate: (id: unknown) => document.clearTimer(id),
  };
  // The sandbox's require knows only these (docs/tutorial/sandbox.md; loadedModules and
  // loadableModules in lib/sandboxed_renderer/init.ts). Electron also accepts 'node:events',
  // 'node:timers', 'node:url', 'electron/common' and 'electron/renderer'; refusing them is stricter.
  const modules = new Map<string, unknown>([
    ['electron', electron],
    ['events', { EventEmitter, once, on }],
    ['timers', { ...timers, ...immediate }],
    ['url', { URL, URLSearchParams, parse: nodeUrl.parse, format: nodeUrl.format, resolve: nodeUrl.resolve }],
  ]);
  const preloadRequire = (name: unknown): unknown => {
    if (typeof name === 'string' && modules.has(name)) return modules.get(name);
    throw isolatedWorld.error('Error', `module not found: ${String(name)}`);
  };
  // createPreloadProcessObject() given binding.process and the startup data's process
  // (shell/renderer/electron_sandboxed_renderer_client.cc, shell/renderer/preload_utils.cc):
  // an EventEmitter with platform, arch, versions and the like. Electron also copies main's
  // `env` and `execPath` in; leaving them out is stricter. There is no cwd(), no nextTick().
  const preloadProcess = Object.assign(new EventEmitter(), {
    platform: options.platform ?? process.platform,
    arch: process.arch,
    type: 'renderer',
    sandboxed: true,
    contextIsolated: true,
    isMainFrame: frame === tab.mainFrame,
    version: process.version,
    versions: { ...process.versions },
  });
  const exports = isolatedWorld.newObject();
  const module = isolatedWorld.newObject();
  module.exports = exports;
  try {
    const run = vm.compileFunction(source, ['require', 'process', 'exports', 'module', 'Buffer', 'global', 'setImmediate', 'clearImmediate'], {
      parsingContext: isolatedWorld.context,
      filename: options.filename ?? 'preload.js',
    });
    run(preloadRequire, preloadProcess, exports, module, Buffer, isolatedWorld.global, immediate.setImmediate, immediate.clearImmediate);
  } catch (error) {
    document.preloadError = error;
  }
  return document;
}
