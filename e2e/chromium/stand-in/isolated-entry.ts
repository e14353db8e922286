/**
 * The stand-in's start in the isolated realm, run by the loader (isolated-world.ts)
 * before any page script: it takes the realm's built-ins (by importing the modules
 * that take them), puts Electron's MessagePort rule in place, and then runs the app's
 * preload as Electron runs a sandboxed one. The harness wraps this bundle so that
 * `__electronStandInPreload` is the preload file's body compiled as a function
 * (harness/bundles.ts), outside this bundle's scope: the preload sees only the
 * realm's globals and its parameters, as in Electron.
 */
import { electron } from './electron.js';
import { installPortRule } from './message-port.js';
import { runSandboxedPreload, type PreloadFunction } from './sandboxed-preload.js';

declare const __electronStandInPreload: PreloadFunction;

installPortRule();
runSandboxedPreload(__electronStandInPreload, electron);
