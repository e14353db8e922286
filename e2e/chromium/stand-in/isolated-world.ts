/**
 * The stand-in's loader. The page's first script (served by the harness, carrying
 * the page's CSP nonce) runs this in the page's main realm while <head> is being
 * parsed: it makes a same-origin about:blank iframe, whose window is a separate JS
 * realm standing for Electron's isolated world, and runs the preload there,
 * synchronously, so `window.Net.DataSocket` exists before any page script runs,
 * as with a real preload.
 *
 * The isolated realm gets what a sandboxed preload has and nothing more the preload
 * needs: `process.platform`, and (through the 'electron' stand-in) contextBridge and
 * ipcRenderer. The iframe itself stays reachable from the page, unlike an isolated
 * world; the tests only look at what the preload puts on `window`.
 */
import { CONFIG_KEY, type RealmWindow, type StandInConfig } from './realm-types.js';

/** The preload bundle (stand-in + real dist/preload.js), inlined by the harness's esbuild `define`. */
declare const PRELOAD_SOURCE: string;

const page = globalThis as unknown as RealmWindow;
const loader = page.document.currentScript;
if (loader === null) throw new Error('Electron stand-in: the loader must run as a classic <script> in the page');
const { portUrl, platform, internals } = loader.dataset;
if (portUrl === undefined || platform === undefined) throw new Error('Electron stand-in: the loader needs data-port-url and data-platform');
const config: StandInConfig = Object.freeze({ nonce: loader.nonce, portUrl, platform, internals: internals === '1' });

const frame = page.document.createElement('iframe');
frame.hidden = true;
page.document.head.appendChild(frame);
const isolated = frame.contentWindow;
if (isolated === null) throw new Error('Electron stand-in: the isolated realm did not come up');
Object.defineProperty(isolated, CONFIG_KEY, { value: config });
Object.defineProperty(isolated, 'process', { value: Object.freeze({ platform }) });

const preload = isolated.document.createElement('script');
preload.nonce = config.nonce;
preload.textContent = PRELOAD_SOURCE;
isolated.document.head.appendChild(preload);
