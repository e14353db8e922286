/**
 * The stand-in's message ports lose a message's data where Electron's do
 * (electron/electron#34905; stand-in/message-port.ts): a renderer message whose
 * transfer list holds an ArrayBuffer reaches main as `null`, its buffers detached on
 * the sender's side all the same. On a lab page whose harness reports every message a
 * port brings to main (helpers/lab.ts, `--report-ipc`); and, in Node, how the stand-in's
 * IPC carries a view of part of a buffer (as structured clone does).
 */
import { expect } from '@playwright/test';
// The suite's `test` is the testing kit's: helpers/app-pages.ts registers hooks that use its fixtures.
import { test } from '../../src/testing/index.js';
import { BRIDGE_CHANNEL } from '../../src/shared/bridge-protocol.js';
import type { HarnessEvent } from './harness/main-process.js';
import { useLab, type IsolatedGlobal, type LabPort } from './helpers/lab.js';
import { decodeMessage, encodeMessage, HOST_TO_PAGE, STRICT } from './stand-in/wire-json.js';

type IpcEvent = Extract<HarnessEvent, { ev: 'ipc' }>;

test.describe('the stand-in: a renderer port message that transfers a buffer reaches main with its data lost, as in Electron', () => {
  const lab = useLab({ reportIpc: true });

  /** The messages main received from index `from` on, once the last one is `{ t: 'end', id: lastId }`. */
  async function receivedByMain(from: number, lastId: number): Promise<unknown[]> {
    const isLast = (e: HarnessEvent): boolean => e.ev === 'ipc' && (e.message as { id?: number } | null)?.id === lastId;
    await lab.app.waitFor(isLast, 5_000, from);
    return lab.app.events
      .slice(from)
      .filter((e): e is IpcEvent => e.ev === 'ipc')
      .map((e) => e.message);
  }

  test('a transfer list holding an ArrayBuffer, in either call form, gives main null and detaches the buffer; no transfer list, an empty one or ports alone keep the data', async () => {
    const from = lab.app.events.length;
    const senderSide = await lab.isolated.evaluate((channel) => {
      const g = globalThis as unknown as IsolatedGlobal;
      const { port1, port2 } = new g.MessageChannel();
      g.__lab.ipcRenderer.postMessage(channel, null, [port2]);
      const kept = Uint8Array.of(1, 2, 3);
      port1.postMessage({ t: 'send', id: 1, bytes: kept, count: 1 });
      const moved = Uint8Array.of(4, 5, 6);
      port1.postMessage({ t: 'send', id: 2, bytes: moved, count: 1 }, [moved.buffer]);
      const movedByOptions = Uint8Array.of(7, 8);
      port1.postMessage({ t: 'send', id: 3, bytes: movedByOptions, count: 1 }, { transfer: [movedByOptions.buffer] });
      // Not even referenced by the message: stricter than Electron, which would then read the message.
      const unreferenced = new ArrayBuffer(4);
      port1.postMessage({ t: 'end', id: 4 }, [unreferenced]);
      port1.postMessage({ t: 'end', id: 5 }, [new g.MessageChannel().port1]);
      port1.postMessage({ t: 'end', id: 6 }, { transfer: [] });
      port1.postMessage({ t: 'end', id: 7 }, []);
      port1.postMessage({ t: 'end', id: 8 });
      return { kept: kept.byteLength, moved: moved.byteLength, movedByOptions: movedByOptions.byteLength, unreferenced: unreferenced.byteLength };
    }, BRIDGE_CHANNEL);
    expect(senderSide).toEqual({ kept: 3, moved: 0, movedByOptions: 0, unreferenced: 0 });
    expect(await receivedByMain(from, 8)).toEqual([
      { t: 'send', id: 1, bytes: { $bytes: 'AQID' }, count: 1 },
      null,
      null,
      null,
      { t: 'end', id: 5 },
      { t: 'end', id: 6 },
      { t: 'end', id: 7 },
      { t: 'end', id: 8 },
    ]);
  });

  test('what postMessage refuses is still refused, and nothing is sent: a detached or repeated buffer, the source port, a transfer that is not a sequence, no message at all, a wrong receiver', async () => {
    const from = lab.app.events.length;
    const outcomes = await lab.isolated.evaluate((channel) => {
      const g = globalThis as unknown as IsolatedGlobal;
      const { port1, port2 } = new g.MessageChannel();
      g.__lab.ipcRenderer.postMessage(channel, null, [port2]);
      const attempt = (run: () => void): string => {
        try {
          run();
          return 'posted';
        } catch (error) {
          return (error as Error).name;
        }
      };
      const detached = new ArrayBuffer(2);
      g.structuredClone(detached, { transfer: [detached] });
      const twice = new ArrayBuffer(2);
      const post = port1.postMessage as unknown as (this: unknown, ...args: unknown[]) => void;
      const outcomes = {
        shape: [post.name, post.length],
        detached: attempt(() => port1.postMessage({ t: 'end', id: 1 }, [detached])),
        repeated: attempt(() => port1.postMessage({ t: 'end', id: 2 }, [twice, twice])),
        sourcePort: attempt(() => port1.postMessage({ t: 'end', id: 3 }, [port1, new ArrayBuffer(1)])),
        notASequence: attempt(() => port1.postMessage({ t: 'end', id: 4 }, { transfer: 5 })),
        primitive: attempt(() => port1.postMessage({ t: 'end', id: 5 }, 5)),
        noMessage: attempt(() => post.call(port1)),
        wrongReceiver: attempt(() => post.call({}, { t: 'end', id: 6 }, [new ArrayBuffer(1)])),
        uncloneable: attempt(() => port1.postMessage({ t: 'end', id: 7, f: () => 1 }, [new ArrayBuffer(1)])),
      };
      // The last message: everything before it that was refused never reached main.
      port1.postMessage({ t: 'end', id: 99 });
      return outcomes;
    }, BRIDGE_CHANNEL);
    expect(outcomes).toEqual({
      shape: ['postMessage', 1],
      detached: 'DataCloneError',
      repeated: 'DataCloneError',
      sourcePort: 'DataCloneError',
      notASequence: 'TypeError',
      primitive: 'TypeError',
      noMessage: 'TypeError',
      wrongReceiver: 'TypeError',
      uncloneable: 'DataCloneError',
    });
    expect(await receivedByMain(from, 99)).toEqual([{ t: 'end', id: 99 }]);
  });

  test('stricter than Electron: it applies to every port of the isolated realm, also one whose other end stays in the renderer; the page’s own ports keep Chromium’s rules', async () => {
    const inIsolated = await lab.isolated.evaluate(async () => {
      const g = globalThis as unknown as IsolatedGlobal;
      const { port1, port2 } = new g.MessageChannel();
      const received = new Promise<unknown>((resolve) => (port2.onmessage = (event) => resolve(event.data)));
      const buffer = Uint8Array.of(1, 2).buffer;
      port1.postMessage({ buffer }, [buffer]);
      return received;
    });
    expect(inIsolated).toBeNull();
    const inPage = await lab.page.page.evaluate(async () => {
      const w = globalThis as unknown as { MessageChannel: new () => { port1: LabPort; port2: LabPort } };
      const { port1, port2 } = new w.MessageChannel();
      const received = new Promise<unknown>((resolve) => (port2.onmessage = (event) => resolve(event.data)));
      const buffer = Uint8Array.of(1, 2).buffer;
      port1.postMessage({ buffer }, [buffer]);
      const data = (await received) as { buffer: ArrayBuffer };
      return Array.from(new Uint8Array(data.buffer));
    });
    expect(inPage).toEqual([1, 2]);
  });

  test('ipcRenderer.postMessage takes only MessagePorts in its transfer list (TypeError "Invalid value for transfer", as Electron), the ports before a bad item taken all the same', async () => {
    const outcomes = await lab.isolated.evaluate((channel) => {
      const g = globalThis as unknown as IsolatedGlobal;
      const attempt = (transfer: unknown): string => {
        try {
          g.__lab.ipcRenderer.postMessage(channel, null, transfer as unknown[]);
          return 'accepted';
        } catch (error) {
          return `${(error as Error).name}: ${(error as Error).message}`;
        }
      };
      const first = new g.MessageChannel().port2;
      const second = new g.MessageChannel().port2;
      return {
        buffer: attempt([new ArrayBuffer(1)]),
        notAnArray: attempt(second),
        // Electron takes the ports one by one: the one before the buffer is gone when it throws.
        portThenBuffer: attempt([first, new ArrayBuffer(1)]),
        firstAgain: attempt([first]),
        // Refused before its port was reached: still the preload's to post.
        secondAfterwards: attempt([second]),
      };
    }, BRIDGE_CHANNEL);
    expect(outcomes.buffer).toMatch(/^TypeError: Invalid value for transfer/);
    expect(outcomes.notAnArray).toMatch(/^TypeError: Invalid value for transfer/);
    expect(outcomes.portThenBuffer).toMatch(/^TypeError: Invalid value for transfer/);
    expect(outcomes.firstAgain).toMatch(/^TypeError: Invalid value for transfer/);
    expect(outcomes.secondAfterwards).toBe('accepted');
  });
});

test.describe("the stand-in: its IPC carries a view of part of a buffer as structured clone does, with the whole buffer and the view's place in it", () => {
  test('page → main and main → page: a view at an offset arrives at that offset, over a copy of its whole buffer; a whole-buffer view as plain bytes', () => {
    const whole = Uint8Array.of(9, 9, 1, 2, 3, 9);
    const view = whole.subarray(2, 5);
    for (const rules of [STRICT, HOST_TO_PAGE]) {
      const text = encodeMessage({ t: 'send', id: 1, bytes: view, count: 1 }, rules);
      const back = decodeMessage(text, rules) as { bytes: Uint8Array };
      expect({ offset: back.bytes.byteOffset, length: back.bytes.length, view: Array.from(back.bytes), buffer: Array.from(new Uint8Array(back.bytes.buffer)) }).toEqual({
        offset: 2,
        length: 3,
        view: [1, 2, 3],
        buffer: [9, 9, 1, 2, 3, 9],
      });
    }
    expect(JSON.parse(encodeMessage({ bytes: Uint8Array.of(1, 2, 3) }, STRICT))).toEqual({ bytes: { $bytes: 'AQID' } });
  });

  test('a byte range that does not fit its buffer, or extra keys beside the bytes, are refused', () => {
    expect(() => decodeMessage('{"b":{"$bytes":"AQID","$offset":2,"$length":2}}', STRICT)).toThrow(TypeError);
    expect(() => decodeMessage('{"b":{"$bytes":"AQID","$offset":-1,"$length":1}}', STRICT)).toThrow(TypeError);
    expect(() => decodeMessage('{"b":{"$bytes":"AQID","$offset":0}}', STRICT)).toThrow(TypeError);
    expect(() => decodeMessage('{"b":{"$bytes":"AQID","$offset":0,"$length":1,"x":1}}', STRICT)).toThrow(TypeError);
  });
});
