/**
 * §10 deadlines: PendingRequests keeps every request's deadline under one timer, armed
 * for the earliest. Each request still rejects with ERR_DATASOCKET_TIMEOUT at its own
 * timeoutMs — never before it, whatever the order of the timeouts — and one answered
 * in time never does.
 */
import { describe, expect, it } from 'vitest';
import { DataSocketError, ErrorCode } from '../../src/shared/errors.js';
import { PendingRequests } from '../../src/shared/requests.js';

const options = (timeoutMs: number) => ({ timeoutMs, signal: undefined, schema: undefined });

/** When `promise` settled (performance.now()), and how. */
function settledAt(promise: Promise<unknown>): Promise<{ at: number; value?: unknown; error?: DataSocketError }> {
  return promise.then(
    (value) => ({ at: performance.now(), value }),
    (error: DataSocketError) => ({ at: performance.now(), error }),
  );
}

describe('§10 deadlines: PendingRequests', () => {
  it('rejects each request at its own timeoutMs, never before, whatever the order the timeouts came in', async () => {
    const requests = new PendingRequests();
    const start = performance.now();
    const timeouts = [300, 40, 150, 40, 80];
    const outcomes = await Promise.all(timeouts.map((ms) => settledAt(requests.add(requests.nextId(), options(ms)))));
    outcomes.forEach(({ at, error }, i) => {
      expect(error?.code, `request ${i + 1}`).toBe(ErrorCode.TIMEOUT);
      expect(error?.message).toBe(`no reply to the request within ${timeouts[i]} ms (timeoutMs)`);
      expect(at - start, `request ${i + 1} (${timeouts[i]} ms)`).toBeGreaterThanOrEqual(timeouts[i]!);
      expect(at - start, `request ${i + 1} (${timeouts[i]} ms)`).toBeLessThan(timeouts[i]! + 1_000);
    });
    // In the order of their deadlines; the two of 40 ms in the order they were made.
    const order = outcomes.map((o, i) => ({ at: o.at, i })).sort((a, b) => a.at - b.at || a.i - b.i).map((o) => o.i);
    expect(order).toEqual([1, 3, 4, 2, 0]);
    expect(requests.size).toBe(0);
  });

  it('a request answered before its deadline resolves and is not rejected when the timer it shared comes due; the next still times out on time', async () => {
    const requests = new PendingRequests();
    const answered = settledAt(requests.add(requests.nextId(), options(30)));
    requests.reply(1, 'in time');
    const start = performance.now();
    const late = settledAt(requests.add(requests.nextId(), options(80)));
    expect(await answered).toMatchObject({ value: 'in time' });
    const { at, error } = await late;
    expect(error?.code).toBe(ErrorCode.TIMEOUT);
    expect(at - start).toBeGreaterThanOrEqual(80);
  });

  it('closeAll rejects what waits with ERR_DATASOCKET_CLOSED and leaves no timer behind', async () => {
    const requests = new PendingRequests();
    const waiting = settledAt(requests.add(requests.nextId(), options(60_000)));
    requests.closeAll(undefined);
    expect((await waiting).error?.code).toBe(ErrorCode.CLOSED);
    expect((requests as unknown as { _timer: unknown })._timer).toBeUndefined();
  });
});
