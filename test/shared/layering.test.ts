/**
 * The floor of the house: src/shared runs in Node, in Electron main and in the
 * page, so it may import only itself and msgpackr — no Node built-ins, no
 * Electron, nothing from main, preload or renderer.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const shared = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/shared');

describe('§1 code both sides need lives in src/shared, free of Node and DOM', () => {
  const files = fs.readdirSync(shared).filter((f) => f.endsWith('.ts'));

  it('has the shared parts: codec, protocol, errors, emitter', () => {
    expect(files).toEqual(expect.arrayContaining(['codec.ts', 'protocol.ts', 'errors.ts', 'emitter.ts', 'frames.ts', 'socket-core.ts']));
  });

  for (const file of files) {
    it(`${file} imports only src/shared and msgpackr, and names no Node or DOM global`, () => {
      const source = fs.readFileSync(path.join(shared, file), 'utf8');
      const specifiers = [...source.matchAll(/(?:from\s+|import\s*\(?\s*)'([^']+)'/g)].map((m) => m[1]!);
      for (const specifier of specifiers) expect(specifier, file).toMatch(/^(\.\/[\w-]+\.js|msgpackr)$/);
      // Comments and string literals may mention anything; code may not.
      const code = source.replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '').replace(/'(?:[^'\\\n]|\\.)*'|`(?:[^`\\]|\\.)*`/g, "''");
      expect(code, file).not.toMatch(/\b(process|require|window|document|navigator|__dirname)\b/);
      // Node globals only through a feature check on globalThis (`(globalThis as { Buffer?: … }).Buffer`).
      expect(code, file).not.toMatch(/(?<![.\w])(Buffer|global|setImmediate)\b(?!\??:)/);
    });
  }
});
