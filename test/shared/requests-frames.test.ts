/**
 * §10 on the wire (PROTOCOL.md §4.8): the REQUEST, REPLY and FAILURE prefix frames in
 * the frame reader, in main's scanner of a page's bytes, and in the shared core that
 * Node's and the page's sockets both run — what is a protocol error, what is dropped,
 * and the ids the requests carry. The core is driven through a carrier that records
 * what it writes, so every byte is exact.
 */
import { describe, expect, it } from 'vitest';
import { ValueEncoder } from '../../src/shared/codec.js';
import { DataSocketError, ErrorCode } from '../../src/shared/errors.js';
import { FrameReader, FrameScanner, FrameWriter } from '../../src/shared/frames.js';
import { DEFAULTS, type ResolvedOptions } from '../../src/shared/options.js';
import { FRAME_HEADER_BYTES, FrameKind, MAX_REQUEST_ID, writeFrameHeader } from '../../src/shared/protocol.js';
import { PendingRequests } from '../../src/shared/requests.js';
import { DataSocketCore, type Carrier } from '../../src/shared/socket-core.js';
import { concat, hex } from '../helpers/bytes.js';

function frame(kind: number, body: Uint8Array = new Uint8Array(0)): Uint8Array {
  const out = new Uint8Array(FRAME_HEADER_BYTES + body.length);
  writeFrameHeader(out, 0, body.length, kind);
  out.set(body, FRAME_HEADER_BYTES);
  return out;
}

function u32(id: number): Uint8Array {
  return Uint8Array.of(id >>> 24, (id >>> 16) & 0xff, (id >>> 8) & 0xff, id & 0xff);
}

const prefix = (kind: number, id: number): Uint8Array => frame(kind, u32(id));

/** The frames one fresh encoder writes for `values`, in order. */
function valueFrames(...values: unknown[]): Uint8Array[] {
  const encoder = new ValueEncoder();
  return values.map((value) => {
    const writer = new FrameWriter();
    encoder.encode(value, writer, { maxFrameBytes: DEFAULTS.maxFrameBytes, budget: Number.MAX_SAFE_INTEGER });
    return concat(writer.take().chunks);
  });
}

const PREFIXES = [
  ['REQUEST', FrameKind.REQUEST],
  ['REPLY', FrameKind.REPLY],
  ['FAILURE', FrameKind.FAILURE],
] as const;
const END = frame(FrameKind.END);
const PING = frame(FrameKind.PING);
const PONG = frame(FrameKind.PONG);
const [VALUE_42] = valueFrames(42) as [Uint8Array];

const protocolError = expect.objectContaining({ code: ErrorCode.PROTOCOL });

/** A carrier that keeps every byte the core transmits, reported sent at once. */
class RecordingCarrier implements Carrier {
  readonly blocked = false;
  readonly peerPings = true;
  readonly written: Uint8Array[] = [];
  destroyed = false;
  ended = false;
  sent: (bytes: number, count: number) => void = () => {};

  constructor(readonly peerRequests: boolean) {}

  transmit(chunks: Uint8Array[], bytes: number, count: number): void {
    for (const chunk of chunks) this.written.push(chunk.slice());
    this.sent(bytes, count);
  }

  end(): void {
    this.ended = true;
  }

  destroy(): void {
    this.destroyed = true;
  }

  /** Every frame written so far: kind and body. */
  frames(): { kind: number; body: Uint8Array }[] {
    const frames: { kind: number; body: Uint8Array }[] = [];
    const reader = new FrameReader(DEFAULTS.maxFrameBytes, (kind, source, start, end) => frames.push({ kind, body: source.slice(start, end) }));
    for (const chunk of this.written) reader.push(chunk);
    expect(reader.midFrame).toBe(false);
    return frames;
  }
}

/** The shared core, opened on a recording carrier, as Node's and the page's sockets open it. */
class Core extends DataSocketCore {
  readonly log: string[] = [];
  readonly carrier: RecordingCarrier;

  constructor({ peerRequests = true, options = {} }: { peerRequests?: boolean; options?: Partial<ResolvedOptions> } = {}) {
    super('client', { ...DEFAULTS, ...options }, { name: 'core', path: '/core.sock' });
    this.carrier = new RecordingCarrier(peerRequests);
    this.carrier.sent = (bytes, count) => this.sent(bytes, count);
    this.on('data', (v: unknown) => this.log.push(`data:${String(v)}`))
      .on('error', (e) => this.log.push(`error:${e.code}`))
      .on('close', () => this.log.push('close'));
    this.attach(this.carrier);
    this.opened();
  }

  feed(...chunks: Uint8Array[]): this {
    for (const chunk of chunks) this.receive(chunk);
    return this;
  }

  /** The transport ended. */
  hangUp(): void {
    this.ended();
  }
}

describe('§10 request frames (PROTOCOL.md §4.8): the frame reader', () => {
  it('reads a REQUEST, REPLY or FAILURE frame with its 4-byte id as one frame, whole or one byte at a time', () => {
    for (const [, kind] of PREFIXES) {
      const stream = concat([prefix(kind, 0x01020304), VALUE_42]);
      for (const size of [stream.length, 1]) {
        const read: string[] = [];
        const reader = new FrameReader(1024, (k, source, start, end) => read.push(`${k}:${hex(source.subarray(start, end))}`));
        for (let i = 0; i < stream.length; i += size) reader.push(stream.subarray(i, i + size));
        expect(read).toEqual([`${kind}:01 02 03 04`, `0:2a`]);
        expect(reader.midFrame).toBe(false);
      }
    }
  });

  it('refuses a prefix body of 0, 3, 5 or 8 bytes on its header, before the body arrives', () => {
    for (const [, kind] of PREFIXES) {
      for (const length of [0, 3, 5, 8]) {
        const header = new Uint8Array(FRAME_HEADER_BYTES);
        writeFrameHeader(header, 0, length, kind);
        expect(() => new FrameReader(1024, () => {}).push(header), `${kind} with ${length} bytes`).toThrow(protocolError);
      }
    }
  });
});

describe('§10 request frames: main scans what a page sends (the page never decodes in main)', () => {
  it('passes a prefix followed by its value frame, any value kind, split anywhere across sends', () => {
    const [object] = valueFrames({ a: 1 });
    for (const value of [VALUE_42, object!, frame(FrameKind.UINT8ARRAY, Uint8Array.of(1, 2)), frame(FrameKind.FLOAT64ARRAY, new Uint8Array(8)), frame(FrameKind.ARRAYBUFFER)]) {
      for (const [, kind] of PREFIXES) {
        const stream = concat([prefix(kind, 7), value]);
        for (let cut = 0; cut <= stream.length; cut++) {
          const scanner = new FrameScanner(1024, true, true);
          scanner.scan(stream.subarray(0, cut));
          scanner.scan(stream.subarray(cut));
          expect(scanner.midFrame).toBe(false);
        }
      }
    }
  });

  it('says midFrame for a send that ends right after a prefix: its value must come in the same send', () => {
    for (const [, kind] of PREFIXES) {
      const scanner = new FrameScanner(1024, true, true);
      scanner.scan(prefix(kind, 1));
      expect(scanner.midFrame, 'a whole prefix frame, and no value yet').toBe(true);
      scanner.scan(VALUE_42);
      expect(scanner.midFrame).toBe(false);
    }
  });

  it('refuses two prefixes in a row, also across sends', () => {
    for (const [, first] of PREFIXES) {
      for (const [, second] of PREFIXES) {
        expect(() => new FrameScanner(1024, true, true).scan(concat([prefix(first, 1), prefix(second, 2), VALUE_42]))).toThrow(protocolError);
        const scanner = new FrameScanner(1024, true, true);
        scanner.scan(prefix(first, 1));
        expect(() => scanner.scan(prefix(second, 2))).toThrow(protocolError);
      }
    }
  });

  it('refuses a prefix followed by END, PING or PONG', () => {
    for (const [, kind] of PREFIXES) {
      for (const control of [END, PING, PONG]) {
        expect(() => new FrameScanner(1024, true, true).scan(concat([prefix(kind, 1), control]))).toThrow(protocolError);
      }
    }
  });

  it('refuses a prefix body of 3 or 5 bytes', () => {
    for (const [, kind] of PREFIXES) {
      for (const body of [Uint8Array.of(0, 0, 1), Uint8Array.of(0, 0, 0, 1, 0)]) {
        expect(() => new FrameScanner(1024, true, true).scan(concat([frame(kind, body), VALUE_42]))).toThrow(protocolError);
      }
    }
  });

  it('refuses every request frame to a peer whose HELLO did not set REQUESTS, and passes its plain values', () => {
    for (const [name, kind] of PREFIXES) {
      expect(() => new FrameScanner(1024, true, false).scan(concat([prefix(kind, 1), VALUE_42])), name).toThrow(protocolError);
      expect(() => new FrameScanner(1024, true, false).scan(prefix(kind, 1)), `${name} alone`).toThrow(protocolError);
    }
    const scanner = new FrameScanner(1024, true, false);
    scanner.scan(concat([VALUE_42, frame(FrameKind.UINT8ARRAY, Uint8Array.of(1)), PONG, END]));
    expect(scanner.midFrame).toBe(false);
  });
});

describe('§10 request frames in the shared core (Node and page sockets alike)', () => {
  it('fails with ERR_DATASOCKET_PROTOCOL on two prefixes in a row, answering neither', () => {
    const core = new Core();
    core.on('request', (v, respond) => respond(v));
    core.feed(concat([prefix(FrameKind.REQUEST, 1), prefix(FrameKind.REQUEST, 2), VALUE_42]));
    expect(core.log).toEqual([`error:${ErrorCode.PROTOCOL}`, 'close']);
    expect(core.carrier.written).toEqual([]);
    expect(core.carrier.destroyed).toBe(true);
  });

  it('fails with ERR_DATASOCKET_PROTOCOL on a prefix followed by END or PING (and answers no PING)', () => {
    for (const control of [END, PING, PONG]) {
      for (const [, kind] of PREFIXES) {
        const core = new Core();
        core.feed(prefix(kind, 1), control);
        expect(core.log).toEqual([`error:${ErrorCode.PROTOCOL}`, 'close']);
        expect(core.carrier.written, 'no PONG, no END').toEqual([]);
      }
    }
  });

  it('fails with ERR_DATASOCKET_PROTOCOL on a prefix body of 3 or 5 bytes', () => {
    for (const body of [Uint8Array.of(0, 0, 1), Uint8Array.of(0, 0, 0, 1, 0)]) {
      const core = new Core();
      core.on('request', (v, respond) => respond(v));
      core.feed(concat([frame(FrameKind.REQUEST, body), VALUE_42]));
      expect(core.log).toEqual([`error:${ErrorCode.PROTOCOL}`, 'close']);
    }
  });

  it('fails with ECONNRESET when the transport ends between a prefix and its value', () => {
    const core = new Core();
    core.feed(prefix(FrameKind.REQUEST, 1));
    core.hangUp();
    expect(core.log).toEqual(['error:ECONNRESET', 'close']);
  });

  it('answers a REQUEST with exactly one REPLY of the same id, the prefix and its value in one transmit, and no sent event', () => {
    const core = new Core();
    const sent: string[] = [];
    core.on('sent', () => sent.push('sent'));
    core.on('request', (v, respond) => respond({ echo: v }));
    core.feed(prefix(FrameKind.REQUEST, 0xfffffffe), VALUE_42);
    const [reply] = valueFrames({ echo: 42 });
    expect(core.carrier.written.map((c) => hex(c))).toEqual([hex(concat([prefix(FrameKind.REPLY, 0xfffffffe), reply!]))]);
    expect(sent).toEqual([]);
    expect(core.state).toBe('open');
  });

  it('answers a REQUEST with a FAILURE { code: ERR_DATASOCKET_NO_HANDLER, name, message } without a handler', () => {
    const core = new Core();
    core.feed(prefix(FrameKind.REQUEST, 9), VALUE_42);
    const [failure] = valueFrames({ code: ErrorCode.NO_HANDLER, name: 'Error', message: 'the peer has no request handler' });
    expect(core.carrier.written.map((c) => hex(c))).toEqual([hex(concat([prefix(FrameKind.FAILURE, 9), failure!]))]);
    expect(core.log).toEqual([]);
  });

  it('decodes and drops a REPLY or FAILURE for an id nobody waits on: the connection stays, and the records its value defined are kept', async () => {
    // One direction's record table: the dropped reply defines slot 40, and the value after it refers to that slot.
    const [definesA, failure, refersToA] = valueFrames({ a: 1 }, { code: ErrorCode.REMOTE, name: 'TypeError', message: 'late' }, { a: 2 });
    const core = new Core();
    const values: unknown[] = [];
    core.on('data', (v) => values.push(v));
    core.feed(prefix(FrameKind.REPLY, 5), definesA!, prefix(FrameKind.FAILURE, 6), failure!, refersToA!);
    expect(values).toEqual([{ a: 2 }]);
    expect(core.state).toBe('open');
    // The same after a request of this side's own timed out: its late reply is dropped too.
    const late = new Core();
    const lateValues: unknown[] = [];
    late.on('data', (v) => lateValues.push(v));
    const error = await late.request('q', { timeoutMs: 1 }).catch((e: unknown) => e);
    expect((error as DataSocketError).code).toBe(ErrorCode.TIMEOUT);
    late.feed(prefix(FrameKind.REPLY, 1), definesA!, refersToA!);
    expect(lateValues).toEqual([{ a: 2 }]);
    expect(late.state).toBe('open');
  });

  it('fails with ERR_DATASOCKET_PROTOCOL on a FAILURE whose value is not { code, name, message }, whether or not this side ever requested', async () => {
    for (const bad of [42, { code: 'ERR_DATASOCKET_REMOTE', name: 'Error' }, { code: 1, name: 'Error', message: 'm' }, new Uint8Array(3), null]) {
      for (const requested of [false, true]) {
        const core = new Core();
        const pending = requested ? core.request('q', { timeoutMs: 60_000 }).catch((error: unknown) => error) : null;
        core.feed(prefix(FrameKind.FAILURE, 77), ...valueFrames(bad));
        expect(core.log, `${JSON.stringify(String(bad))}, ${requested ? 'after' : 'without'} a request`).toEqual([`error:${ErrorCode.PROTOCOL}`, 'close']);
        if (pending !== null) expect(((await pending) as DataSocketError).code).toBe(ErrorCode.CLOSED);
      }
    }
  });

  it('fails with ERR_DATASOCKET_PROTOCOL on a request frame from a peer whose HELLO did not set REQUESTS, and answers nothing', () => {
    for (const [name, kind] of PREFIXES) {
      const core = new Core({ peerRequests: false });
      let asked = false;
      core.on('request', () => {
        asked = true;
      });
      core.feed(prefix(kind, 1), kind === FrameKind.FAILURE ? valueFrames({ code: ErrorCode.NO_HANDLER, name: 'Error', message: 'm' })[0]! : VALUE_42);
      expect(core.log, name).toEqual([`error:${ErrorCode.PROTOCOL}`, 'close']);
      expect(asked).toBe(false);
      expect(core.carrier.written, 'no REPLY or FAILURE to a peer that takes none').toEqual([]);
    }
  });

  it('numbers its requests 1, 2, 3… in the REQUEST frames it writes, each followed at once by its value', () => {
    const core = new Core();
    for (const value of ['a', new Uint8Array([1]), { x: 1 }]) void core.request(value, { timeoutMs: 60_000 }).catch(() => {});
    const frames = core.carrier.frames();
    expect(frames.map((f) => f.kind)).toEqual([FrameKind.REQUEST, FrameKind.VALUE, FrameKind.REQUEST, FrameKind.UINT8ARRAY, FrameKind.REQUEST, FrameKind.VALUE]);
    expect([frames[0], frames[2], frames[4]].map((f) => hex(f!.body))).toEqual(['00 00 00 01', '00 00 00 02', '00 00 00 03']);
    core.close();
  });
});

describe('§10 request ids: PendingRequests.nextId', () => {
  const waiting = { timeoutMs: 60_000, signal: undefined, schema: undefined };

  it('counts up from 1', () => {
    const requests = new PendingRequests();
    expect([requests.nextId(), requests.nextId(), requests.nextId()]).toEqual([1, 2, 3]);
  });

  it('wraps to 1 after 0xffffffff, never giving 0, and skips the ids still waiting for their answer', async () => {
    const requests = new PendingRequests();
    const answers = [requests.add(requests.nextId(), waiting), requests.add(requests.nextId(), waiting)].map((p) => p.catch((error: unknown) => error));
    // Four billion requests later (the counter is private; set it rather than count there).
    (requests as unknown as { _lastId: number })._lastId = MAX_REQUEST_ID - 1;
    expect(requests.nextId()).toBe(MAX_REQUEST_ID);
    expect(requests.nextId(), '1 and 2 still wait: skipped').toBe(3);
    expect(requests.nextId()).toBe(4);
    // Answered, an id is free again at the next wrap.
    requests.reply(1, 'one');
    (requests as unknown as { _lastId: number })._lastId = MAX_REQUEST_ID;
    expect(requests.nextId()).toBe(1);
    expect(requests.nextId()).toBe(3);
    requests.closeAll(undefined);
    const [first, second] = await Promise.all(answers);
    expect(first).toBe('one');
    expect((second as DataSocketError).code).toBe(ErrorCode.CLOSED);
  });
});
