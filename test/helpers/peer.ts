/**
 * Drives an app-instance process (test/fixtures/peer.ts) from a test: send it
 * commands, wait for the events it reports, kill it.
 */
import { fileURLToPath } from 'node:url';
import type { PeerAcceptor, PeerAnswer, PeerCommand, PeerEvent } from '../fixtures/peer.js';
import { ChildDriver } from './child-driver.js';

const PEER = fileURLToPath(new URL('../fixtures/peer.ts', import.meta.url));

/** Request number `i` of the request tests: a value of a few kinds, different for each `i`. */
export function requestValue(i: number): { i: number; text: string; big: bigint } {
  return { i, text: `request ${i}`, big: BigInt(i) * 3n };
}

/** The reply to a request of requestValue: a function of the value, so that each reply tells which request it answers. */
export function computeReply(value: unknown): { i: number; text: string; big: bigint } {
  const { i, text, big } = value as ReturnType<typeof requestValue>;
  return { i: i * 2 + 1, text: text.toUpperCase(), big: big + 1n };
}

/** Whether `reply` is computeReply(`value`). */
export function isReplyTo(value: ReturnType<typeof requestValue>, reply: unknown): boolean {
  const expected = computeReply(value);
  const got = reply as Partial<typeof expected> | null;
  return typeof got === 'object' && got !== null && got.i === expected.i && got.text === expected.text && got.big === expected.big;
}

/** A running peer process and everything it reported so far. */
export class Peer extends ChildDriver<PeerEvent, PeerCommand> {
  constructor(env: NodeJS.ProcessEnv = {}) {
    super('peer', PEER, ['--import', 'tsx'], env);
  }

  /** Waits for event `ev` of socket `id`. */
  next(ev: PeerEvent['ev'], id: string, timeoutMs?: number): Promise<PeerEvent> {
    return this.waitFor((e) => e.ev === ev && 'id' in e && e.id === id, timeoutMs);
  }

  /** Ends the process (it exits when its IPC channel closes). */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.disconnect();
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 3_000);
      await this.exited;
      clearTimeout(timer);
    }
  }
}

/** Starts a listener in `peer` (its connections answering requests as `answer` says); resolves with where to connect (`port` for TCP). */
export async function listenIn(
  peer: Peer,
  endpoint: { name: string; port?: number },
  acceptor: PeerAcceptor = 'yes',
  options?: Record<string, unknown>,
  answer?: PeerAnswer,
): Promise<{ name: string; port?: number; path?: string }> {
  await peer.run({ op: 'listen', name: endpoint.name, port: endpoint.port, acceptor, options, answer });
  const bound = (await peer.next('listening', 'listener')) as { address: { name: string; port?: number; path?: string } };
  return bound.address;
}
