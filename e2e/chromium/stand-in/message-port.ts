/**
 * Electron's rule for a renderer MessagePort message that main receives
 * (electron/electron#34905, open since Electron 18): when the message's transfer list
 * holds an ArrayBuffer (or any transferable that is not a MessagePort), the message
 * reaches the MessagePortMain with `data === null`, and the sender's buffers are
 * detached all the same. Where it comes from: the renderer (Blink) serializes the
 * message with the buffers moved out of band; main's MessagePort::Accept
 * (shell/browser/api/message_port.cc) deserializes only `encoded_message` with
 * electron::DeserializeV8Value (shell/common/v8_util.cc), which knows no transferred
 * buffers and no Blink host objects and returns `v8::Null` when reading fails. The
 * docs (docs/api/message-port-main.md, docs/api/ipc-renderer.md) list only
 * MessagePorts as transferable.
 *
 * The stand-in enforces it by replacing `MessagePort.prototype.postMessage` of the
 * isolated realm before the preload runs (isolated-entry.ts), with the original taken
 * then: a post whose transfer list, in either form (`postMessage(m, [t])` or
 * `postMessage(m, { transfer: [t] })`), holds anything but MessagePorts serializes
 * `message` with that transfer list (so it throws where postMessage would, and the
 * buffers are detached) and then posts `null` in its place.
 *
 * Stricter than Electron:
 * - it applies to every port of the isolated realm, also to one whose other end stays
 *   in the renderer (Chromium would carry that message whole);
 * - it applies when the transfer list holds a buffer the message does not even
 *   reference (Electron's deserializer would then succeed);
 * - MessagePorts in such a transfer list are lost too (Electron hands them to main in
 *   `event.ports`);
 * - the buffers are detached even when the port is closed (Chromium then serializes
 *   nothing).
 * The page's own ports (its main realm) keep Chromium's rules: they never reach main.
 */
import { apply, branded, getterOf, isArray } from './intrinsics.js';
import type { RealmWindow } from './realm-types.js';

// Taken when the stand-in bundle starts, before any page script and before the preload.
const isolatedWindow = globalThis as unknown as RealmWindow;
const portPrototype = isolatedWindow.MessagePort.prototype;
const originalPostMessage = Object.getOwnPropertyDescriptor(portPrototype, 'postMessage')?.value as ((this: unknown, ...args: unknown[]) => void) | undefined;
if (typeof originalPostMessage !== 'function') throw new Error('Electron stand-in: no MessagePort.prototype.postMessage to take');
const isolatedClone = isolatedWindow.structuredClone;
const arrayFrom = Array.from;
const iteratorKey = Symbol.iterator;
const defineProperty = Object.defineProperty;

/** A real MessagePort of either realm (the event-handler getter throws for anything else). */
export const isMessagePort = branded(getterOf(portPrototype, 'onmessageerror'));

/** The transfer list the way WebIDL reads postMessage's second argument, or null when only the original can say (it will throw). */
function transferListOf(second: unknown): unknown[] | null {
  if (second === undefined || second === null) return [];
  if (typeof second !== 'object' && typeof second !== 'function') return null;
  const asSequence = (value: unknown): unknown[] | null => {
    if (isArray(value)) {
      const list: unknown[] = [];
      for (let i = 0; i < (value as unknown[]).length; i++) list[i] = (value as unknown[])[i];
      return list;
    }
    if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return null;
    const iterator = (value as Record<symbol, unknown>)[iteratorKey];
    return typeof iterator === 'function' ? (apply(arrayFrom, undefined, [value]) as unknown[]) : null;
  };
  // An object with @@iterator is the sequence overload; anything else is the options dictionary.
  const iterator = (second as Record<symbol, unknown>)[iteratorKey];
  if (iterator !== undefined && iterator !== null) return asSequence(second);
  const transfer = (second as { transfer?: unknown }).transfer;
  return transfer === undefined ? [] : asSequence(transfer);
}

/** Whether Electron's main would lose this message's data: its transfer list holds something that is not a MessagePort. */
function losesData(list: readonly unknown[]): boolean {
  for (let i = 0; i < list.length; i++) {
    const item = list[i];
    if (item === null || typeof item !== 'object' || !isMessagePort(item)) return true;
  }
  return false;
}

const replacement = {
  /** MessagePort.prototype.postMessage as Electron's main sees its result (#34905); see the file header. */
  postMessage(this: unknown, message: unknown): void {
    const post = originalPostMessage!;
    // Wrong receiver, no arguments, a transfer argument WebIDL refuses: the original throws as Chromium does.
    if (!isMessagePort(this as object) || arguments.length === 0) return apply(post, this, arguments as unknown as unknown[]);
    const list = transferListOf(arguments[1]);
    if (list === null) return apply(post, this, [message, arguments[1]]);
    if (!losesData(list)) return apply(post, this, [message, list]);
    // The source port in its own transfer list: Chromium throws DataCloneError before anything moves.
    for (let i = 0; i < list.length; i++) if (list[i] === this) return apply(post, this, [message, list]);
    // Serialized with its transfer list as Blink would (throws DataCloneError where postMessage would; the buffers are detached)…
    apply(isolatedClone, isolatedWindow, [message, { transfer: list }]);
    // …and main receives null in its place.
    apply(post, this, [null]);
  },
};

/** Puts the rule on the isolated realm's MessagePort.prototype. Call once, before the preload runs. */
export function installPortRule(): void {
  defineProperty(portPrototype, 'postMessage', { value: replacement.postMessage, writable: true, enumerable: true, configurable: true });
}
