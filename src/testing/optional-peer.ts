/**
 * An optional peer dependency: `electron-datasocket/testing` must import without
 * `@playwright/test` (a test that only needs DataSocketProbe, under vitest say), and
 * then only what needs Playwright fails, when it is used, saying what to install.
 *
 * Loaded at import, not on first use: Playwright takes a test's location (file, line)
 * from the first stack frame outside its own code, so `test` must be Playwright's own
 * function — behind a lazy proxy every test would be reported at the proxy's line.
 */
import { createRequire } from 'node:module';
import { DataSocketError } from '../shared/errors.js';

/** The package loaded, or why it could not be. */
export type PeerLoad<T> = { readonly module: T } | { readonly error: unknown };

/**
 * Loads `specifier` with CommonJS resolution from this package's own place, where a
 * peer dependency is installed. `@playwright/test` maps `require` and `import` to one
 * CommonJS module (index.mjs re-exports playwright/test.mjs, which imports test.js),
 * so this is the very instance the user's spec files import — Playwright refuses to
 * be loaded twice. Never throws: not installed gives a DataSocketError coded
 * MODULE_NOT_FOUND (Node's code, passed through) that says what to install; any other
 * failure (a broken install, Playwright's "Requiring @playwright/test second time")
 * is kept as it was thrown, to be thrown on use.
 */
export function loadOptionalPeer<T>(specifier: string, from: string = import.meta.url): PeerLoad<T> {
  try {
    return { module: createRequire(from)(specifier) as T };
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    // The package itself missing, not a module it needs in turn: Node names it on the first line.
    const firstLine = String(e?.message).split('\n')[0] ?? '';
    if (e?.code !== 'MODULE_NOT_FOUND' || !firstLine.includes(`'${specifier}'`)) return { error };
    const message = `electron-datasocket/testing: this needs the peer dependency ${specifier}, which is not installed here (npm install -D ${specifier})`;
    return { error: new DataSocketError('MODULE_NOT_FOUND', message, { cause: error }) };
  }
}

/**
 * A stand-in for a value that could not be made: calling it, constructing it, or
 * reading, testing or setting any property throws `error`. Symbol-keyed reads give
 * `undefined` instead, so that printing it (console.log, `util.inspect`) still works.
 */
export function unavailable<T extends object>(error: unknown): T {
  const fail = (): never => {
    throw error;
  };
  // A plain function target: callable and constructible, and its own properties are all configurable but `prototype`, which is writable.
  return new Proxy(function unavailableValue() {} as unknown as T, {
    apply: fail,
    construct: fail,
    get: (_target, key) => (typeof key === 'symbol' ? undefined : fail()),
    has: fail,
    set: fail,
  });
}
