/**
 * The page's DataSocket, bundled at build time into one self-contained function
 * (scripts/preload-bundle.mjs makes this module from src/renderer/main-world.ts).
 */
declare module 'electron-datasocket:main-world' {
  import type { MainWorldBridge } from '../renderer/main-world.js';
  /** Runs in the main world: defines `window[key].DataSocket`. Returns null, or what went wrong (it never throws). */
  export function installMainWorld(key: string, bridge: MainWorldBridge, platform: string): string | null;
}
