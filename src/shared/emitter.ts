/**
 * Events with namespaces, as Sciter's DataSocket has them: `on('data.chat', f)`,
 * `off('data')`, `off('data.chat')`, `off('.chat')`, `off(f)`.
 *
 * Unlike Node's EventEmitter, an `error` nobody listens to is not thrown, and a
 * handler that throws cannot break the socket that emitted: its exception is
 * re-thrown on its own, in a microtask, where the host reports it (Node: an
 * uncaught exception; a page: the console).
 *
 * Runs in Node and in the page: no Node or DOM imports.
 */
import { invalidArgument } from './errors.js';

interface Registration {
  readonly fn: (...args: never[]) => unknown;
  readonly ns: string;
  readonly once: boolean;
  /** The library's own watcher (see `_watch`): `off()` never removes it. */
  readonly internal?: true;
}

const NONE: readonly Registration[] = Object.freeze([]);

/** Names an event may be given with: `event`, `event.namespace`; `off` also takes `.namespace`. */
export type EventName<K extends string> = K | `${K}.${string}`;

/**
 * A typed emitter over an event map. Subclasses list their event names; only
 * those may be used, so a typo (`on('recieve')`) throws instead of waiting forever.
 */
export class Emitter<Events extends { [K in keyof Events]: (...args: never[]) => unknown }> {
  // One frozen array per event, replaced on every change: emitting iterates a
  // snapshot, so handlers may call on/off freely, and the hot path never copies.
  private _handlers = new Map<string, readonly Registration[]>();
  private readonly _names: ReadonlySet<string>;
  private readonly _aliases: Readonly<Record<string, string>>;

  protected constructor(names: readonly (keyof Events & string)[], aliases: Readonly<Record<string, keyof Events & string>> = {}) {
    this._names = new Set(names);
    this._aliases = aliases;
    for (const name of names) this._handlers.set(name, NONE);
  }

  /** Calls `callback` on every `event`. `event` may carry a namespace: `'data.chat'`. Returns this socket. */
  on<K extends keyof Events & string>(event: EventName<K>, callback: Events[K]): this {
    this._add(event, callback, false);
    return this;
  }

  /** Like `on`, for the next `event` only. */
  once<K extends keyof Events & string>(event: EventName<K>, callback: Events[K]): this {
    this._add(event, callback, true);
    return this;
  }

  /**
   * Removes handlers: `off('data')` every `data` handler, `off('data.chat')` those of
   * that namespace, `off('.chat')` every handler of the namespace, `off(f)` the function
   * `f` wherever it was registered. Returns this socket.
   */
  off(eventOrCallback: string | ((...args: never[]) => unknown)): this {
    if (typeof eventOrCallback === 'function') {
      for (const [event, list] of this._handlers) {
        if (list.some((r) => r.fn === eventOrCallback && r.internal !== true)) {
          this._handlers.set(event, freeze(list.filter((r) => r.fn !== eventOrCallback || r.internal === true)));
        }
      }
      return this;
    }
    if (typeof eventOrCallback !== 'string') throw invalidArgument('off() takes an event name or a callback');
    const { event, ns } = this._parse(eventOrCallback, true);
    const events = event === '' ? [...this._handlers.keys()] : [event];
    for (const name of events) {
      const list = this._handlers.get(name) ?? NONE;
      const kept = list.filter((r) => r.internal === true || (ns !== '' && r.ns !== ns));
      if (kept.length !== list.length) this._handlers.set(name, freeze(kept));
    }
    return this;
  }

  /**
   * @internal The library watching a socket it handed to the app (a rendezvous
   * following its link): like `on`, but the app's `off()` — even `off('close')` —
   * cannot remove it. Gone with every other handler once the socket closes.
   */
  _watch<K extends keyof Events & string>(event: K, callback: Events[K]): void {
    const list = this._handlers.get(event) ?? NONE;
    this._handlers.set(event, freeze([...list, { fn: callback as Registration['fn'], ns: '', once: false, internal: true }]));
  }

  /** Whether anything listens to `event` (used to skip work nobody would see). */
  protected listens(event: keyof Events & string): boolean {
    return (this._handlers.get(event) ?? NONE).length !== 0;
  }

  /** Calls every handler of `event` (with `this` the socket), passing `arg` if the event has one. */
  // One optional argument, not a rest parameter: 'data' is emitted per value, and a rest
  // array would be allocated each time. Every event here has at most one argument.
  protected emit<K extends keyof Events & string>(event: K, arg?: Parameters<Events[K]>[0]): void {
    const list = this._handlers.get(event) ?? NONE;
    for (let i = 0; i < list.length; i++) {
      const registration = list[i]!;
      if (registration.once) this._removeRegistration(event, registration);
      try {
        (registration.fn as (this: unknown, a?: unknown) => unknown).call(this, arg);
      } catch (error) {
        rethrowLater(error);
      }
    }
  }

  /**
   * Hands every handler of `event` to `call`, in order (a `once` handler is removed first),
   * and returns how many there were. For events whose handlers take more than one argument
   * or whose exceptions mean something (a `request` handler that throws fails its request):
   * `call` catches what it wants to.
   */
  protected emitEach<K extends keyof Events & string>(event: K, call: (handler: Events[K]) => void): number {
    const list = this._handlers.get(event) ?? NONE;
    for (let i = 0; i < list.length; i++) {
      const registration = list[i]!;
      if (registration.once) this._removeRegistration(event, registration);
      call(registration.fn as unknown as Events[K]);
    }
    return list.length;
  }

  /** Drops every handler; used once the socket is closed so nothing keeps user code alive. */
  protected removeAllHandlers(): void {
    for (const event of this._handlers.keys()) this._handlers.set(event, NONE);
  }

  private _add(name: unknown, fn: unknown, once: boolean): void {
    if (typeof name !== 'string') throw invalidArgument('the event name must be a string');
    if (typeof fn !== 'function') throw invalidArgument(`the handler for '${name}' must be a function`);
    const { event, ns } = this._parse(name, false);
    const list = this._handlers.get(event) ?? NONE;
    this._handlers.set(event, freeze([...list, { fn: fn as Registration['fn'], ns, once }]));
  }

  private _removeRegistration(event: string, registration: Registration): void {
    const list = this._handlers.get(event) ?? NONE;
    this._handlers.set(event, freeze(list.filter((r) => r !== registration)));
  }

  private _parse(name: string, allowBareNamespace: boolean): { event: string; ns: string } {
    const dot = name.indexOf('.');
    const rawEvent = dot === -1 ? name : name.slice(0, dot);
    const ns = dot === -1 ? '' : name.slice(dot + 1);
    if (dot !== -1 && ns === '') throw invalidArgument(`'${name}': a namespace after '.' must not be empty`);
    if (rawEvent === '') {
      if (allowBareNamespace && ns !== '') return { event: '', ns };
      throw invalidArgument(`'${name}' names no event`);
    }
    const event = this._aliases[rawEvent] ?? rawEvent;
    if (!this._names.has(event)) {
      throw invalidArgument(`unknown event '${rawEvent}' (events: ${[...this._names, ...Object.keys(this._aliases)].join(', ')})`);
    }
    return { event, ns };
  }
}

function freeze(list: Registration[] | readonly Registration[]): readonly Registration[] {
  return list.length === 0 ? NONE : Object.freeze(list);
}

function rethrowLater(error: unknown): void {
  queueMicrotask(() => {
    throw error;
  });
}
