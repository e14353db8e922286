/**
 * Stand-in for Electron's `contextBridge`, with only `executeInMainWorld`, the one
 * method the preload uses. It runs in the isolated realm (a same-origin iframe of
 * the page) and reaches the page's main realm the way Electron reaches the main world.
 *
 * Stricter than Electron, so that what passes here passes there:
 * - `func` is recompiled from `func.toString()` in the main realm: a function that
 *   closes over anything outside itself fails (this proves the bundle is self-contained);
 * - arguments and results are copied into the other realm: plain objects and arrays
 *   deep-copied and frozen, prototypes dropped (a class instance arrives as a plain
 *   object), bytes, dates, regexps, maps, sets and errors by the target realm's
 *   structuredClone; a Symbol or a Promise throws (Electron drops Symbols, proxies Promises);
 * - EVERY crossing of a function gives a FRESH wrapper made in the target realm, so
 *   identity never survives a crossing (electron/electron#33328); its arguments and
 *   result cross back by the same rules.
 */
import { CONFIG_KEY, type RealmWindow, type StandInConfig } from './realm-types.js';

type AnyFunction = (...args: unknown[]) => unknown;

/** One JS realm: its global, and how to make a function that belongs to it. */
export interface Realm {
  readonly window: RealmWindow;
  /** A new function of this realm that hands its arguments (as an array) to `invoke`. */
  wrap(invoke: (args: unknown[]) => unknown): AnyFunction;
}

/** Copied with the target realm's structuredClone rather than property by property. */
const CLONED_TAGS = new Set(['ArrayBuffer', 'DataView', 'Date', 'RegExp', 'Map', 'Set', 'Error']);

function tagOf(value: object): string {
  return Object.prototype.toString.call(value).slice(8, -1);
}

function config(): StandInConfig {
  const found = (globalThis as unknown as Record<string, unknown>)[CONFIG_KEY] as StandInConfig | undefined;
  if (found === undefined) throw new Error('Electron stand-in: not loaded by the stand-in loader (no config)');
  return found;
}

/**
 * Runs `expression` in `target`'s realm and returns its value. The page's CSP forbids
 * eval, so this goes through a `<script>` carrying the page's nonce, as only the
 * page's own scripts may; the value is passed out under a one-off key.
 */
export function evaluateIn(target: RealmWindow, expression: string): unknown {
  const key = `__standInResult${Math.random().toString(36).slice(2)}`;
  const script = target.document.createElement('script');
  script.nonce = config().nonce;
  script.textContent = `window[${JSON.stringify(key)}] = (${expression});`;
  target.document.head.appendChild(script);
  script.remove();
  if (!Object.prototype.hasOwnProperty.call(target, key)) {
    throw new Error('Electron stand-in: the code did not compile in the target realm (syntax error, or refused by the CSP)');
  }
  const value = target[key];
  delete target[key];
  return value;
}

let realms: { isolated: Realm; main: Realm } | null = null;

/** The isolated realm (where this code runs) and the page's main realm. */
export function standInRealms(): { isolated: Realm; main: Realm } {
  if (realms !== null) return realms;
  const isolatedWindow = globalThis as unknown as RealmWindow;
  const mainWindow = isolatedWindow.parent;
  // A closure's realm is the realm of the code that made it: the main realm's wrappers need a factory compiled there.
  const mainFactory = evaluateIn(mainWindow, '(invoke) => function () { return invoke(Array.prototype.slice.call(arguments)); }') as (
    invoke: (args: unknown[]) => unknown,
  ) => AnyFunction;
  realms = {
    isolated: {
      window: isolatedWindow,
      wrap: (invoke) =>
        function (...args: unknown[]): unknown {
          return invoke(args);
        },
    },
    main: { window: mainWindow, wrap: mainFactory },
  };
  return realms;
}

/** Copies `value` from realm `from` into realm `to` by the rules above. */
export function crossRealm(value: unknown, from: Realm, to: Realm, seen: Map<object, unknown> = new Map()): unknown {
  switch (typeof value) {
    case 'undefined':
    case 'boolean':
    case 'number':
    case 'string':
    case 'bigint':
      return value;
    case 'symbol':
      throw new TypeError('contextBridge stand-in: a Symbol cannot cross the bridge (Electron would drop it silently)');
    case 'function':
      // Never cached: each crossing makes a new wrapper, as Electron makes a new proxy.
      return wrapFunction(value as AnyFunction, from, to);
    default:
      break;
  }
  if (value === null) return null;
  const object = value as object;
  if (seen.has(object)) return seen.get(object);
  const tag = tagOf(object);
  if (tag === 'Promise') throw new TypeError('contextBridge stand-in: a Promise cannot cross the bridge here');
  if (CLONED_TAGS.has(tag) || ArrayBuffer.isView(object)) {
    // Maps and Sets holding functions throw here (DataCloneError): stricter than Electron.
    const copy = to.window.structuredClone(object);
    seen.set(object, copy);
    return copy;
  }
  if (Array.isArray(object)) {
    const out = new to.window.Array<unknown>();
    seen.set(object, out);
    for (let i = 0; i < object.length; i++) out.push(crossRealm(object[i], from, to, seen));
    return Object.freeze(out);
  }
  // Everything else, class instances included, arrives as a plain object of the target realm.
  const out = new to.window.Object() as Record<string, unknown>;
  seen.set(object, out);
  for (const key of Object.keys(object)) {
    const copy = crossRealm((object as Record<string, unknown>)[key], from, to, seen);
    Object.defineProperty(out, key, { value: copy, enumerable: true, writable: true, configurable: true });
  }
  return Object.freeze(out);
}

function wrapFunction(fn: AnyFunction, from: Realm, to: Realm): AnyFunction {
  return to.wrap((args) => {
    const inner = args.map((arg) => crossRealm(arg, to, from));
    let result: unknown;
    try {
      result = Reflect.apply(fn, undefined, inner);
    } catch (error) {
      throw crossRealm(error, from, to);
    }
    return crossRealm(result, from, to);
  });
}

/** `contextBridge` as the preload sees it: `executeInMainWorld`, nothing else. */
export const contextBridge = Object.freeze({
  /** Recompiles `func` in the main realm from its source and calls it with `args` copied there; returns its result copied back. */
  executeInMainWorld(script: { func: AnyFunction; args?: unknown[] }): unknown {
    const { func, args = [] } = script;
    if (typeof func !== 'function') throw new TypeError('executeInMainWorld: func must be a function');
    if (!Array.isArray(args)) throw new TypeError('executeInMainWorld: args must be an array');
    const { isolated, main } = standInRealms();
    const compiled = evaluateIn(main.window, Function.prototype.toString.call(func)) as AnyFunction;
    const copied = args.map((arg) => crossRealm(arg, isolated, main));
    let result: unknown;
    try {
      result = Reflect.apply(compiled, undefined, copied);
    } catch (error) {
      throw crossRealm(error, main, isolated);
    }
    return crossRealm(result, main, isolated);
  },
});
