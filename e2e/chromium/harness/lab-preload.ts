/**
 * The 'lab' preload: an app preload that, instead of exposing DataSocket, leaves the
 * stand-in itself on the isolated realm's global (`__lab`, never on the page's), so
 * the tests of the stand-in (stand-in.spec.ts) can drive its contextBridge,
 * ipcRenderer, `require` and `process` in real Chromium realms. Bundled like every
 * preload here (bundles.ts), but for an older target (es2020), so that its class
 * fields are lowered with a module-level helper as an app's bundler would.
 */
import { contextBridge, ipcRenderer } from 'electron';

/** A module-level helper: a function using it cannot be compiled alone in the main world. */
function double(value: number): number {
  return value * 2;
}

Object.defineProperty(globalThis, '__lab', {
  value: Object.freeze({
    contextBridge,
    ipcRenderer,
    // The preload's own `require` and `process`: parameters of the preload, not globals.
    require,
    process,
    usesHelper: (value: number): number => double(value),
    // Its class field becomes `__publicField(this, 'x', 1)` at es2020: a helper outside the function.
    makesPoint: (): number => {
      class Point {
        x = 1;
      }
      return new Point().x;
    },
    selfContained: (value: number): number => value * 2,
  }),
});
