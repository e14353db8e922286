/**
 * One JavaScript world of a renderer document (a node:vm context), and the structured
 * clone as Electron makes it: shared memory refused.
 */
import { types } from 'node:util';
import vm from 'node:vm';
import { MessageChannel as NodeMessageChannel, moveMessagePortToContext, receiveMessageOnPort, type MessagePort as NodeMessagePort } from 'node:worker_threads';
import { copyAcross } from './copy-across.js';

export type AnyFunction = (...args: unknown[]) => unknown;
export type Globals = Record<PropertyKey, any>;

/** What a world's own code would throw; made with the world's intrinsics, so `instanceof Error` holds there. */
type ErrorKind = 'Error' | 'TypeError';

/** One JavaScript world of the document: a node:vm context with its own intrinsics. */
export class World {
  readonly name: string;
  readonly context: vm.Context;
  /** The world's `globalThis` (`window`). */
  readonly global: Globals;
  readonly #intrinsics: Globals;
  /** Makes a function of this world that hands its arguments to `call` (a proxy's body). */
  readonly #wrap: (call: (args: IArguments) => unknown) => AnyFunction;
  /** A channel whose far end lives in this world: what crosses it is deserialized here. */
  readonly #cloneIn: NodeMessagePort;
  readonly #cloneOut: NodeMessagePort;

  constructor(name: string, options: { codeGeneration: boolean }) {
    this.name = name;
    this.context = vm.createContext({}, { name, codeGeneration: { strings: options.codeGeneration, wasm: options.codeGeneration } });
    this.global = vm.runInContext('globalThis', this.context) as Globals;
    this.#intrinsics = vm.runInContext('({ Object, Array, Promise, Error, TypeError })', this.context) as Globals;
    this.#wrap = vm.runInContext('(function (call) { return function () { return call(arguments); }; })', this.context) as (call: (args: IArguments) => unknown) => AnyFunction;
    const { port1, port2 } = new NodeMessageChannel();
    this.#cloneIn = port1;
    this.#cloneOut = moveMessagePortToContext(port2, this.context);
  }

  /** Runs `code` as a script of this world (as page code, or the preload's own). */
  evaluate(code: string): any {
    return vm.runInContext(code, this.context);
  }

  /** The HTML structured clone of `value`, made of this world's objects (V8's serializer, as Electron's). */
  clone(value: unknown): unknown {
    rejectSharedMemory(value);
    this.#cloneIn.postMessage(value);
    return receiveMessageOnPort(this.#cloneOut)!.message;
  }

  error(kind: ErrorKind, message: string): Error {
    return new this.#intrinsics[kind](message) as Error;
  }

  /** A DOMException-like DataCloneError of this world (an Error there, as in Chromium). */
  dataCloneError(message: string): Error {
    const error = this.error('Error', message);
    error.name = 'DataCloneError';
    return error;
  }

  newObject(): Globals {
    return new this.#intrinsics.Object() as Globals;
  }

  newArray(items: unknown[]): unknown[] {
    const array = new this.#intrinsics.Array() as unknown[];
    for (const item of items) array.push(item);
    return array;
  }

  /** A promise of this world and its settle functions. */
  deferred(): { promise: Promise<unknown>; resolve: (value: unknown) => void; reject: (reason: unknown) => void } {
    let resolve!: (value: unknown) => void;
    let reject!: (reason: unknown) => void;
    const promise = new this.#intrinsics.Promise((res: typeof resolve, rej: typeof reject) => {
      resolve = res;
      reject = rej;
    }) as Promise<unknown>;
    return { promise, resolve, reject };
  }

  wrap(call: (args: unknown[]) => unknown): AnyFunction {
    return this.#wrap((args) => call(Array.from(args)));
  }

  /** Test code acting as page code: an exact copy of a Node value, made of this world's objects. */
  copyIn(value: unknown): any {
    return copyAcross(value, this.global, null);
  }

  /** An exact copy of a value of this world, made of Node's objects; throws for anything not of this world. */
  copyOut(value: unknown): any {
    return copyAcross(value, globalThis, this.global);
  }

  close(): void {
    this.#cloneIn.close();
  }
}

/**
 * V8's serializer with Electron's delegate refuses shared memory (GetSharedArrayBufferId is
 * not implemented: shell/common/v8_util.cc V8Serializer); Node's postMessage would share it.
 */
export function rejectSharedMemory(value: unknown, seen = new Set<object>()): void {
  if (value === null || typeof value !== 'object' || seen.has(value)) return;
  seen.add(value);
  if (types.isSharedArrayBuffer(value) || (ArrayBuffer.isView(value) && types.isSharedArrayBuffer(value.buffer))) {
    throw new Error('#<SharedArrayBuffer> could not be cloned.');
  }
  if (types.isMap(value)) for (const [k, v] of value) (rejectSharedMemory(k, seen), rejectSharedMemory(v, seen));
  else if (types.isSet(value)) for (const v of value) rejectSharedMemory(v, seen);
  else if (!ArrayBuffer.isView(value)) for (const key of Object.keys(value)) rejectSharedMemory((value as Globals)[key], seen);
}
