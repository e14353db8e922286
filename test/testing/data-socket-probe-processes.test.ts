/**
 * §13 DataSocketProbe against an app stand-in in another Node process
 * (test/fixtures/peer.ts): the probe listening while the app connects, the probe
 * connecting to the app's listener, requests both ways, and the app dying while the
 * probe waits.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DataSocketError, ErrorCode } from '../../src/index.js';
import { DataSocketProbe } from '../../src/testing/data-socket-probe.js';
import { useCleanup } from '../helpers/cleanup.js';
import { listenIn } from '../helpers/peer.js';
import { rejection } from '../helpers/rejection.js';
import { useRuntimeDir } from '../helpers/runtime-dir.js';
import { uniqueName } from '../helpers/sockets.js';

useRuntimeDir();
const { spawn } = useCleanup();
const probes: DataSocketProbe[] = [];
afterEach(async () => {
  await Promise.all(probes.splice(0).map((probe) => probe.close()));
});

function kept<P extends DataSocketProbe>(probe: P): P {
  probes.push(probe);
  return probe;
}

describe('§13 DataSocketProbe with the app in another process', () => {
  it('listening: the app connects and sends a Map, a Date and bytes; next() and waitFor() see them as sent', async () => {
    const probe = await kept(DataSocketProbe.listen(uniqueName('probe-app'))).ready();
    const app = spawn();
    await app.run({ op: 'connect', id: 'c', name: probe.address.name });
    await app.next('connect', 'c');
    await app.run({ op: 'send', id: 'c', value: new Map<string, unknown>([['user', { id: 7 }]]) });
    await app.run({ op: 'send', id: 'c', value: new Date('2026-05-06T07:08:09.000Z') });
    await app.run({ op: 'send', id: 'c', value: new Uint8Array([0, 1, 255]) });
    await app.run({ op: 'send', id: 'c', value: { done: true } });

    const map = await probe.next();
    expect(map).toBeInstanceOf(Map);
    expect(map).toEqual(new Map([['user', { id: 7 }]]));
    const bytes = await probe.waitFor((v) => v instanceof Uint8Array);
    expect(bytes).toEqual(new Uint8Array([0, 1, 255]));
    expect(await probe.next()).toEqual({ done: true });
    const [, date] = probe.received;
    expect(date).toBeInstanceOf(Date);
    expect((date as Date).toISOString()).toBe('2026-05-06T07:08:09.000Z');

    expect(probe.send({ to: 'app' })).toBe(1);
    expect(await app.waitFor((e) => e.ev === 'data' && e.id === 'c')).toEqual({ ev: 'data', id: 'c', value: { to: 'app' } });
  });

  it("connecting over TCP to the app's listener: receives, sends, and requests answered by the app", async () => {
    const app = spawn();
    const at = await listenIn(app, { name: '127.0.0.1', port: 0 }, 'yes', undefined, 'echo');
    const probe = await kept(DataSocketProbe.connect('127.0.0.1', at.port)).ready();
    const { id } = (await app.waitFor((e) => e.ev === 'accepted')) as { id: string };
    await app.next('connect', id);
    await app.run({ op: 'send', id, value: new Set(['a', 'b']) });
    expect(await probe.next()).toEqual(new Set(['a', 'b']));
    probe.send('hello app');
    expect(await app.waitFor((e) => e.ev === 'data' && e.id === id)).toMatchObject({ value: 'hello app' });
    const question = { ask: 'echo', at: new Date(0), n: 12n };
    expect(await probe.request(question)).toEqual(question);
    expect(await app.waitFor((e) => e.ev === 'request' && e.id === id)).toMatchObject({ value: question });
  });

  it("the app's requests are answered by `respond` (a value or a Promise) and kept in `requests`; a throw reaches the app as ERR_DATASOCKET_REMOTE", async () => {
    const respond = async (value: unknown): Promise<unknown> => {
      if (value === 'fail') throw new RangeError('the test refuses');
      return { answer: value };
    };
    const probe = await kept(DataSocketProbe.listen(uniqueName('probe-respond'), { respond })).ready();
    const app = spawn();
    await app.run({ op: 'connect', id: 'c', name: probe.address.name });
    await app.run({ op: 'request', id: 'c', value: { q: 1 } });
    expect(await app.waitFor((e) => e.ev === 'replied' || e.ev === 'rejected')).toEqual({ ev: 'replied', id: 'c', value: { answer: { q: 1 } } });
    const from = app.events.length;
    await app.run({ op: 'request', id: 'c', value: 'fail' });
    const failed = await app.waitFor((e) => e.ev === 'replied' || e.ev === 'rejected', undefined, from);
    expect(failed).toMatchObject({ ev: 'rejected', code: ErrorCode.REMOTE, cause: { name: 'RangeError', message: 'the test refuses' } });
    expect(probe.requests).toEqual([{ q: 1 }, 'fail']);
    // A request is not a value: `received` stays empty.
    expect(probe.received).toEqual([]);
  });

  it('without `respond`, the app\'s request gets ERR_DATASOCKET_NO_HANDLER', async () => {
    const probe = await kept(DataSocketProbe.listen(uniqueName('probe-nohandler'))).ready();
    const app = spawn();
    await app.run({ op: 'connect', id: 'c', name: probe.address.name });
    await app.run({ op: 'request', id: 'c', value: 'anyone?' });
    expect(await app.waitFor((e) => e.ev === 'replied' || e.ev === 'rejected')).toMatchObject({ ev: 'rejected', code: ErrorCode.NO_HANDLER });
    expect(probe.requests).toEqual([]);
  });

  it('the app dying while a connecting probe waits rejects the wait at once with CLOSED, the socket error as cause', async () => {
    const app = spawn();
    const at = await listenIn(app, { name: uniqueName('probe-dies') });
    const probe = await kept(DataSocketProbe.connect(at.name, { timeoutMs: 20_000 })).ready();
    await app.waitFor((e) => e.ev === 'connect');
    const waiting = probe.next();
    const started = Date.now();
    app.kill();
    const error = await rejection(waiting);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(error.code).toBe(ErrorCode.CLOSED);
    expect(error.cause).toBeInstanceOf(DataSocketError);
    expect((error.cause as DataSocketError).code).toBe('ECONNRESET');
    expect(probe.errors.map((e) => e.code)).toEqual(['ECONNRESET']);
    expect(error.message).toContain('Errors: ECONNRESET');
  });
});
