/**
 * SPEC §13: `@playwright/test` is an optional peer dependency of
 * electron-datasocket/testing. With it, `test` is built from the user's own copy;
 * without it, DataSocketProbe still works and any use of `test` throws a DataSocketError
 * naming what to install. The last test imports the entry in a real project directory
 * that has every dependency but Playwright.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { inspect } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { DataSocketError } from '../../src/shared/errors.js';
import { loadOptionalPeer, unavailable } from '../../src/testing/optional-peer.js';
import { tempDir } from '../helpers/sockets.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

/** A directory with node_modules/<name>/index.js holding `source`; returns a file URL inside it to resolve from. */
function projectWith(packages: Record<string, string>): string {
  const dir = tempDir('kit-peer-');
  dirs.push(dir);
  for (const [name, source] of Object.entries(packages)) {
    fs.mkdirSync(path.join(dir, 'node_modules', name), { recursive: true });
    fs.writeFileSync(path.join(dir, 'node_modules', name, 'package.json'), JSON.stringify({ name, main: 'index.js' }));
    fs.writeFileSync(path.join(dir, 'node_modules', name, 'index.js'), source);
  }
  return pathToFileURL(path.join(dir, 'from.js')).href;
}

describe('§13 testing kit: loading @playwright/test', () => {
  it('loads the same instance the user’s own import gives (Playwright refuses a second one)', async () => {
    const loaded = loadOptionalPeer<{ test: unknown; _electron: unknown }>('@playwright/test');
    if (!('module' in loaded)) throw loaded.error;
    const imported = await import('@playwright/test');
    expect(loaded.module.test).toBe(imported.test);
    expect(loaded.module._electron).toBe(imported._electron);
  });

  it('gives a DataSocketError coded MODULE_NOT_FOUND that says what to install when the package is missing', () => {
    const { error } = loadOptionalPeer('@datasocket-kit/not-installed', projectWith({})) as { error: Error };
    expect(error).toBeInstanceOf(DataSocketError);
    expect(error).toMatchObject({ code: 'MODULE_NOT_FOUND' });
    expect(error.message).toContain('npm install -D @datasocket-kit/not-installed');
    expect(error.cause).toMatchObject({ code: 'MODULE_NOT_FOUND' });
  });

  it('keeps what a package that is there throws while loading, as it was thrown', () => {
    const from = projectWith({ 'kit-broken': "throw new TypeError('broken on load');" });
    const { error } = loadOptionalPeer('kit-broken', from) as { error: Error };
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toBe('broken on load');
  });

  it('does not mistake a missing dependency of the package for the package missing', () => {
    const from = projectWith({ 'kit-needs-more': "require('kit-not-there');" });
    const { error } = loadOptionalPeer('kit-needs-more', from) as { error: Error };
    expect(error).not.toBeInstanceOf(DataSocketError);
    expect(error).toMatchObject({ code: 'MODULE_NOT_FOUND', message: expect.stringContaining("'kit-not-there'") });
  });
});

describe('§13 testing kit: a value that could not be made', () => {
  it('throws the error on every use: call, construct, property read, `in`, assignment', () => {
    const failure = new DataSocketError('MODULE_NOT_FOUND', 'install it');
    const value = unavailable<((title: string) => void) & { extend(): unknown; x: number }>(failure);
    expect(() => value('a test')).toThrow(failure);
    expect(() => new (value as unknown as new () => unknown)()).toThrow(failure);
    expect(() => value.extend()).toThrow(failure);
    expect(() => 'extend' in value).toThrow(failure);
    expect(() => {
      value.x = 1;
    }).toThrow(failure);
  });

  it('reads no symbols, so it can still be printed', () => {
    const value = unavailable<object>(new Error('missing'));
    expect((value as Record<symbol, unknown>)[Symbol.toPrimitive]).toBeUndefined();
    expect(() => inspect(value)).not.toThrow();
  });
});

describe('§13 testing kit: without @playwright/test installed', () => {
  it('imports, DataSocketProbe works, and `test` throws a DataSocketError naming the peer dependency', async () => {
    // A project with every dependency of this package but Playwright, and a copy of src/.
    const project = tempDir('kit-nopw-');
    dirs.push(project);
    fs.cpSync(path.join(root, 'src'), path.join(project, 'src'), { recursive: true });
    fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ type: 'module' }));
    fs.mkdirSync(path.join(project, 'node_modules'));
    for (const entry of fs.readdirSync(path.join(root, 'node_modules'))) {
      if (['@playwright', 'playwright', 'playwright-core'].includes(entry)) continue;
      fs.symlinkSync(path.join(root, 'node_modules', entry), path.join(project, 'node_modules', entry));
    }
    const script = `
      const testing = await import('./src/testing/index.ts');
      const out = { probe: typeof testing.DataSocketProbe.listen };
      try { testing.test('a test', () => {}); } catch (e) { out.call = { name: e.name, code: e.code, message: e.message }; }
      try { testing.test.extend({}); } catch (e) { out.extend = e.code; }
      const probe = testing.DataSocketProbe.listen('kit-no-playwright');
      await probe.ready();
      out.listening = probe.address.name;
      await probe.close();
      console.log(JSON.stringify(out));
    `;
    fs.writeFileSync(path.join(project, 'check.mjs'), script);
    const env: NodeJS.ProcessEnv = { ...process.env, XDG_RUNTIME_DIR: project };
    delete env.NODE_PATH;
    delete env.DATASOCKET_NAMESPACE;
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, ['--import', 'tsx', 'check.mjs'], { cwd: project, env, timeout: 60_000 }, (error, out, err) =>
        error ? reject(new Error(`${error.message}\n${err}`)) : resolve(out),
      );
    });
    const out = JSON.parse(stdout.trim().split('\n').pop()!);
    expect(out.probe).toBe('function');
    expect(out.listening).toBe('kit-no-playwright');
    expect(out.call).toMatchObject({ name: 'DataSocketError', code: 'MODULE_NOT_FOUND' });
    expect(out.call.message).toContain('@playwright/test');
    expect(out.extend).toBe('MODULE_NOT_FOUND');
  }, 90_000);
});
