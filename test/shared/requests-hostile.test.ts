/**
 * §10 against a peer that does not play along, in the shared core every socket runs:
 * requests flooding in faster than their answers are read stay within maxBufferedBytes
 * (the connection fails instead of queuing without limit), a handler's error that cannot
 * be sent as it is still fails the request at the peer, a request queued before the
 * handshake never reaches a peer that takes none, a schema that returns no result is an
 * invalid value, and a peer ending between a prefix and its value vanished.
 */
import { describe, expect, it } from 'vitest';
import { ValueDecoder, ValueEncoder } from '../../src/shared/codec.js';
import { DataSocketError, ErrorCode } from '../../src/shared/errors.js';
import { FrameReader, FrameWriter } from '../../src/shared/frames.js';
import { DEFAULTS, type ResolvedOptions } from '../../src/shared/options.js';
import { FrameKind, writeFrameHeader } from '../../src/shared/protocol.js';
import { DataSocketCore, type Carrier } from '../../src/shared/socket-core.js';
import type { StandardSchemaV1 } from '../../src/shared/standard-schema.js';
import { concat } from '../helpers/bytes.js';

/** A transport that takes nothing while `blocked` (a peer that does not read), and records what it was given. */
class Transport implements Carrier {
  blocked: boolean;
  readonly peerPings = true;
  readonly written: Uint8Array[] = [];
  /** Reports bytes as handed to the OS (a peer that reads). */
  sent: (bytes: number, count: number) => void = () => {};

  constructor(
    readonly peerRequests: boolean,
    blocked: boolean,
  ) {
    this.blocked = blocked;
  }

  transmit(chunks: Uint8Array[], bytes: number, count: number): void {
    for (const chunk of chunks) this.written.push(chunk.slice());
    this.sent(bytes, count);
  }

  end(): void {}
  destroy(): void {}
}

class Core extends DataSocketCore {
  readonly log: string[] = [];
  readonly errors: DataSocketError[] = [];
  readonly transport: Transport;

  constructor(options: Partial<ResolvedOptions>, transport: Transport, open = true) {
    super('client', { ...DEFAULTS, ...options }, { name: 'core', path: '/core.sock' });
    this.transport = transport;
    transport.sent = (bytes, count) => this.sent(bytes, count);
    this.on('error', (e) => {
      this.log.push(`error:${e.code}`);
      this.errors.push(e);
    }).on('close', () => this.log.push('close'));
    this.attach(transport);
    if (open) this.opened();
  }

  open(): void {
    this.opened();
  }

  feed(chunk: Uint8Array): void {
    this.receive(chunk);
  }

  hangUp(): void {
    this.ended();
  }
}

/** A REQUEST for `id` and its value, as the peer's encoder writes them. */
function requestFrames(encoder: ValueEncoder, id: number, value: unknown): Uint8Array {
  const writer = new FrameWriter();
  encoder.encode(value, writer, { maxFrameBytes: DEFAULTS.maxFrameBytes, budget: Number.MAX_SAFE_INTEGER }, FrameKind.REQUEST, id);
  return concat(writer.take().chunks);
}

/** The FAILURE values in what a core wrote. */
function failures(written: Uint8Array[]): { id: number; value: unknown }[] {
  const out: { id: number; value: unknown }[] = [];
  const decoder = new ValueDecoder();
  let id = -1;
  const reader = new FrameReader(DEFAULTS.maxFrameBytes, (kind, source, start, end) => {
    if (kind === FrameKind.FAILURE) id = new DataView(source.buffer, source.byteOffset + start, 4).getUint32(0);
    else if (kind < FrameKind.REQUEST) {
      const value = decoder.decode(kind, source, start, end, false);
      if (id !== -1) out.push({ id, value });
      id = -1;
    }
  });
  for (const chunk of written) reader.push(chunk);
  return out;
}

describe('§10 a peer that requests faster than it reads the answers', () => {
  for (const handler of ['no handler', 'a handler answering 1 KiB'] as const) {
    it(`with ${handler}: the answers never queue past maxBufferedBytes (+ a 4 KiB reserve); the connection fails with ERR_DATASOCKET_BUFFER_FULL`, () => {
      const max = 64 * 1024;
      const core = new Core({ maxBufferedBytes: max }, new Transport(true, true));
      if (handler !== 'no handler') core.on('request', (_v, respond) => respond('x'.repeat(1024)));
      const encoder = new ValueEncoder();
      let most = 0;
      for (let id = 1; id <= 5_000 && core.state === 'open'; id++) {
        core.feed(requestFrames(encoder, id, id));
        most = Math.max(most, core.bufferedAmount);
      }
      expect(core.log).toEqual([`error:${ErrorCode.BUFFER_FULL}`, 'close']);
      expect(core.errors[0]!.message).toMatch(/faster than it reads the answers/);
      expect(most).toBeLessThanOrEqual(max + 4 * 1024);
      expect(most).toBeGreaterThan(max / 2);
    });
  }

  it('a peer that reads: the same 5,000 requests are all answered and nothing fails', () => {
    const core = new Core({ maxBufferedBytes: 64 * 1024 }, new Transport(true, false));
    core.on('request', (v, respond) => respond(v));
    const encoder = new ValueEncoder();
    for (let id = 1; id <= 5_000; id++) core.feed(requestFrames(encoder, id, id));
    expect(core.log).toEqual([]);
    expect(core.state).toBe('open');
  });
});

describe('§10 a handler error that cannot be sent as it is', () => {
  it('a message longer than maxFrameBytes: the peer still gets a FAILURE (REMOTE) instead of waiting for its deadline', () => {
    const core = new Core({ maxFrameBytes: 1024 }, new Transport(true, false));
    core.on('request', () => {
      throw new Error('y'.repeat(20_000));
    });
    core.feed(requestFrames(new ValueEncoder(), 7, 'go'));
    const sent = failures(core.transport.written);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ id: 7, value: { code: ErrorCode.REMOTE, name: 'Error' } });
    expect(core.state).toBe('open');
  });

  it('a huge message is cut to 8 KiB, saying how much was cut', () => {
    const core = new Core({}, new Transport(true, false));
    core.on('request', () => {
      throw new RangeError('z'.repeat(100_000));
    });
    core.feed(requestFrames(new ValueEncoder(), 1, 'go'));
    const [failure] = failures(core.transport.written);
    const value = failure!.value as { name: string; message: string };
    expect(value.name).toBe('RangeError');
    expect(value.message.length).toBeLessThan(8 * 1024 + 100);
    expect(value.message).toMatch(/… \(91808 more characters\)$/);
  });

  it('an error whose name and message getters throw: the peer gets a FAILURE all the same', () => {
    const core = new Core({}, new Transport(true, false));
    core.on('request', () => {
      const error = new Error('hidden');
      Object.defineProperty(error, 'message', {
        get() {
          throw new Error('no');
        },
      });
      throw error;
    });
    core.feed(requestFrames(new ValueEncoder(), 3, 'go'));
    expect(failures(core.transport.written)).toEqual([{ id: 3, value: expect.objectContaining({ code: ErrorCode.REMOTE }) }]);
  });
});

describe('§10 requests queued before the handshake, for a peer that takes none', () => {
  it('an aborted one too: opening on such a peer fails with ERR_DATASOCKET_PROTOCOL and writes nothing', async () => {
    const transport = new Transport(false, false);
    const core = new Core({}, transport, false);
    const controller = new AbortController();
    const request = core.request('x', { signal: controller.signal });
    controller.abort();
    await expect(request).rejects.toMatchObject({ name: 'AbortError' });
    core.open();
    expect(core.log).toEqual([`error:${ErrorCode.PROTOCOL}`, 'close']);
    expect(transport.written).toEqual([]);
  });
});

describe('§12 a schema that does not answer as Standard Schema says', () => {
  it('validate() returning no result: the value is invalid (ERR_DATASOCKET_INVALID_VALUE), not a protocol error', () => {
    const broken = { '~standard': { version: 1, vendor: 'test', validate: () => null } } as unknown as StandardSchemaV1;
    const core = new Core({ schema: broken }, new Transport(true, false));
    const writer = new FrameWriter();
    new ValueEncoder().encode(1, writer, { maxFrameBytes: 1024, budget: 1 << 20 });
    core.feed(concat(writer.take().chunks));
    expect(core.log).toEqual([`error:${ErrorCode.INVALID_VALUE}`, 'close']);
    expect(core.errors[0]!.message).toMatch(/returned no result/);
  });
});

describe('§10 a peer ending between a request frame and its value', () => {
  it('while this side is closing, too: ECONNRESET (it vanished mid-message), not a clean close', () => {
    const core = new Core({}, new Transport(true, false));
    core.close();
    const head = new Uint8Array(9);
    writeFrameHeader(head, 0, 4, FrameKind.REQUEST);
    core.feed(head);
    core.hangUp();
    expect(core.log).toEqual(['error:ECONNRESET', 'close']);
  });
});
