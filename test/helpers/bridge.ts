/**
 * A page and its host joined by a real worker_threads MessageChannel: every
 * message is structured-cloned, as between a renderer and main. Electron's
 * ipc/contextBridge are not involved; the host and client code are the real ones.
 */
import { MessageChannel } from 'node:worker_threads';
import { DEFAULT_LIMITS, Host, type HostLimits } from '../../src/main/bridge/host.js';
import { defaultPolicy, type SocketPolicy } from '../../src/main/bridge/policy.js';
import type { ClientMessage, HostMessage } from '../../src/shared/bridge-protocol.js';
import { createBridgeClient } from '../../src/renderer/client.js';

export interface PageContext {
  url: string;
}

/** A page (its DataSocket class) served by a host over a message channel. */
export function bridgedPage(options: { policy?: SocketPolicy<PageContext>; limits?: Partial<HostLimits>; url?: string; namespace?: string; traceLabel?: string } = {}) {
  const { port1: hostPort, port2: pagePort } = new MessageChannel();
  const fromHost: HostMessage[] = [];
  const host = new Host<PageContext>((message) => hostPort.postMessage(message), {
    policy: options.policy ?? defaultPolicy,
    limits: { ...DEFAULT_LIMITS, ...options.limits },
    namespace: options.namespace,
    traceLabel: options.traceLabel,
    context: () => ({ url: options.url ?? 'app://page/index.html' }),
  });
  hostPort.on('message', (message: unknown) => host.receive(message));
  const toHost: ClientMessage[] = [];
  const client = createBridgeClient((message: ClientMessage) => {
    toHost.push(message);
    pagePort.postMessage(message);
  }, process.platform);
  pagePort.on('message', (message: HostMessage) => {
    fromHost.push(message);
    client.receive(message);
  });
  return {
    DataSocket: client.DataSocket,
    host,
    /** Every message the host sent the page. */
    fromHost,
    /** Every message the page sent the host. */
    toHost,
    /** Sends a raw message to the host, as a hostile page could. */
    inject(message: unknown): void {
      pagePort.postMessage(message);
    },
    /**
     * Main's bridge shuts down while the page lives on: its host stops serving and the page
     * is told 'shutdown', as installDataSocketBridge's dispose() does (src/main/bridge/electron-bridge.ts).
     */
    shutdown(): void {
      host.dispose('disposed');
      hostPort.postMessage({ t: 'shutdown' } satisfies HostMessage);
    },
    /** The page goes away: its host stops serving, the channel closes. */
    close(): void {
      host.dispose('destroyed');
      hostPort.close();
      pagePort.close();
    },
  };
}
