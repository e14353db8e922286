/**
 * §11 in the shared core, where Node's and the page's sockets both get it: when a
 * connection pings, answers, and gives up — driven through a carrier that records
 * what the core writes, with the keep-alive clock faked (only setInterval: nothing
 * else in the core runs on it), so every step is exact.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DataSocketError, ErrorCode } from '../../src/shared/errors.js';
import { FrameReader } from '../../src/shared/frames.js';
import { DEFAULTS, keepAliveFor, resolveOptions, TCP_KEEP_ALIVE_MS, type ResolvedOptions } from '../../src/shared/options.js';
import { FRAME_HEADER_BYTES, FrameKind, writeFrameHeader } from '../../src/shared/protocol.js';
import { DataSocketCore, type Carrier, type DataSocketAddress } from '../../src/shared/socket-core.js';

const PING = frame(FrameKind.PING);
const PONG = frame(FrameKind.PONG);

function frame(kind: number, body: Uint8Array = new Uint8Array(0)): Uint8Array {
  const out = new Uint8Array(FRAME_HEADER_BYTES + body.length);
  writeFrameHeader(out, 0, body.length, kind);
  out.set(body, FRAME_HEADER_BYTES);
  return out;
}

/** A carrier that keeps every transmit (each a list of chunks) and reports it sent when told to. */
class RecordingCarrier implements Carrier {
  blocked = false;
  readonly transmits: { chunks: Uint8Array[]; bytes: number; count: number }[] = [];
  ended = false;
  destroyed = false;

  constructor(readonly peerPings: boolean) {}

  transmit(chunks: Uint8Array[], bytes: number, count: number): void {
    this.transmits.push({ chunks: chunks.map((c) => c.slice()), bytes, count });
  }

  end(): void {
    this.ended = true;
  }

  destroy(): void {
    this.destroyed = true;
  }

  /** The kinds of every frame written so far, in order; throws if one was split across transmits. */
  kinds(): number[] {
    const kinds: number[] = [];
    const reader = new FrameReader(DEFAULTS.maxFrameBytes, (kind) => kinds.push(kind));
    for (const t of this.transmits) {
      for (const chunk of t.chunks) reader.push(chunk);
      expect(reader.midFrame, 'a transmit ends on a frame boundary').toBe(false);
    }
    return kinds;
  }
}

/** The shared core with a recording carrier, opened as Node's and the page's sockets open it. */
class Harness extends DataSocketCore {
  readonly log: string[] = [];
  readonly errors: DataSocketError[] = [];
  readonly carrier: RecordingCarrier;

  constructor(options: Partial<ResolvedOptions>, { peerPings = true, address = { name: 'h', path: '/h.sock' } }: { peerPings?: boolean; address?: DataSocketAddress } = {}) {
    super('client', { ...DEFAULTS, ...options }, address);
    this.carrier = new RecordingCarrier(peerPings);
    this.on('data', (v: unknown) => this.log.push(`data:${String(v)}`))
      .on('sent', () => this.log.push('sent'))
      .on('error', (e) => {
        this.log.push(`error:${e.code}`);
        this.errors.push(e);
      })
      .on('close', () => this.log.push('close'));
    this.attach(this.carrier);
  }

  open(): this {
    this.opened();
    return this;
  }

  feed(bytes: Uint8Array): void {
    this.receive(bytes);
  }

  reportSent(): void {
    for (const t of this.carrier.transmits.splice(0)) this.sent(t.bytes, t.count);
  }

  unblock(): void {
    this.carrier.blocked = false;
    this.resume();
  }
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('§11 liveness in the shared core (Node and page sockets alike)', () => {
  it('sends one PING after keepAliveMs of silence, then fails with ERR_DATASOCKET_TIMEOUT after 2 × keepAliveMs, then close, once', () => {
    const h = new Harness({ keepAliveMs: 100 }).open();
    vi.advanceTimersByTime(99);
    expect(h.carrier.kinds()).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(h.carrier.kinds()).toEqual([FrameKind.PING]);
    expect(h.carrier.transmits[0]!.count, 'a PING is not a value').toBe(0);
    h.reportSent();
    expect(h.bufferedAmount).toBe(0);
    vi.advanceTimersByTime(99);
    expect(h.log).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(h.log).toEqual([`error:${ErrorCode.TIMEOUT}`, 'close']);
    expect(h.errors[0]!.message).toContain('sent nothing, not even a pong, for 200 ms');
    expect(h.carrier.destroyed).toBe(true);
    expect(h.carrier.ended, 'no END after a timeout').toBe(false);
    expect(h.state).toBe('closed');
    vi.advanceTimersByTime(1_000);
    expect(h.log).toHaveLength(2);
    expect(vi.getTimerCount(), 'the keep-alive timer is gone').toBe(0);
  });

  it('never pings before keepAliveMs nor fails before twice it, an odd keepAliveMs too', () => {
    const h = new Harness({ keepAliveMs: 3 }).open();
    vi.advanceTimersByTime(3);
    expect(h.carrier.kinds()).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(h.carrier.kinds()).toEqual([FrameKind.PING]);
    vi.advanceTimersByTime(3);
    expect(h.state).toBe('open');
    vi.advanceTimersByTime(1);
    expect(h.log).toEqual([`error:${ErrorCode.TIMEOUT}`, 'close']);
  });

  it('counts any byte received as life: a PONG, a value, even half a frame', () => {
    const h = new Harness({ keepAliveMs: 100 }).open();
    vi.advanceTimersByTime(100);
    expect(h.carrier.kinds()).toEqual([FrameKind.PING]);
    h.feed(PONG);
    vi.advanceTimersByTime(150);
    expect(h.log).toEqual([]);
    const value = frame(FrameKind.UINT8ARRAY, Uint8Array.of(1, 2, 3));
    h.feed(value.subarray(0, 3));
    vi.advanceTimersByTime(150);
    h.feed(value.subarray(3));
    vi.advanceTimersByTime(150);
    expect(h.log).toEqual(['data:1,2,3']);
    expect(h.state).toBe('open');
    vi.advanceTimersByTime(200);
    expect(h.log).toEqual(['data:1,2,3', `error:${ErrorCode.TIMEOUT}`, 'close']);
  });

  it('a busy connection sends no PING: something arrives more often than every keepAliveMs', () => {
    const h = new Harness({ keepAliveMs: 100 }).open();
    const value = frame(FrameKind.UINT8ARRAY, Uint8Array.of(7));
    for (let t = 0; t < 5_000; t += 90) {
      h.feed(value);
      vi.advanceTimersByTime(90);
    }
    expect(h.carrier.kinds()).toEqual([]);
    expect(h.state).toBe('open');
    // And the same connection, left silent, does ping: the count above could have failed.
    vi.advanceTimersByTime(150);
    expect(h.carrier.kinds()).toEqual([FrameKind.PING]);
  });

  it('answers a PING with a PONG at once, behind what it had queued, and delivers nothing for either', async () => {
    const idle = new Harness({ keepAliveMs: 0 }).open();
    idle.feed(PING);
    expect(idle.carrier.kinds(), 'an idle connection answers within the call').toEqual([FrameKind.PONG]);
    const h = new Harness({ keepAliveMs: 0 }).open();
    h.send('before');
    h.feed(PING);
    // A busy one (a write still on its way to the OS) batches it with the turn's other frames, as send() does.
    await new Promise((resolve) => setImmediate(resolve));
    expect(h.carrier.kinds()).toEqual([FrameKind.VALUE, FrameKind.PONG]);
    h.reportSent();
    expect(h.log, 'one sent for the value, none for the PONG').toEqual(['sent']);
    h.feed(PONG);
    expect(h.log).toEqual(['sent']);
    expect(h.state).toBe('open');
  });

  it('queues a PING behind frames a blocked carrier holds back and sends it whole, after them, once it takes bytes again', () => {
    const h = new Harness({ keepAliveMs: 100 }).open();
    h.carrier.blocked = true;
    h.send(new Uint8Array(100_000));
    vi.advanceTimersByTime(100);
    expect(h.carrier.transmits).toEqual([]);
    h.send('after');
    h.unblock();
    expect(h.carrier.kinds()).toEqual([FrameKind.UINT8ARRAY, FrameKind.PING, FrameKind.VALUE]);
    expect(h.carrier.transmits.map((t) => t.count)).toEqual([2]);
  });

  it('answers no PING once it has queued its END: nothing may follow END', () => {
    const h = new Harness({ keepAliveMs: 100 }).open();
    h.close();
    h.feed(PING);
    expect(h.carrier.kinds()).toEqual([FrameKind.END]);
    expect(h.carrier.ended).toBe(true);
    // Closing: keep-alive stops; the carrier's close timer bounds the wait for the peer's end.
    vi.advanceTimersByTime(1_000);
    expect(h.carrier.kinds()).toEqual([FrameKind.END]);
    expect(h.log).toEqual([]);
  });

  it('never pings a peer whose HELLO did not set PINGS, and never times it out', () => {
    const h = new Harness({ keepAliveMs: 100 }, { peerPings: false }).open();
    vi.advanceTimersByTime(10_000);
    expect(h.carrier.kinds()).toEqual([]);
    expect(h.state).toBe('open');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('keepAliveMs 0 sends nothing and never times out, over TCP too', () => {
    const h = new Harness({ keepAliveMs: 0 }, { address: { name: '127.0.0.1', port: 9 } }).open();
    vi.advanceTimersByTime(10 * TCP_KEEP_ALIVE_MS);
    expect(h.carrier.kinds()).toEqual([]);
    expect(h.state).toBe('open');
  });

  it('defaults to 15 000 ms over TCP and to off over a local socket', () => {
    expect(resolveOptions(undefined, true).keepAliveMs).toBeUndefined();
    expect(keepAliveFor(resolveOptions({}, true), true)).toBe(15_000);
    expect(keepAliveFor(resolveOptions({}, true), false)).toBe(0);
    expect(keepAliveFor(resolveOptions({ keepAliveMs: 250 }, false), false)).toBe(250);
    const tcp = new Harness({}, { address: { name: '127.0.0.1', port: 9 } }).open();
    const local = new Harness({}, { address: { name: 'app', path: '/tmp/app.sock' } }).open();
    vi.advanceTimersByTime(14_999);
    expect(tcp.carrier.kinds()).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(tcp.carrier.kinds()).toEqual([FrameKind.PING]);
    vi.advanceTimersByTime(15_000);
    expect(tcp.log).toEqual([`error:${ErrorCode.TIMEOUT}`, 'close']);
    expect(tcp.errors[0]!.message).toContain('30000 ms');
    vi.advanceTimersByTime(10 * TCP_KEEP_ALIVE_MS);
    expect(local.carrier.kinds()).toEqual([]);
    expect(local.state).toBe('open');
  });

  it('starts only when the connection opens: nothing is sent or timed while connecting', () => {
    const h = new Harness({ keepAliveMs: 100 });
    vi.advanceTimersByTime(1_000);
    expect(h.carrier.kinds()).toEqual([]);
    expect(h.state).toBe('connecting');
    expect(vi.getTimerCount()).toBe(0);
    h.close();
  });

  it('refuses a keepAliveMs that is not an integer from 0 to 2147483647 with ERR_DATASOCKET_INVALID_ARGUMENT', () => {
    for (const bad of [-1, 1.5, NaN, Infinity, 2 ** 31, '100', null, true]) {
      expect(() => resolveOptions({ keepAliveMs: bad }, true), String(bad)).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }));
    }
    expect(resolveOptions({ keepAliveMs: 0 }, false).keepAliveMs).toBe(0);
    expect(resolveOptions({ keepAliveMs: 2 ** 31 - 1 }, false).keepAliveMs).toBe(2 ** 31 - 1);
  });
});
