/**
 * The policies a harness can run with (`--policy <name>`), standing for what an app
 * passes to installDataSocketBridge({ policy }).
 */
import { defaultPolicy, type SocketPolicy } from '../../../src/main/bridge/policy.js';

/** What the policy learns about the page: its URL, as Electron reports the frame's. */
export interface PageContext {
  url: string;
}

/** Policies by name. */
export const POLICIES = {
  /** The library's default: local sockets, and TCP on loopback only. */
  default: defaultPolicy,
  /** An app's own rule on top of the default: no name starting with 'forbidden-'. */
  'refuse-forbidden': (request) => !request.name.startsWith('forbidden-') && defaultPolicy(request),
} satisfies Record<string, SocketPolicy<PageContext>>;

/** A policy's name. */
export type PolicyName = keyof typeof POLICIES;

/** Whether `name` names a policy. */
export function isPolicyName(name: string): name is PolicyName {
  return Object.prototype.hasOwnProperty.call(POLICIES, name);
}
