/**
 * The handshake of PROTOCOL.md as a state machine over bytes: HELLO both ways,
 * then (with a token) an AUTH proof both ways, then the listener's VERDICT.
 * It owns no socket and no timer, so it can be fed hostile bytes directly (the
 * fuzz test does); the caller owns the timeout.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { DataSocketError, ErrorCode } from '../../shared/errors.js';
import {
  AUTH_PROOF_BYTES,
  CODEC_MSGPACKR_V1,
  HELLO_BYTES,
  HelloFlag,
  KNOWN_HELLO_FLAGS,
  PROTOCOL_VERSION,
  VERDICT_BYTES,
  VERDICT_TAG,
  Verdict,
  authMessage,
  decodeHello,
  encodeHello,
  encodeVerdict,
  startsLikeHello,
  type VerdictStatus,
} from '../../shared/protocol.js';

/** What feeding bytes led to. */
export type HandshakeStep =
  | { done: false }
  /** Client: accepted; `rest` are the first frame bytes. Listener: authenticated, waiting for the acceptor. */
  | { done: true; rest: Uint8Array };

type Phase = 'hello' | 'auth' | 'verdict' | 'ready' | 'failed';

const EMPTY = new Uint8Array(0);

/** Computes the AUTH proof of one side. */
export function authProof(token: string, proverIsListener: boolean, proverNonce: Uint8Array, otherNonce: Uint8Array): Uint8Array {
  return createHmac('sha256', token).update(authMessage(proverIsListener, proverNonce, otherNonce)).digest();
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join(' ');
}

/**
 * One side of a handshake. `write` sends bytes to the peer. Feed every received
 * chunk to `push` until it reports done; it throws a DataSocketError
 * (ERR_DATASOCKET_PROTOCOL, _AUTH_FAILED, _REJECTED) when the handshake fails, after
 * writing the VERDICT the peer should see, if any.
 */
export class Handshake {
  readonly #listener: boolean;
  readonly #token: string | undefined;
  readonly #write: (bytes: Uint8Array) => void;
  readonly #nonce: Uint8Array;
  #peerNonce: Uint8Array = EMPTY;
  #buffer: Uint8Array = EMPTY;
  #phase: Phase = 'hello';
  /** Whether the peer sent a valid HELLO: after that, silence is a timeout, not a protocol error. */
  helloReceived = false;
  /** Whether the peer's HELLO had the PINGS flag: it answers PING with PONG, so this side may ping it. */
  peerPings = false;
  /** Whether the peer's HELLO had the REQUESTS flag: it takes REQUEST, REPLY and FAILURE frames. */
  peerRequests = false;

  constructor(role: 'client' | 'listener', token: string | undefined, write: (bytes: Uint8Array) => void, nonce: Uint8Array = randomBytes(16)) {
    this.#listener = role === 'listener';
    this.#token = token;
    this.#write = write;
    this.#nonce = nonce;
  }

  /** Sends this side's HELLO; call once the transport is connected. Every DataSocket answers pings and takes requests: PINGS and REQUESTS are always set. */
  start(): void {
    const flags = (this.#token !== undefined ? HelloFlag.TOKEN : 0) | (this.#listener ? HelloFlag.LISTENER : 0) | HelloFlag.PINGS | HelloFlag.REQUESTS;
    this.#write(encodeHello(flags, this.#nonce));
  }

  /** Listener only: sends the acceptor's verdict. */
  sendVerdict(accepted: boolean): void {
    this.#write(encodeVerdict(accepted ? Verdict.ACCEPTED : Verdict.REJECTED));
  }

  /** Feeds received bytes. */
  push(chunk: Uint8Array): HandshakeStep {
    if (this.#phase === 'failed' || this.#phase === 'ready') {
      if (this.#phase === 'ready' && chunk.length > 0) {
        // A client must wait for the verdict before sending frames.
        throw this.#fail(ErrorCode.PROTOCOL, 'the peer sent data before the verdict', Verdict.PROTOCOL);
      }
      return { done: false };
    }
    this.#buffer = this.#buffer.length === 0 ? chunk : concat(this.#buffer, chunk);
    for (;;) {
      // #onHello and #onAuth move the phase on: read it afresh each round.
      switch (this.#phase as Phase) {
        case 'hello': {
          if (!startsLikeHello(this.#buffer)) {
            throw this.#fail(ErrorCode.PROTOCOL, `the peer is not a DataSocket (it sent ${hex(this.#buffer)})`, null);
          }
          if (this.#buffer.length < HELLO_BYTES) return { done: false };
          this.#onHello(this.#take(HELLO_BYTES));
          break;
        }
        case 'auth': {
          if (this.#buffer.length < AUTH_PROOF_BYTES) return { done: false };
          this.#onAuth(this.#take(AUTH_PROOF_BYTES));
          break;
        }
        case 'verdict': {
          if (this.#buffer.length < VERDICT_BYTES) return { done: false };
          const verdict = this.#take(VERDICT_BYTES);
          this.#onVerdict(verdict);
          this.#phase = 'ready';
          const rest = this.#buffer;
          this.#buffer = EMPTY;
          return { done: true, rest };
        }
        case 'ready': {
          if (this.#buffer.length > 0) {
            throw this.#fail(ErrorCode.PROTOCOL, 'the peer sent data before the verdict', Verdict.PROTOCOL);
          }
          return { done: true, rest: EMPTY };
        }
        default:
          return { done: false };
      }
    }
  }

  #onHello(bytes: Uint8Array): void {
    const hello = decodeHello(bytes);
    if (hello.version !== PROTOCOL_VERSION) {
      throw this.#fail(ErrorCode.PROTOCOL, `the peer speaks DataSocket protocol version ${hello.version}; this side speaks ${PROTOCOL_VERSION}`, Verdict.PROTOCOL);
    }
    if (hello.codec !== CODEC_MSGPACKR_V1) throw this.#fail(ErrorCode.PROTOCOL, `the peer uses codec ${hello.codec}; this side knows codec ${CODEC_MSGPACKR_V1}`, Verdict.PROTOCOL);
    if ((hello.flags & ~KNOWN_HELLO_FLAGS) !== 0 || hello.reserved !== 0) {
      throw this.#fail(ErrorCode.PROTOCOL, 'the peer set reserved HELLO bits', Verdict.PROTOCOL);
    }
    const peerIsListener = (hello.flags & HelloFlag.LISTENER) !== 0;
    if (peerIsListener === this.#listener) {
      throw this.#fail(ErrorCode.PROTOCOL, this.#listener ? 'the peer is a listener too' : 'the peer is not a listener', Verdict.PROTOCOL);
    }
    this.helloReceived = true;
    this.peerPings = (hello.flags & HelloFlag.PINGS) !== 0;
    this.peerRequests = (hello.flags & HelloFlag.REQUESTS) !== 0;
    this.#peerNonce = hello.nonce;
    const peerHasToken = (hello.flags & HelloFlag.TOKEN) !== 0;
    if (peerHasToken !== (this.#token !== undefined)) {
      const message = peerHasToken ? 'the peer requires a token and this side has none' : 'this side requires a token and the peer has none';
      throw this.#fail(ErrorCode.AUTH_FAILED, message, Verdict.AUTH_FAILED);
    }
    if (this.#token !== undefined) {
      this.#write(authProof(this.#token, this.#listener, this.#nonce, this.#peerNonce));
      this.#phase = 'auth';
    } else {
      this.#phase = this.#listener ? 'ready' : 'verdict';
    }
  }

  #onAuth(proof: Uint8Array): void {
    const expected = authProof(this.#token!, !this.#listener, this.#peerNonce, this.#nonce);
    if (!timingSafeEqual(expected, proof)) throw this.#fail(ErrorCode.AUTH_FAILED, 'the peer holds a different token', Verdict.AUTH_FAILED);
    this.#phase = this.#listener ? 'ready' : 'verdict';
  }

  #onVerdict(bytes: Uint8Array): void {
    const status = bytes[1];
    if (bytes[0] !== VERDICT_TAG) throw this.#fail(ErrorCode.PROTOCOL, 'the peer sent a malformed verdict', null);
    switch (status) {
      case Verdict.ACCEPTED:
        return;
      case Verdict.REJECTED:
        throw this.#fail(ErrorCode.REJECTED, 'the listener refused the connection', null);
      case Verdict.AUTH_FAILED:
        throw this.#fail(ErrorCode.AUTH_FAILED, 'the listener refused the token', null);
      case Verdict.PROTOCOL:
        throw this.#fail(ErrorCode.PROTOCOL, 'the listener does not speak this protocol version', null);
      default:
        throw this.#fail(ErrorCode.PROTOCOL, `the peer sent an unknown verdict ${status}`, null);
    }
  }

  #take(n: number): Uint8Array {
    const head = this.#buffer.subarray(0, n);
    this.#buffer = this.#buffer.subarray(n);
    return head;
  }

  /** Marks the handshake failed, tells a client why (listener side), and returns the error to throw. */
  #fail(code: string, message: string, verdict: VerdictStatus | null): DataSocketError {
    this.#phase = 'failed';
    this.#buffer = EMPTY;
    if (this.#listener && verdict !== null) this.#write(encodeVerdict(verdict));
    return new DataSocketError(code, message);
  }
}

/** The sockets whose peer's HELLO had the PINGS flag, and those whose had REQUESTS. */
const pingingPeers = new WeakSet<object>();
const requestingPeers = new WeakSet<object>();

/**
 * Keeps what `handshake` learned about the peer beside the socket it ran on, for
 * whoever adopts the socket next (a Connection): the socket is what dial and the
 * listener hand on, and it is all a Connection gets. Call it when the handshake is done.
 */
export function rememberPeer(socket: object, handshake: Handshake): void {
  if (handshake.peerPings) pingingPeers.add(socket);
  if (handshake.peerRequests) requestingPeers.add(socket);
}

/** Whether the peer on `socket` takes requests (its handshake was remembered with `rememberPeer`). */
export function peerTakesRequests(socket: object): boolean {
  return requestingPeers.has(socket);
}

/** Whether the peer on `socket` answers pings (its handshake was remembered with `rememberPeer`). */
export function peerAnswersPings(socket: object): boolean {
  return pingingPeers.has(socket);
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
