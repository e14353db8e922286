/**
 * The preload an app ships: `import { exposeDataSocket } from 'electron-datasocket/preload';
 * exposeDataSocket();` bundled by the app's bundler (esbuild, CommonJS, 'electron' left to the
 * sandbox's require) over the package's own preload bundle (scripts/preload-bundle.mjs, made
 * in memory, as dist/preload.js is). What test/helpers/fake-renderer.ts runs in a renderer.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, type BuildOptions } from 'esbuild';

const root = path.resolve(import.meta.dirname, '../..');
const APP_ENTRY = "import { exposeDataSocket } from 'electron-datasocket/preload';\nexposeDataSocket();\n";

/** The options of an app's bundler the tests try. */
export type AppBuild = Pick<BuildOptions, 'target' | 'minify' | 'keepNames'>;

let shipped: Promise<string> | undefined;
const appBuilds = new Map<string, Promise<string>>();

/** electron-datasocket/preload as the package ships it (dist/preload.js, made in memory). */
export function shippedPreload(): Promise<string> {
  shipped ??= import(pathToFileURL(path.join(root, 'scripts/preload-bundle.mjs')).href).then((m: { bundlePreload(): Promise<string> }) => m.bundlePreload());
  return shipped;
}

/** An app's preload: the entry re-bundled with esbuild to CommonJS, 'electron' left to the sandbox's require. */
export function appPreload(options: AppBuild = {}): Promise<string> {
  const key = JSON.stringify(options);
  let text = appBuilds.get(key);
  if (text === undefined) {
    text = shippedPreload().then(async (contents) => {
      const result = await build({
        stdin: { contents: APP_ENTRY, loader: 'js', resolveDir: root },
        bundle: true,
        format: 'cjs',
        platform: 'node',
        external: ['electron'],
        write: false,
        logLevel: 'silent',
        plugins: [
          {
            name: 'shipped-preload',
            setup(b) {
              b.onResolve({ filter: /^electron-datasocket\/preload$/ }, () => ({ path: 'preload.js', namespace: 'shipped' }));
              b.onLoad({ filter: /.*/, namespace: 'shipped' }, () => ({ contents, loader: 'js' }));
            },
          },
        ],
        ...options,
      });
      return result.outputFiles[0]!.text;
    });
    appBuilds.set(key, text);
  }
  return text;
}
