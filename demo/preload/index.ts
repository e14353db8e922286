/**
 * The demo window's preload. It runs sandboxed and isolated, and gives the page
 * `window.Net.DataSocket` and nothing else. electron.vite.config.ts bundles it
 * into one CommonJS file that requires only 'electron'.
 */
import { exposeDataSocket } from 'electron-datasocket/preload';

exposeDataSocket();
