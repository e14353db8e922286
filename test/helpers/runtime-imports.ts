/**
 * Which modules a source file loads at run time: for tests that check what a piece of
 * the library does not depend on (main's bridge host loads no codec, for one).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * Every module `entry` (a path from the repository's root, such as `src/main/bridge/host.ts`)
 * loads at run time, itself included: the repository's files by their path from the root,
 * packages by their bare name. Type-only imports vanish at run time and are left out.
 */
export function runtimeImports(entry: string): string[] {
  const seen = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    const source = fs.readFileSync(file, 'utf8');
    // Type-only imports vanish at run time; only real imports load code.
    for (const [, spec] of source.matchAll(/^\s*(?:import|export)\s+(?!type\b)[^;]*?from\s+'([^']+)'/gm)) {
      if (spec!.startsWith('.')) visit(path.resolve(path.dirname(file), spec!.replace(/\.js$/, '.ts')));
      else seen.add(spec!);
    }
  };
  visit(path.join(ROOT, entry));
  return [...seen].map((f) => path.relative(ROOT, f) || f);
}
