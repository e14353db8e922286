/**
 * The messages between a page's DataSocket client and the host in the main
 * process that owns its real sockets. They travel over one message port per
 * frame; values never appear in them, only frame bytes the page encoded.
 * The main process validates every client message (src/main/bridge/bridge-schema.ts).
 *
 * Ids: the page numbers the sockets it makes 1, 2, 3, … (never reused); the host
 * numbers the connections it accepts for the page -1, -2, -3, ….
 *
 * Runs in Node and in the page: no Node or DOM imports.
 */
import type { PlainError } from './errors.js';

/** The one IPC channel the preload uses, to hand main its end of the port. */
export const BRIDGE_CHANNEL = 'electron-datasocket:port';

/** Options as the page resolved them; the host checks them again. */
export interface WireOptions {
  maxFrameBytes: number;
  maxBufferedBytes: number;
  highWaterMark: number;
  handshakeTimeoutMs: number;
  acceptTimeoutMs: number;
  /** Absent: the transport's default, decided when the connection opens. */
  keepAliveMs?: number;
  token?: string;
  /** The page lets main decode this socket's values for the trace (SPEC §13); absent: sizes only. */
  traceValues?: true;
}

/** Where a socket is, as the host reports it. */
export interface WireAddress {
  name: string;
  port?: number;
  path?: string;
}

/** Page → host. */
export type ClientMessage =
  /** Open a client connection. */
  | { t: 'connect'; id: number; name: string; port: number | null; options: WireOptions }
  /**
   * Listen; incoming connections are announced with `incoming`. `elect`: listen as a
   * rendezvous member (SPEC §9) — only while holding the endpoint's election lock; when
   * another member leads, the listener fails with EADDRINUSE.
   */
  | { t: 'listen'; id: number; name: string; port: number | null; options: WireOptions; elect?: boolean }
  /** The page's acceptor decided on an `incoming` connection. */
  | { t: 'verdict'; id: number; accept: boolean }
  /** Whole frames to write, as encoded by the page; `count` values among them. */
  | { t: 'send'; id: number; bytes: Uint8Array; count: number }
  /** Connection: end after what was sent (the page sent END first). Listener: stop listening. */
  | { t: 'end'; id: number }
  /** Drop the socket now, whatever its state. No answer follows. */
  | { t: 'destroy'; id: number };

/** Host → page. */
export type HostMessage =
  /**
   * A connection is open (client accepted, or an accepted connection after the page's yes).
   * `pings`: the peer's HELLO announced PINGS, so the page may ping it (keep-alive).
   * `requests`: it announced REQUESTS, so the page may send it requests and replies.
   */
  | { t: 'open'; id: number; address: WireAddress; pings: boolean; requests: boolean }
  /** A listener is bound. */
  | { t: 'bound'; id: number; address: WireAddress }
  /** A connection to listener `listener` passed its handshake; the page's acceptor decides. */
  | { t: 'incoming'; id: number; listener: number; address: WireAddress }
  /** Bytes from the peer (frames, possibly cut anywhere). */
  | { t: 'data'; id: number; bytes: Uint8Array }
  /** A `send` of `bytes` bytes holding `count` values reached the OS. */
  | { t: 'sent'; id: number; bytes: number; count: number }
  /** The socket is gone without an error of its own (connection closed, listener stopped, peer left before the verdict). */
  | { t: 'ended'; id: number }
  /** The socket failed. */
  | { t: 'failed'; id: number; error: PlainError }
  /** Listener: an incoming connection failed its handshake. */
  | { t: 'clientError'; id: number; error: PlainError }
  /** A message was refused (malformed, unknown id, not allowed in this state); nothing else changed. */
  | { t: 'rejected'; error: PlainError }
  /**
   * Main stopped serving this page and closes the port next: every socket of the page is
   * gone. Always the last message on a port (Chromium fires no 'close' on the page's end).
   */
  | { t: 'shutdown' };
