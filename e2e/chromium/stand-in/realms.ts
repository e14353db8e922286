/**
 * The two realms the contextBridge stand-in copies between: the isolated realm (the
 * iframe this bundle runs in, standing for Electron's isolated world) and the page's
 * main realm (its parent). Both are set up when the preload bundle starts, which is
 * before any page script runs, and every built-in the crossing needs from either
 * realm is taken then: page code that later replaces `window.Array`,
 * `window.structuredClone`, `Array.prototype.slice` or `Document.prototype.createElement`
 * changes nothing that crosses.
 */
import { standInConfig } from './config.js';
import { apply, defineProperty, methodOf, setterOf } from './intrinsics.js';
import type { RealmElement, RealmWindow } from './realm-types.js';

/** A function of either realm. */
export type AnyFunction = (...args: unknown[]) => unknown;

/** One JS realm, with what copying into it needs. */
export interface Realm {
  readonly window: RealmWindow;
  readonly Object: ObjectConstructor;
  readonly Array: ArrayConstructor;
  readonly Promise: PromiseConstructor;
  /** The realm's Error and TypeError: what crosses into this realm as an error is made with these. */
  readonly Error: ErrorConstructor;
  readonly TypeError: TypeErrorConstructor;
  /** A copy of `value` by this realm's structuredClone, so the copy belongs to this realm. */
  clone(value: object): unknown;
  /** A new function of this realm that hands its arguments (array-like, to be read by index) to `invoke`. */
  wrap(invoke: (args: ArrayLike<unknown>) => unknown): AnyFunction;
}

/** The page's main realm, where the stand-in also has to run code. */
export interface MainRealm extends Realm {
  /**
   * Runs `expression` in the main realm and returns its value. The page's CSP
   * forbids eval, so this goes through a `<script>` carrying the page's nonce, as
   * only the page's own scripts may.
   */
  evaluate(expression: string): unknown;
}

function realmOf(window: RealmWindow, wrap: Realm['wrap']): Realm {
  const structuredClone = window.structuredClone;
  return {
    window,
    Object: window.Object,
    Array: window.Array,
    Promise: window.Promise,
    Error: window.Error,
    TypeError: window.TypeError,
    clone: (value) => apply(structuredClone, window, [value]),
    wrap,
  };
}

function evaluatorIn(window: RealmWindow, nonce: string): MainRealm['evaluate'] {
  const document = window.document;
  const head = document.head;
  const createElement = methodOf(window.Document.prototype, 'createElement') as (document: unknown, tag: 'script') => RealmElement;
  const appendChild = methodOf(window.Node.prototype, 'appendChild');
  const remove = methodOf(window.Element.prototype, 'remove');
  const setNonce = setterOf(window.HTMLElement.prototype, 'nonce');
  const setText = setterOf(window.Node.prototype, 'textContent');
  let count = 0;
  return (expression) => {
    // The value comes back through a function of ours put on the window as an own
    // property for the moment the script runs: an own property is found before
    // anything page code could have put on the window's prototype chain.
    const key = `__standInReceive${++count}`;
    const box = { received: false, value: undefined as unknown };
    defineProperty(window, key, {
      configurable: true,
      value: (value: unknown) => {
        box.received = true;
        box.value = value;
      },
    });
    try {
      const script = createElement(document, 'script');
      setNonce(script, nonce);
      setText(script, `window.${key}(${expression});`);
      appendChild(head, script);
      remove(script);
    } finally {
      delete window[key];
    }
    if (!box.received) throw new Error('Electron stand-in: the code did not compile in the main realm (syntax error, or refused by the CSP)');
    return box.value;
  };
}

const isolatedWindow = globalThis as unknown as RealmWindow;
const mainWindow = isolatedWindow.parent;
const evaluate = evaluatorIn(mainWindow, standInConfig.nonce);

/** The isolated realm, where the preload and this code run. */
export const isolated: Realm = realmOf(isolatedWindow, (invoke) =>
  function (): unknown {
    return invoke(arguments);
  },
);

// A closure's realm is the realm of the code that made it: the main realm's wrappers need a factory compiled there.
const mainWrap = evaluate('(invoke) => function () { return invoke(arguments); }') as Realm['wrap'];

/** The page's main realm. */
export const main: MainRealm = { ...realmOf(mainWindow, mainWrap), evaluate };
