/**
 * §12 "the TypeScript types follow the schema", proved by the compiler: the
 * repository's TypeScript compiles test/types/schema-types.test-d.ts on its own
 * (`tsc --noEmit -p test/types/tsconfig.json`), and then a copy without its
 * `@ts-expect-error` directives, which must fail with exactly the error each
 * directive names, on the line below it, and nowhere else — so a directive cannot
 * pass by hiding some other mistake.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const HERE = path.join(ROOT, 'test/types');
const SOURCE = path.join(HERE, 'schema-types.test-d.ts');
const TSC = path.join(ROOT, 'node_modules/typescript/bin/tsc');

/** `// @ts-expect-error -- TS2322: why`: the code the line below must fail with. */
const DIRECTIVE = /^\s*\/\/ @ts-expect-error -- (TS\d+):/;

interface Compiled {
  code: number;
  output: string;
}

function tsc(project: string): Promise<Compiled> {
  return new Promise((resolve) => {
    execFile(process.execPath, [TSC, '-p', project, '--pretty', 'false'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, output: stdout + stderr });
    });
  });
}

/** `file(line,col): error TSxxxx: …` lines of tsc's output, as 'line TSxxxx'. */
function errorsIn(output: string, file: string): string[] {
  const found: string[] = [];
  for (const line of output.split('\n')) {
    const match = /^(.*)\((\d+),\d+\): error (TS\d+):/.exec(line);
    if (match !== null && path.resolve(ROOT, match[1]!) === file) found.push(`${match[2]} ${match[3]}`);
  }
  return found;
}

const temp = fs.mkdtempSync(path.join(os.tmpdir(), 'ds-types-'));
afterAll(() => fs.rmSync(temp, { recursive: true, force: true }));

describe('§12 the TypeScript types follow the schema (zod 4, valibot)', () => {
  it('schema-types.test-d.ts compiles, strict: inferred values, unknown without a schema, every @ts-expect-error used', async () => {
    const compiled = await tsc(path.join(HERE, 'tsconfig.json'));
    expect(compiled.output).toBe('');
    expect(compiled.code).toBe(0);
  });

  it('without its @ts-expect-error directives it fails with exactly the error each one names, on the line below it, and nowhere else', async () => {
    const lines = fs.readFileSync(SOURCE, 'utf8').split('\n');
    const expected: string[] = [];
    const bare = lines.map((line, i) => {
      const directive = DIRECTIVE.exec(line);
      if (directive === null) {
        // Every directive must name its error, or this test could not check it.
        expect(line).not.toMatch(/^\s*\/\/\s*@ts-(expect-error|ignore)/);
        return line;
      }
      expected.push(`${i + 2} ${directive[1]}`);
      return ''; // Keeps the line numbers.
    });
    expect(expected.length).toBeGreaterThanOrEqual(10);
    // Outside test/ (so no other compile picks it up), importing the same modules.
    const copy = path.join(temp, 'schema-types.bare.ts');
    fs.writeFileSync(copy, bare.join('\n').replaceAll("'../../src/", `'${path.join(ROOT, 'src')}/`));
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(temp, 'node_modules'), 'dir');
    // An ES module, as every .ts of this package is.
    fs.writeFileSync(path.join(temp, 'package.json'), '{ "type": "module" }\n');
    const config = path.join(temp, 'tsconfig.json');
    fs.writeFileSync(config, JSON.stringify({ extends: path.join(HERE, 'tsconfig.json'), files: [copy] }));
    const compiled = await tsc(config);
    expect(compiled.code).not.toBe(0);
    expect(errorsIn(compiled.output, copy).sort()).toEqual(expected.sort());
    // Nothing else failed: every error line of the output is one of the copy's.
    expect(compiled.output.split('\n').filter((line) => /error TS\d+/.test(line) && !line.startsWith(copy) && !line.includes('schema-types.bare.ts'))).toEqual([]);
  });
});
