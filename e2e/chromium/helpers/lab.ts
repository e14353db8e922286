/**
 * The tests of the stand-in itself run on a page whose isolated realm holds the bare
 * stand-in (the 'lab' preload, harness/lab-preload.ts) instead of the DataSocket
 * preload. These are the shapes the tests use inside the realms (the Node program
 * has no DOM lib), and the set-up of one lab page per describe.
 */
import type { Frame } from '@playwright/test';
import { test } from '../../../src/testing/index.js';
import type { AppInstance } from './app-instance.js';
import type { AppPage } from './app-page.js';
import { useAppPages } from './app-pages.js';

export type Func = (...args: never[]) => unknown;

/** The stand-in as the lab preload leaves it on the isolated realm. */
export interface Lab {
  contextBridge: { executeInMainWorld(script: { func: Func; args?: unknown[] }): unknown };
  ipcRenderer: { postMessage(channel: string, message: unknown, transfer?: unknown[]): void } & Record<string, unknown>;
  /** The preload's own `require` and `process`, as the stand-in gives them. */
  require(name: string): unknown;
  process: Record<string, unknown>;
  /** Functions of the lab preload that use something outside themselves, and one that does not. */
  usesHelper: Func;
  makesPoint: Func;
  selfContained: Func;
}

/** A DOM MessagePort, as the tests use it. */
export interface LabPort {
  onmessage: ((event: { data: unknown; ports: readonly LabPort[] }) => void) | null;
  postMessage(message: unknown, transferOrOptions?: unknown): void;
  close(): void;
}

/** The isolated realm's global, as the tests use it. */
export type IsolatedGlobal = {
  __lab: Lab;
  MessageChannel: new () => { port1: LabPort; port2: LabPort };
  MessagePort: { prototype: LabPort };
  structuredClone(value: unknown, options?: { transfer?: unknown[] }): unknown;
  parent: MainGlobal;
} & Record<string, unknown>;

/** The main realm's global, as the tests use it. */
export type MainGlobal = Record<string, unknown>;

/** The lab page of the current describe: its instance, its page and its isolated realm's frame. */
export interface LabWorld {
  readonly app: AppInstance;
  readonly page: AppPage;
  readonly isolated: Frame;
}

/**
 * Registers one lab instance and page on the current describe, shared by its tests (they
 * make no sockets, so need no namespace). `reportIpc`: the harness reports every message a port brings.
 */
export function useLab(options: { reportIpc?: boolean } = {}): LabWorld {
  const world = useAppPages({ lab: { app: { preload: 'lab', reportIpc: options.reportIpc ?? false } } }, { scope: 'describe' });
  const lab = {} as { app: AppInstance; page: AppPage; isolated: Frame };
  test.beforeAll(() => {
    lab.app = world.app.lab;
    lab.page = world.page.lab;
    const frame = lab.page.page.mainFrame().childFrames()[0];
    if (frame === undefined) throw new Error('the stand-in made no isolated realm');
    lab.isolated = frame;
  });
  return lab;
}
