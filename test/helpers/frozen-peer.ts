/**
 * §11 keep-alive against a frozen peer process: freeze it right after the last byte it
 * sent, wait for our side to give up, and check how long that took.
 */
import { expect } from 'vitest';
import type { Peer } from './peer.js';

/**
 * Freezes `peer` (SIGSTOP) and waits for `closed` (our side giving up on it), killing the
 * peer afterwards whatever happened; resolves with the silence: ms from the freeze to the close.
 * Call it right after the peer's last value arrived, so the silence counts from its last byte.
 */
export async function freezeUntilClosed(peer: Peer, closed: () => Promise<unknown>): Promise<number> {
  const lastHeard = Date.now();
  peer.kill('SIGSTOP');
  try {
    await closed();
  } finally {
    peer.kill('SIGKILL');
  }
  return Date.now() - lastHeard;
}

/** Expects a silence that keep-alive ended to be 2 × `keepAliveMs`: not under 90 % of it, nor 2 s past it. */
export function expectTimedOutSilence(silence: number, keepAliveMs: number): void {
  expect(silence).toBeGreaterThanOrEqual(2 * keepAliveMs * 0.9);
  expect(silence).toBeLessThan(2 * keepAliveMs + 2_000);
}
