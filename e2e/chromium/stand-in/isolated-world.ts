/**
 * The stand-in's loader. The page's first script (served by the harness, carrying
 * the page's CSP nonce) runs this in the page's main realm while <head> is being
 * parsed: it makes a same-origin about:blank iframe, whose window is a separate JS
 * realm standing for Electron's isolated world, and runs the preload there,
 * synchronously, so `window.Net.DataSocket` exists before any page script runs,
 * as with a real preload.
 *
 * What runs there is the stand-in's start (isolated-entry.ts), which runs the app's
 * preload with what a sandboxed preload gets (sandboxed-preload.ts): the isolated
 * realm's global gets no `process`, `require` or `module`. The harness's settings,
 * its one token for this document included, reach only the isolated realm: the
 * loader reads them from its own element and removes them from the DOM at once, and
 * deletes them from the isolated realm once the preload has run (the stand-in keeps
 * its own copy, config.ts). So no page script ever sees them in the DOM or on the
 * iframe.
 *
 * The iframe itself stays reachable from page code (`frames[0]`), unlike Electron's
 * isolated world; see the README for what the tests do and do not rely on.
 */
import { CONFIG_KEY, type RealmWindow, type StandInConfig } from './realm-types.js';

/** The stand-in's start with the app's preload (harness/bundles.ts), inlined by the harness's esbuild `define`. */
declare const ISOLATED_SOURCE: string;

/** The attributes the harness puts on the loader's element; none outlives this script. */
const SETTINGS = ['data-port-url', 'data-token', 'data-platform', 'data-internals'];

const page = globalThis as unknown as RealmWindow;
const loader = page.document.currentScript;
if (loader === null) throw new Error('Electron stand-in: the loader must run as a classic <script> in the page');
const { portUrl, token, platform, internals } = loader.dataset;
for (const name of SETTINGS) loader.removeAttribute(name);
if (portUrl === undefined || token === undefined || platform === undefined) throw new Error('Electron stand-in: the loader needs data-port-url, data-token and data-platform');
const config: StandInConfig = Object.freeze({ nonce: loader.nonce, portUrl, token, platform, internals: internals === '1' });

const frame = page.document.createElement('iframe');
frame.hidden = true;
page.document.head.appendChild(frame);
const isolated = frame.contentWindow;
if (isolated === null) throw new Error('Electron stand-in: the isolated realm did not come up');
// Configurable, so it can be deleted below: the stand-in takes its copy when the bundle starts.
Object.defineProperty(isolated, CONFIG_KEY, { value: config, configurable: true });

const preload = isolated.document.createElement('script');
preload.nonce = config.nonce;
preload.textContent = ISOLATED_SOURCE;
isolated.document.head.appendChild(preload);
delete isolated[CONFIG_KEY];
