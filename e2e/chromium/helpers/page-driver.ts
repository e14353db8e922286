/**
 * The test's hands inside a page: {@link createDriver} runs in the page's main world
 * (Playwright serializes it, so it must be self-contained, like the bundle it tests)
 * and returns an object, held by the test as a JSHandle, that opens DataSockets with
 * `window.Net.DataSocket` exactly as page code would, records what they emit, and
 * waits for it. It adds no global to the page.
 *
 * Values cross between the test and the page as descriptions (page-values.ts), never
 * as the values themselves: Playwright's own serialization would blur the very
 * differences (Map vs object, typed array kinds, shared references) the tests check.
 */
import type { PageDataSocket, PageDataSocketClass } from '../../../src/renderer/client.js';
import type { Rendezvous } from '../../../src/shared/rendezvous.js';
import type { Description, ValueKit } from './page-values.js';

export type { Description } from './page-values.js';

/** How a page's listener answers incoming connections. */
export interface AcceptPlan {
  verdict: 'yes' | 'no' | 'throw';
  /** Answer with a Promise settling after this many ms; else at once. */
  delayMs?: number;
  /** What each accepted connection does on `connect`: send these strings, then maybe close. */
  onConnect?: { send?: string[]; close?: boolean };
}

/** What one socket did so far. */
export interface Snapshot {
  id: string;
  /** Events in order: 'connect', 'listening', 'data', 'error:<code>', 'clientError:<code>', 'drain', 'close'; listeners also 'accepted'. */
  log: string[];
  values: Description[];
  errors: { code: string; message: string; name: string }[];
  sent: number;
  state: string;
  active: boolean;
  address: { name: string; port?: number; path?: string };
  /** Listener: the ids of the connections its acceptor saw (`<listener>#1`, …). */
  accepted: string[];
  /** Accepted connection: its state while the acceptor ran. */
  stateInAcceptor: string | null;
}

/** What one rendezvous member (`connectOrListen`) did so far. */
export interface MemberSnapshot {
  id: string;
  /** Events in order: 'role:<role>', 'connection', 'error:<code>', 'close'. */
  log: string[];
  /** `rendezvous.role` now. */
  role: string;
  /** The page's Date.now() at each 'role' event, in order. */
  roleTimes: number[];
  /** The ids its links are recorded under, as sockets (`<member>@1`, …), in the order they were handed over. */
  links: string[];
  /** How many connections its acceptor saw (it accepts every one). */
  acceptorCalls: number;
}

/** The driver's API, as the test calls it through `JSHandle.evaluate`. */
export interface PageDriver {
  readonly DataSocket: PageDataSocketClass;
  /** Scratch space that lives as long as the page, for a test's own handlers. */
  readonly scratch: Record<string, unknown>;
  /** `DataSocket.connect(…)`, recorded as `id`; `quiet` records only connect/data/close (no `error` handler). Returns the state right after. */
  connect(id: string, name: string, port?: number, options?: object, quiet?: boolean): string;
  /** `DataSocket.listen(…)` with an acceptor following `plan`, recorded as `id`. */
  listen(id: string, name: string, port: number | undefined, plan: AcceptPlan, options?: object): void;
  /**
   * `DataSocket.connectOrListen(…)` with an acceptor that says yes, recorded as member `id`;
   * each link it hands over is recorded as a socket `<id>@1`, `<id>@2`, …. Returns the role right after.
   */
  join(id: string, name: string, port?: number, options?: object): string;
  /** The rendezvous recorded as member `id`. */
  rendezvous(id: string): Rendezvous<PageDataSocket>;
  member(id: string): MemberSnapshot;
  /** Resolves once member `id` logged `event` (a prefix match: 'role' matches 'role:leader') `count` times; returns its snapshot. */
  untilMember(id: string, event: string, count?: number, timeoutMs?: number): Promise<MemberSnapshot>;
  /** The socket recorded as `id`. */
  socket(id: string): PageDataSocket;
  snapshot(id: string): Snapshot;
  /** Resolves once `id` logged `event` (a prefix match: 'error' matches 'error:ECONNREFUSED') `count` times; returns its log. */
  until(id: string, event: string, count?: number, timeoutMs?: number): Promise<string[]>;
  /** Resolves once `id` received `count` values in all. */
  untilValues(id: string, count: number, timeoutMs?: number): Promise<void>;
  /** How many values `id` received so far. */
  valueCount(id: string): number;
  /** Descriptions of the values `id` received, from the `from`-th on. */
  values(id: string, from?: number): Description[];
  send(id: string, value: unknown): boolean;
  /** The §3 sample values by name, made fresh. */
  sample(name: string): unknown;
  sampleNames(): string[];
  describe(value: unknown): Description;
  /** Sends `{ seq: 0 … count-1, pad }`; returns how many sends said false (above highWaterMark). */
  sendSequence(id: string, count: number): number;
  /** How many `{ seq }` values `id` received, and whether seq went 0, 1, 2, … */
  sequence(id: string): { received: number; inOrder: boolean };
  /** Closes every recorded member and socket and forgets them. */
  closeAll(): void;
}

/** Runs in the page: makes the driver over the value kit (see page-values.ts). Self-contained. */
export function createDriver(kit: ValueKit): PageDriver {
  type Waiter = () => boolean;
  interface Entry {
    socket: PageDataSocket;
    log: string[];
    values: unknown[];
    errors: { code: string; message: string; name: string }[];
    sent: number;
    accepted: string[];
    stateInAcceptor: string | null;
  }
  const net = (globalThis as unknown as { Net?: { DataSocket?: PageDataSocketClass } }).Net;
  if (net?.DataSocket === undefined) throw new Error('window.Net.DataSocket is missing: the preload did not run');
  const DataSocket = net.DataSocket;
  interface MemberEntry {
    rendezvous: Rendezvous<PageDataSocket>;
    log: string[];
    roleTimes: number[];
    links: string[];
    acceptorCalls: number;
  }
  const entries = new Map<string, Entry>();
  const members = new Map<string, MemberEntry>();
  let waiters: Waiter[] = [];
  const wake = (): void => {
    waiters = waiters.filter((done) => !done());
  };

  const record = (id: string, socket: PageDataSocket, quiet: boolean, stateInAcceptor: string | null = null): Entry => {
    const entry: Entry = { socket, log: [], values: [], errors: [], sent: 0, accepted: [], stateInAcceptor };
    entries.set(id, entry);
    const push = (what: string): void => {
      entry.log.push(what);
      wake();
    };
    socket
      .on('connect.driver', () => push('connect'))
      .on('data.driver', (value: unknown) => {
        entry.values.push(value);
        push('data');
      })
      .on('close.driver', () => push('close'));
    if (!quiet) {
      socket
        .on('listening.driver', () => push('listening'))
        .on('sent.driver', () => {
          entry.sent++;
          wake();
        })
        .on('drain.driver', () => push('drain'))
        .on('clientError.driver', (error) => push(`clientError:${error.code}`))
        .on('error.driver', (error) => {
          entry.errors.push({ code: error.code, message: error.message, name: error.name });
          push(`error:${error.code}`);
        });
    }
    return entry;
  };

  const memberOf = (id: string): MemberEntry => {
    const member = members.get(id);
    if (member === undefined) throw new Error(`no member '${id}' in this page (have ${[...members.keys()].join(', ')})`);
    return member;
  };

  const memberSnapshot = (id: string): MemberSnapshot => {
    const member = memberOf(id);
    return { id, log: [...member.log], role: member.rendezvous.role, roleTimes: [...member.roleTimes], links: [...member.links], acceptorCalls: member.acceptorCalls };
  };

  const entryOf = (id: string): Entry => {
    const entry = entries.get(id);
    if (entry === undefined) throw new Error(`no socket '${id}' in this page (have ${[...entries.keys()].join(', ')})`);
    return entry;
  };

  const waitUntil = (check: () => boolean, timeoutMs: number, explain: () => string): Promise<void> =>
    new Promise((resolve, reject) => {
      if (check()) {
        resolve();
        return;
      }
      const timer = setTimeout(() => {
        waiters = waiters.filter((w) => w !== done);
        reject(new Error(`timed out after ${timeoutMs} ms: ${explain()}`));
      }, timeoutMs);
      const done: Waiter = () => {
        if (!check()) return false;
        clearTimeout(timer);
        resolve();
        return true;
      };
      waiters.push(done);
    });

  const { describe } = kit;

  const driver: PageDriver = {
    DataSocket,
    scratch: {},
    connect(id, name, port, options, quiet = false) {
      const socket = DataSocket.connect(name, port, options);
      record(id, socket, quiet);
      return socket.state;
    },
    listen(id, name, port, plan, options) {
      let count = 0;
      const acceptor = (connection: PageDataSocket): boolean | Promise<boolean> => {
        const connectionId = `${id}#${++count}`;
        const entry = record(connectionId, connection, false, connection.state);
        const listener = entries.get(id);
        listener?.accepted.push(connectionId);
        listener?.log.push('accepted');
        wake();
        const onConnect = plan.onConnect;
        if (onConnect !== undefined) {
          entry.socket.on('connect.driver', () => {
            for (const value of onConnect.send ?? []) entry.socket.send(value);
            if (onConnect.close === true) entry.socket.close();
          });
        }
        const answer = (): boolean => {
          if (plan.verdict === 'throw') throw new Error('the acceptor says no by throwing');
          return plan.verdict === 'yes';
        };
        if (plan.delayMs === undefined) return answer();
        return new Promise((resolve, reject) =>
          setTimeout(() => {
            try {
              resolve(answer());
            } catch (error) {
              reject(error as Error);
            }
          }, plan.delayMs),
        );
      };
      record(id, DataSocket.listen(acceptor, name, port, options), false);
    },
    join(id, name, port, options) {
      const member: MemberEntry = { rendezvous: null as unknown as Rendezvous<PageDataSocket>, log: [], roleTimes: [], links: [], acceptorCalls: 0 };
      const push = (what: string): void => {
        member.log.push(what);
        wake();
      };
      member.rendezvous = DataSocket.connectOrListen(
        () => {
          member.acceptorCalls++;
          return true;
        },
        name,
        port,
        options,
      );
      members.set(id, member);
      member.rendezvous
        .on('role.driver', (role) => {
          member.roleTimes.push(Date.now());
          push(`role:${role}`);
        })
        .on('connection.driver', (link) => {
          const linkId = `${id}@${member.links.length + 1}`;
          record(linkId, link, false);
          member.links.push(linkId);
          push('connection');
        })
        .on('error.driver', (error) => push(`error:${error.code}`))
        .on('close.driver', () => push('close'));
      return member.rendezvous.role;
    },
    rendezvous: (id) => memberOf(id).rendezvous,
    member: (id) => memberSnapshot(id),
    async untilMember(id, event, count = 1, timeoutMs = 10_000) {
      const matches = (): number => (members.get(id)?.log ?? []).filter((what) => what === event || what.startsWith(`${event}:`)).length;
      await waitUntil(() => matches() >= count, timeoutMs, () => `member '${id}' logged ${JSON.stringify(members.get(id)?.log ?? 'nothing (no such member)')}, waiting for ${count}× '${event}'`);
      return memberSnapshot(id);
    },
    socket: (id) => entryOf(id).socket,
    snapshot(id) {
      const entry = entryOf(id);
      return {
        id,
        log: [...entry.log],
        values: entry.values.map((value) => describe(value)),
        errors: [...entry.errors],
        sent: entry.sent,
        state: entry.socket.state,
        active: entry.socket.active,
        address: { ...entry.socket.address },
        accepted: [...entry.accepted],
        stateInAcceptor: entry.stateInAcceptor,
      };
    },
    async until(id, event, count = 1, timeoutMs = 10_000) {
      const matches = (): number => (entries.get(id)?.log ?? []).filter((what) => what === event || what.startsWith(`${event}:`)).length;
      await waitUntil(() => matches() >= count, timeoutMs, () => `'${id}' logged ${JSON.stringify(entries.get(id)?.log ?? 'nothing (no such socket)')}, waiting for ${count}× '${event}'`);
      return [...entryOf(id).log];
    },
    async untilValues(id, count, timeoutMs = 20_000) {
      await waitUntil(() => (entries.get(id)?.values.length ?? 0) >= count, timeoutMs, () => `'${id}' has ${entries.get(id)?.values.length ?? 'no'} of ${count} values; log ends ${JSON.stringify(entries.get(id)?.log.slice(-5))}`);
    },
    valueCount: (id) => entryOf(id).values.length,
    values: (id, from = 0) => entryOf(id).values.slice(from).map((value) => describe(value)),
    send: (id, value) => entryOf(id).socket.send(value),
    sample: (name) => kit.sample(name),
    sampleNames: () => kit.sampleNames(),
    describe: (value) => describe(value),
    sendSequence(id, count) {
      const socket = entryOf(id).socket;
      let full = 0;
      for (let seq = 0; seq < count; seq++) if (!socket.send({ seq, pad: 'x'.repeat(seq % 50) })) full++;
      return full;
    },
    sequence(id) {
      let received = 0;
      let inOrder = true;
      for (const value of entryOf(id).values) {
        if (typeof value !== 'object' || value === null || !('seq' in value)) continue;
        if ((value as { seq: unknown }).seq !== received) inOrder = false;
        received++;
      }
      return { received, inOrder };
    },
    closeAll() {
      for (const member of members.values()) member.rendezvous.close();
      members.clear();
      for (const entry of entries.values()) entry.socket.close();
      entries.clear();
      waiters = [];
    },
  };
  return driver;
}
