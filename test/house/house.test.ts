/**
 * The house (README "Architecture"): a folder is one concern, and imports run only
 * downward — src/shared at the bottom, then the Node socket, then what stands on it
 * (the bridge's host, the CLI), Electron at the very top and thin. This reads every
 * import of every source file and checks it against the rooms below, so a line that
 * reaches up or sideways fails here instead of in a reader's head.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Each room: where it is, which rooms it may import from, and which packages. */
const ROOMS: { room: string; rooms: string[]; packages: RegExp }[] = [
  { room: 'src/shared', rooms: [], packages: /^msgpackr(\/index-no-eval)?$/ },
  // The trace (SPEC §13) stands on the ground floor only, so every room above may write to it.
  { room: 'src/main/trace', rooms: ['src/shared'], packages: /^node:[\w/]+$/ },
  { room: 'src/main/socket', rooms: ['src/shared', 'src/main/trace'], packages: /^node:[\w/]+$/ },
  // The host relays bytes: it may not reach the codec (test/main/bridge/bridge.test.ts checks the whole graph;
  // the trace loads one on demand only for a page that consents to its values being traced).
  { room: 'src/main/bridge', rooms: ['src/shared', 'src/main/socket', 'src/main/trace'], packages: /^(node:[\w/]+|zod\/mini|electron)$/ },
  { room: 'src/main/cli', rooms: ['src/shared', 'src/main/socket', 'src/main/trace'], packages: /^node:[\w/]+$/ },
  // electron-datasocket/testing: a user of the socket, on top. @playwright/test appears as a type
  // (`typeof import(…)`); it is an optional peer, loaded at run time by createRequire.
  { room: 'src/testing', rooms: ['src/shared', 'src/main/socket', 'src/main/trace'], packages: /^(node:[\w/]+|@playwright\/test)$/ },
  { room: 'src/renderer', rooms: ['src/shared'], packages: /^$/ },
  { room: 'src/preload', rooms: ['src/shared', 'src/renderer'], packages: /^(electron|electron-datasocket:main-world)$/ },
  // The demo app is a user of the package: it imports it by name, like any app.
  { room: 'demo', rooms: [], packages: /^(node:[\w/]+|electron|electron-datasocket(\/(main|preload|renderer))?)$/ },
];

/** Files that may import Electron: the thin adapters at the top, and the demo. */
const ELECTRON_ADAPTERS = ['src/main/bridge/electron-bridge.ts', 'src/preload/expose.ts'];

function sourcesIn(dir: string): string[] {
  return fs
    .readdirSync(path.join(root, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && /\.ts$/.test(e.name))
    .map((e) => path.relative(root, path.join(e.parentPath, e.name)));
}

/** The module specifiers a file loads at run time (type-only imports vanish). */
function importsOf(file: string): string[] {
  const source = fs.readFileSync(path.join(root, file), 'utf8');
  // `import … from 'x'`, `export … from 'x'`, a side-effect `import 'x'`, and `import('x')`.
  return [...source.matchAll(/^\s*(?:import|export)\s+(?!type\b)[^;]*?from\s+'([^']+)'|^\s*import\s+'([^']+)'|import\(\s*'([^']+)'\s*\)/gm)].map((m) => (m[1] ?? m[2] ?? m[3])!);
}

function roomOf(file: string): string | undefined {
  return ROOMS.map((r) => r.room)
    .filter((room) => file === room || file.startsWith(`${room}/`))
    .sort((a, b) => b.length - a.length)[0];
}

describe('§1 the house: one folder per concern, imports only downward', () => {
  it('every source file is in a room', () => {
    const homeless = [...sourcesIn('src'), ...sourcesIn('demo')].filter((file) => file !== 'src/index.ts' && roomOf(file) === undefined);
    expect(homeless).toEqual([]);
  });

  for (const { room, rooms, packages } of ROOMS) {
    it(`${room} imports only ${[room, ...rooms].join(', ')}${packages.source === '^$' ? '' : ` and ${packages.source}`}`, () => {
      const wrong: string[] = [];
      for (const file of sourcesIn(room)) {
        for (const specifier of importsOf(file)) {
          if (!specifier.startsWith('.')) {
            if (!packages.test(specifier)) wrong.push(`${file} → ${specifier}`);
            if (specifier === 'electron' && room !== 'demo' && !ELECTRON_ADAPTERS.includes(file)) wrong.push(`${file} → electron (only the thin adapters may)`);
            continue;
          }
          const target = path.relative(root, path.resolve(path.dirname(path.join(root, file)), specifier)).replace(/\.js$/, '.ts');
          const to = roomOf(target);
          if (to !== room && !rooms.includes(to ?? '')) wrong.push(`${file} → ${target}`);
        }
      }
      expect(wrong).toEqual([]);
    });
  }

  it('the package entry (src/index.ts) stands on the socket and shared rooms only', () => {
    const wrong = importsOf('src/index.ts').filter((s) => !/^\.\/(shared|main\/socket)\//.test(s));
    expect(wrong).toEqual([]);
  });
});
