/**
 * Builds the demo app (demo/main, demo/preload, demo/renderer) into out/. Run
 * `npm run build` first: the demo imports the package's own dist/ through its
 * exports, as an app using electron-datasocket would.
 */
import { resolve } from 'node:path';
import { defineConfig } from 'electron-vite';

export default defineConfig({
  main: {
    build: { rolldownOptions: { input: { index: resolve('demo/main/index.ts') } } },
  },
  preload: {
    build: {
      // A sandboxed preload is run as one plain script whose `require` knows only
      // 'electron' (and a few Node shims): no ESM, no node_modules. So bundle every
      // dependency and emit CommonJS. The package is "type": "module", which would
      // name the file .cjs; a sandboxed preload ignores the package type, so keep .js.
      externalizeDeps: false,
      rolldownOptions: {
        input: { index: resolve('demo/preload/index.ts') },
        output: { format: 'cjs', entryFileNames: '[name].js' },
      },
    },
  },
  renderer: {
    root: 'demo/renderer',
    build: { rolldownOptions: { input: { index: resolve('demo/renderer/index.html') } } },
  },
});
