/**
 * The stand-in's settings for this document, taken once when the preload bundle
 * starts. The loader leaves them on the isolated realm's global only until the
 * preload has run and then deletes them (the page can reach that realm), so the
 * stand-in must keep its own copy: after load, the harness's token lives only here,
 * in module scope.
 */
import { CONFIG_KEY, type StandInConfig } from './realm-types.js';

function take(): StandInConfig {
  const found = (globalThis as unknown as Record<string, unknown>)[CONFIG_KEY] as StandInConfig | undefined;
  if (found === undefined) throw new Error('Electron stand-in: not loaded by the stand-in loader (no config)');
  return found;
}

/** This document's settings, as the loader gave them. */
export const standInConfig: StandInConfig = take();
