/**
 * SPEC §3 and §4 over real sockets: what issue 10 found a peer could do to a
 * listener, and what it must see instead. The peer writes raw bytes
 * (test/helpers/raw-client.ts) or is a DataSocket.
 */
import { describe, expect, it } from 'vitest';
import { DataSocket, ErrorCode } from '../../../src/index.js';
import { MAX_NESTING } from '../../../src/shared/protocol.js';
import { useCleanup } from '../../helpers/cleanup.js';
import { frameOf, fromHex, rawConnect } from '../../helpers/raw-client.js';
import { listenRecording, once, sleep, uniqueName, until } from '../../helpers/sockets.js';

const { track } = useCleanup();

/** A listener in this process that records every connection it accepts. */
async function listenHere() {
  const here = await listenRecording(track, uniqueName('hostile'));
  return { ...here, path: here.path! };
}

const ascii = (text: string): string => Buffer.from(text).toString('hex').replace(/(..)(?!$)/g, '$1 ');

describe('§3 values: a hostile peer gets ERR_DATASOCKET_PROTOCOL, the listener delivers nothing foreign and keeps serving', () => {
  const bodies: [string, string][] = [
    ["0xc1 as an Error's cause", `d4 65 00 93 a5 ${ascii('Error')} a0 c1`],
    ['0xc1 inside AggregateError.errors', `d4 65 00 94 ae ${ascii('AggregateError')} a0 d4 00 00 91 c1`],
    ["msgpackr's bundled strings (extension 0x62)", `91 d6 62 00 00 00 06 c1 14 a0 b4 ${ascii('hello world, bundled')}`],
    [`${MAX_NESTING + 1} nested arrays`, `${'91 '.repeat(MAX_NESTING + 1)}00`],
    ['a reference to a record slot never defined', '45'],
    ['a two-byte record definition (d5 72)', `d5 72 60 00 91 a1 61 01`],
  ];
  for (const [what, hex] of bodies) {
    it(`refuses ${what}`, async () => {
      const { listener, recorded, path } = await listenHere();
      const hostile = await rawConnect({ path });
      await hostile.write(frameOf(fromHex('a5 68 65 6c 6c 6f')));
      await hostile.write(frameOf(fromHex(hex)));
      // Bounded, so that a listener that never refuses fails the test rather than timing it out.
      await Promise.race([hostile.closed, sleep(5_000)]);
      await Promise.race([recorded[0]!.closed, sleep(1_000)]);
      expect(recorded[0]!.log).toEqual(['connect', 'data', `error:${ErrorCode.PROTOCOL}`, 'close']);
      expect(recorded[0]!.values).toEqual(['hello']);
      // The listener and a well-behaved client are unaffected.
      const good = track(DataSocket.connect(path));
      await once(good, 'connect');
      good.send({ still: 'fine' });
      await until(() => recorded[1]?.values.length === 1);
      expect(recorded[1]!.values).toEqual([{ still: 'fine' }]);
      expect(listener.state).toBe('listening');
    });
  }

  it('a nested Buffer arrives as a Uint8Array of its own, holding none of the bytes read with it', async () => {
    const { recorded, path } = await listenHere();
    const client = track(DataSocket.connect(path));
    await once(client, 'connect');
    const secret = 'an earlier value that must not be readable through a later one';
    // Sent together, so that both frames arrive in one read.
    client.send(secret);
    client.send({ nested: Buffer.from([1, 2, 3]), list: [Uint8Array.of(4, 5)] });
    await until(() => recorded[0]?.values.length === 2);
    const { nested, list } = recorded[0]!.values[1] as { nested: Uint8Array; list: Uint8Array[] };
    for (const [bin, bytes] of [
      [nested, [1, 2, 3]],
      [list[0]!, [4, 5]],
    ] as const) {
      expect(Object.getPrototypeOf(bin)).toBe(Uint8Array.prototype);
      expect([...bin]).toEqual(bytes);
      expect(bin.byteOffset).toBe(0);
      expect(bin.buffer.byteLength).toBe(bytes.length);
      expect(Buffer.from(bin.buffer).includes(Buffer.from(secret))).toBe(false);
    }
  });

  it(`send() refuses a value nested deeper than ${MAX_NESTING} levels with ERR_DATASOCKET_UNSERIALIZABLE; the socket stays usable`, async () => {
    const { recorded, path } = await listenHere();
    const client = track(DataSocket.connect(path));
    await once(client, 'connect');
    let deep: unknown = 'bottom';
    for (let i = 0; i <= MAX_NESTING; i++) deep = [deep];
    expect(() => client.send(deep)).toThrow(expect.objectContaining({ code: ErrorCode.UNSERIALIZABLE }));
    client.send((deep as unknown[])[0]);
    await until(() => recorded[0]?.values.length === 1);
    expect(recorded[0]!.values[0]).toStrictEqual((deep as unknown[])[0]);
    expect(recorded[0]!.errors).toEqual([]);
  });
});
