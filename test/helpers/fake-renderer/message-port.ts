/**
 * The renderer's MessageChannel (Blink's MessagePort) as far as main can tell it apart.
 */
import { types } from 'node:util';
import { MessageChannel as NodeMessageChannel, type MessagePort as NodeMessagePort } from 'node:worker_threads';
import type { RendererDocument } from './renderer-document.js';
import { rejectSharedMemory, type Globals, type World } from './world.js';

/** A message as serialized when posted; `lost` if its transfer list held ArrayBuffers. */
interface Posted {
  value: unknown;
  lost: boolean;
}

/** WebIDL: postMessage(message, sequence<object> transfer) or postMessage(message, optional StructuredSerializeOptions options). */
function transferList(world: World, given: unknown): unknown[] {
  if (given === undefined || given === null) return [];
  if (typeof given !== 'object' && typeof given !== 'function') throw world.error('TypeError', "Failed to execute 'postMessage' on 'MessagePort': The provided value is not of type 'StructuredSerializeOptions'.");
  const list: unknown = Symbol.iterator in given ? given : (given as { transfer?: unknown }).transfer;
  if (list === undefined) return [];
  if (list === null || typeof list !== 'object' || !(Symbol.iterator in list)) throw world.error('TypeError', "Failed to execute 'postMessage' on 'MessagePort': The provided value cannot be converted to a sequence.");
  return Array.from(list as Iterable<unknown>);
}

/**
 * One end of a renderer MessageChannel. While both ends are in this document, messages go
 * from one to the other by structured clone (transfers work). Once an end has been handed
 * to main (ipcRenderer.postMessage), main's MessagePortMain gets what this end's peer posts
 * as Electron gives it: a message whose transfer list held an ArrayBuffer arrives with
 * `data: null` — MessagePort::Accept deserializes only the encoded message, never the
 * transferred buffers (shell/browser/api/message_port.cc; electron/electron#34905) — while
 * the buffers are detached here all the same ("Transferable object ownership is correctly
 * lost in the renderer", #34905). That holds for messages posted before the handoff too: their
 * fate is sealed when they are serialized.
 *
 * Messages wait until start() (or setting onmessage), as in the HTML spec. No 'close' event
 * is ever dispatched: Chromium fires none on the page's end when main closes its port
 * (checked in Chromium 156, see commit dcd3202), so nothing may rely on one.
 */
export class FakeRendererPort {
  readonly #document: RendererDocument;
  /** This end's node port; its twin is the peer's. Main gets this one when this end is handed over. */
  readonly #node: NodeMessagePort;
  #peer!: FakeRendererPort;
  #handedToMain = false;
  #closed = false;
  #started = false;
  /** Posted to this end by its peer while this end was in the document. */
  readonly #inbox: Posted[] = [];
  readonly #listeners: { type: string; listener: unknown }[] = [];
  #onmessage: { handler: unknown } | null = null;

  constructor(document: RendererDocument, node: NodeMessagePort) {
    this.#document = document;
    this.#node = node;
    // The peer's twin closed (main closed its port, or the peer closed): nothing more can be posted.
    node.on('close', () => {
      this.#closed = true;
    });
  }

  static pair(document: RendererDocument): { port1: FakeRendererPort; port2: FakeRendererPort } {
    const { port1: a, port2: b } = new NodeMessageChannel();
    const port1 = new FakeRendererPort(document, a);
    const port2 = new FakeRendererPort(document, b);
    port1.#peer = port2;
    port2.#peer = port1;
    document.ports.add(port1);
    document.ports.add(port2);
    return { port1, port2 };
  }

  get onmessage(): unknown {
    return this.#onmessage?.handler ?? null;
  }

  set onmessage(handler: unknown) {
    if (typeof handler !== 'function') {
      const index = this.#listeners.findIndex((l) => l.listener === this.#onmessage);
      if (index >= 0) this.#listeners.splice(index, 1);
      this.#onmessage = null;
      return;
    }
    if (this.#onmessage === null) {
      this.#onmessage = { handler };
      this.#listeners.push({ type: 'message', listener: this.#onmessage });
    } else {
      this.#onmessage.handler = handler;
    }
    this.start(); // "setting onmessage implicitly calls start()" (HTML, MessagePort)
  }

  addEventListener(type: string, listener: unknown): void {
    if (listener === null || listener === undefined) return;
    if (this.#listeners.some((l) => l.type === type && l.listener === listener)) return;
    this.#listeners.push({ type: String(type), listener });
  }

  removeEventListener(type: string, listener: unknown): void {
    const index = this.#listeners.findIndex((l) => l.type === type && l.listener === listener);
    if (index >= 0) this.#listeners.splice(index, 1);
  }

  postMessage(message: unknown, transferOrOptions?: unknown): void {
    const world = this.#document.isolatedWorld;
    const transfer = transferList(world, transferOrOptions);
    const buffers: ArrayBuffer[] = [];
    transfer.forEach((item, i) => {
      if (item instanceof FakeRendererPort) throw new Error('fake-renderer: transferring a MessagePort through a renderer MessagePort is not modelled');
      if (!types.isArrayBuffer(item)) throw world.dataCloneError(`Failed to execute 'postMessage' on 'MessagePort': Value at index ${i} does not have a transferable type.`);
      buffers.push(item);
    });
    let value: unknown;
    try {
      rejectSharedMemory(message);
      value = structuredClone(message, { transfer: buffers });
    } catch (error) {
      throw world.dataCloneError(`Failed to execute 'postMessage' on 'MessagePort': ${(error as Error).message}`);
    }
    if (this.#handedToMain || this.#closed) return; // a neutered or closed port posts nothing
    const posted = { value, lost: buffers.length > 0 };
    if (this.#peer.#handedToMain) this.#toMain(posted);
    else this.#peer.#receiveHere(posted);
  }

  start(): void {
    if (this.#started || this.#handedToMain || this.#closed) return;
    this.#started = true;
    this.#node.on('message', (data: unknown) => {
      if (!this.#closed) this.#dispatch(this.#document.isolatedWorld.clone(data));
    });
    this.#drainInbox();
  }

  close(): void {
    if (this.#closed || this.#handedToMain) return;
    this.#closed = true;
    this.#node.close();
  }

  /** ipcRenderer.postMessage took this end: it is neutered here, and main gets its node port, after what was already posted to it. */
  handToMain(): NodeMessagePort {
    if (this.#started) throw new Error('fake-renderer: handing main a port this document already listened on is not modelled');
    this.#handedToMain = true;
    for (const posted of this.#inbox.splice(0)) this.#peer.#toMain(posted);
    return this.#node;
  }

  /** Can be transferred: not neutered, not closed. */
  get transferable(): boolean {
    return !this.#handedToMain && !this.#closed;
  }

  #toMain(posted: Posted): void {
    this.#node.postMessage(posted.lost ? null : posted.value);
  }

  #receiveHere(posted: Posted): void {
    this.#inbox.push(posted);
    if (this.#started) setImmediate(() => this.#drainInbox());
  }

  #drainInbox(): void {
    for (const posted of this.#inbox.splice(0)) this.#dispatch(this.#document.isolatedWorld.clone(posted.value));
  }

  #dispatch(data: unknown): void {
    if (this.#closed) return;
    const world = this.#document.isolatedWorld;
    const event = world.newObject();
    Object.assign(event, { type: 'message', data, ports: world.newArray([]), origin: '', lastEventId: '', source: null, target: this, currentTarget: this });
    for (const { type, listener } of [...this.#listeners]) {
      if (type !== 'message') continue;
      const target = listener === this.#onmessage ? this.#onmessage?.handler : listener;
      this.#document.invoke(() => {
        if (typeof target === 'function') Reflect.apply(target, this, [event]);
        else if (target !== null && typeof target === 'object' && typeof (target as Globals).handleEvent === 'function') (target as Globals).handleEvent(event);
      });
    }
  }
}
