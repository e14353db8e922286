/**
 * What every test file that opens sockets or starts peer processes needs: a
 * place to register them, and an afterEach that closes them, so a failing test
 * cannot leak into the next.
 */
import { afterEach } from 'vitest';
import { Peer } from './peer.js';

/** Registers the afterEach of this test file; returns `track` (close after the test) and `spawn` (a peer process, stopped after the test). */
export function useCleanup() {
  const closables: { close(): void }[] = [];
  const peers: Peer[] = [];
  afterEach(async () => {
    for (const closable of closables.splice(0)) closable.close();
    await Promise.all(peers.splice(0).map((peer) => peer.stop()));
  });
  return {
    track<T extends { close(): void }>(closable: T): T {
      closables.push(closable);
      return closable;
    },
    spawn(env?: NodeJS.ProcessEnv): Peer {
      const peer = new Peer(env);
      peers.push(peer);
      return peer;
    },
  };
}
