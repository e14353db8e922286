/**
 * The few browser shapes the stand-in touches, declared here because the e2e code
 * is type-checked with the Node program (tsconfig.node.json has no DOM lib, on
 * purpose: main-process code must not see `window`), and the key under which the
 * loader hands the isolated realm its settings.
 */

/** A `<script>` or `<iframe>` element, as far as the stand-in uses one. */
export interface RealmElement {
  nonce: string;
  textContent: string | null;
  hidden: boolean;
  readonly dataset: Record<string, string | undefined>;
  readonly contentWindow: RealmWindow | null;
  appendChild(child: RealmElement): RealmElement;
  removeAttribute(name: string): void;
}

/** A document of one realm. */
export interface RealmDocument {
  readonly head: RealmElement;
  readonly documentElement: RealmElement;
  readonly currentScript: RealmElement | null;
  createElement(tag: 'script' | 'iframe'): RealmElement;
}

/** A message port of the page (DOM MessagePort, not Node's). */
export interface RealmPort {
  onmessage: ((event: { data: unknown; ports: readonly RealmPort[] }) => void) | null;
  postMessage(message: unknown, transfer?: unknown[]): void;
  close(): void;
}

/** A WebSocket of the page. */
export interface RealmWebSocket {
  readonly readyState: number;
  onopen: (() => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: (() => void) | null;
  send(text: string): void;
}

/** A window: one realm's global object. */
export interface RealmWindow {
  readonly document: RealmDocument;
  readonly parent: RealmWindow;
  readonly Object: ObjectConstructor;
  readonly Array: ArrayConstructor;
  readonly Promise: PromiseConstructor;
  readonly Error: ErrorConstructor;
  readonly TypeError: TypeErrorConstructor;
  readonly WebSocket: new (url: string) => RealmWebSocket;
  readonly Document: { readonly prototype: object };
  readonly Node: { readonly prototype: object };
  readonly Element: { readonly prototype: object };
  readonly HTMLElement: { readonly prototype: object };
  readonly MessagePort: { readonly prototype: object };
  structuredClone<T>(value: T, options?: { transfer?: unknown[] }): T;
  [key: string]: unknown;
}

/** The settings the loader gives the isolated realm before the preload runs. */
export interface StandInConfig {
  /** The CSP nonce: the only way to run code in either realm (the page forbids eval). */
  readonly nonce: string;
  /** Where the stand-in's "main process" takes message ports. */
  readonly portUrl: string;
  /**
   * The harness's token for this document: main gives a port a Host only if it comes
   * with this token (and a port number not used before), and knows the document's URL
   * from its own record of the token, never from the page.
   */
  readonly token: string;
  /** `process.platform` of the harness (main's OS). */
  readonly platform: string;
  /** Expose the test-only internals on the page: the harness's start option (`--internals`), never the page's choice. */
  readonly internals: boolean;
}

/** The name under which the loader leaves {@link StandInConfig} on the isolated realm, until the preload has run. */
export const CONFIG_KEY = '__electronStandIn';
