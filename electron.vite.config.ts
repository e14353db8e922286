/**
 * Builds the demo app (src/main, src/preload, src/renderer) into out/. Run
 * `npm run build` first: the demo imports the package's own dist/ through its
 * exports, as an app using electron-datasocket would.
 */
import { defineConfig } from 'electron-vite';

export default defineConfig({
  main: {},
  preload: {
    build: {
      // A sandboxed preload is run as one plain script whose `require` knows only
      // 'electron' (and a few Node shims): no ESM, no node_modules. So bundle every
      // dependency and emit CommonJS. The package is "type": "module", which would
      // name the file .cjs; a sandboxed preload ignores the package type, so keep .js.
      externalizeDeps: false,
      rolldownOptions: {
        output: { format: 'cjs', entryFileNames: '[name].js' },
      },
    },
  },
  renderer: {},
});
