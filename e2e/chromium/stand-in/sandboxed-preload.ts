/**
 * Runs the app's preload the way Electron runs a sandboxed one, with no more than
 * Electron gives it. What Electron does (lib/sandboxed_renderer/init.ts and
 * lib/sandboxed_renderer/preload.ts, docs/tutorial/sandbox.md, read at
 * electron/electron 96f3996):
 * - the preload file is compiled as the body of a function of `require, process,
 *   exports, module, Buffer, global, setImmediate, clearImmediate` and called once;
 *   what it throws is logged ("Unable to load preload script: …") and the page loads
 *   on without it;
 * - `require` knows 'electron' (also 'electron/common', 'electron/renderer'),
 *   'events', 'timers', 'url' (and their 'node:' names); any other name throws
 *   `Error('module not found: <name>')`. So a preload must be bundled with everything
 *   but those inlined (the harness bundles it as an app's bundler would: CommonJS,
 *   only 'electron' and Node's built-ins left to `require`);
 * - `process` is an EventEmitter with `platform`, `arch`, `version`, `versions`,
 *   `env`, `execPath`, `pid`, `argv`, `type`, `sandboxed` and a few memory/CPU
 *   methods (shell/renderer/preload_utils.cc BuildStartupData,
 *   shell/renderer/electron_sandboxed_renderer_client.cc); nothing of Node's own.
 *
 * Stricter than Electron: `require('events' | 'timers' | 'url')` throws too (the
 * stand-in has none of them: a preload that needs one has to say so here first);
 * `process` is a frozen object with `platform` only (no `env`, `versions`, `argv`,
 * events); `Buffer`, `setImmediate` and `clearImmediate` are undefined. No `process`,
 * `require` or `module` is left on the isolated realm's global either.
 */
import { standInConfig } from './config.js';
import { apply } from './intrinsics.js';

/** The preload file's body, compiled as Electron compiles it. */
export type PreloadFunction = (
  require: (name: string) => unknown,
  process: object,
  exports: object,
  module: { exports: unknown },
  Buffer: unknown,
  global: unknown,
  setImmediate: unknown,
  clearImmediate: unknown,
) => void;

/** The names Electron's sandboxed `require` answers, by what they give. */
const ELECTRON_NAMES = ['electron', 'electron/common', 'electron/renderer'];
const NODE_NAMES = ['events', 'node:events', 'timers', 'node:timers', 'url', 'node:url'];

function includes(list: readonly string[], name: unknown): boolean {
  for (let i = 0; i < list.length; i++) if (list[i] === name) return true;
  return false;
}

/** The `require` of a sandboxed preload, over `electron` (the stand-in's module). */
export function sandboxedRequire(electron: object): (name: string) => unknown {
  return function require(name: string): unknown {
    if (includes(ELECTRON_NAMES, name)) return electron;
    if (includes(NODE_NAMES, name)) throw new Error(`module not found: ${name} (Electron has it in a sandboxed preload; this stand-in does not)`);
    throw new Error(`module not found: ${String(name)}`);
  };
}

/** The `process` of a sandboxed preload, as far as the stand-in gives it. */
export const sandboxedProcess: object = Object.freeze({ platform: standInConfig.platform });

/** Calls the preload with what a sandboxed preload gets; logs what it throws, as Electron does. */
export function runSandboxedPreload(preload: PreloadFunction, electron: object): void {
  const exports = {};
  try {
    apply(preload, undefined, [sandboxedRequire(electron), sandboxedProcess, exports, { exports }, undefined, globalThis, undefined, undefined]);
  } catch (error) {
    console.error('Unable to load preload script: preload.js');
    console.error(error);
  }
}
