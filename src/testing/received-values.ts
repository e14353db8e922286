/**
 * What a DataSocketProbe received and the waits on it: one list in arrival order, one
 * cursor that `next()` and `waitFor()` share, each wait with its own deadline, and the
 * error a failed wait rejects with, which shows what did arrive. Node only (util.inspect).
 */
import { inspect } from 'node:util';
import { DataSocketError, ErrorCode } from '../shared/errors.js';

/** What a probe's `next`/`waitFor` reject with: a DataSocketError (TIMEOUT or CLOSED) carrying a copy of every value received. */
export type ProbeWaitError = DataSocketError & { readonly received: unknown[] };

/** A failed wait lists at most this many values (the last ones), each at most VALUE_CHARS long. */
const LISTED_VALUES = 20;
const VALUE_CHARS = 200;

interface Waiter {
  readonly what: string;
  readonly match: ((value: unknown) => boolean) | null;
  /** Values before this index were already tried by `match`. */
  tried: number;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
  readonly timer: ReturnType<typeof setTimeout>;
}

/**
 * The values a probe received and its pending waits. Waits are served in call order, as
 * if each call awaited the one before: the first that cannot be served yet holds back
 * those after it, so two `next()` calls never get the same value.
 */
export class ReceivedValues<T> {
  /** Every value, in arrival order; never shortened (a wait moves the cursor, it removes nothing). */
  readonly values: T[] = [];
  readonly #state: () => string;
  #cursor = 0;
  #waiters: Waiter[] = [];
  #ended: { reason: string; cause: DataSocketError | undefined } | undefined;

  /** `state` says, for a failed wait's message, what else the reader should know (connections, errors). */
  constructor(state: () => string) {
    this.#state = state;
  }

  /** Whether nothing more can arrive, and why. */
  get ended(): { reason: string; cause: DataSocketError | undefined } | undefined {
    return this.#ended;
  }

  /** A value arrived. */
  push(value: T): void {
    this.values.push(value);
    this.#serve();
  }

  /** Resolves with the first value after the cursor that `match` accepts (any, for null) and moves the cursor past it. */
  wait(what: string, match: ((value: unknown) => boolean) | null, timeoutMs: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const waiter: Waiter = {
        what,
        match,
        tried: this.#cursor,
        resolve: resolve as (value: unknown) => void,
        reject,
        timer: setTimeout(() => {
          this.#waiters = this.#waiters.filter((w) => w !== waiter);
          reject(this.failure(ErrorCode.TIMEOUT, `${what} got no ${match === null ? 'value' : 'matching value'} within ${timeoutMs} ms`, undefined));
          // Later calls were held back by this one; the values already here may serve them.
          this.#serve();
        }, timeoutMs),
      };
      this.#waiters.push(waiter);
      this.#serve();
    });
  }

  /** Nothing more will arrive: waits the values here cannot serve reject now with CLOSED (`cause` as theirs). Once. */
  end(reason: string, cause: DataSocketError | undefined): void {
    if (this.#ended !== undefined) return;
    this.#ended = { reason, cause };
    this.#serve();
  }

  /** The error of a wait (`what`) that the end of the values leaves unserved. */
  endError(what: string): ProbeWaitError {
    const ended = this.#ended!;
    return this.failure(ErrorCode.CLOSED, `${what} cannot be served: ${ended.reason}`, ended.cause);
  }

  /** An error whose message is `headline`, then what arrived (the last LISTED_VALUES, each on one line), then the state. */
  failure(code: string, headline: string, cause: DataSocketError | undefined): ProbeWaitError {
    const all = this.values;
    const from = Math.max(0, all.length - LISTED_VALUES);
    const count = all.length === 1 ? '1 value' : `${all.length} values`;
    const lines = [`${headline}. Received ${count}${all.length === 0 ? '.' : ` (next() is at #${this.#cursor}):`}`];
    if (from > 0) lines.push(`  … ${from} more before`);
    for (let i = from; i < all.length; i++) lines.push(`  #${i} ${render(all[i])}`);
    lines.push(this.#state());
    const error = new DataSocketError(code, lines.join('\n'), cause === undefined ? {} : { cause });
    return Object.assign(error, { received: [...all] });
  }

  #serve(): void {
    while (this.#waiters.length > 0) {
      const waiter = this.#waiters[0]!;
      let found = -1;
      try {
        for (let i = Math.max(waiter.tried, this.#cursor); i < this.values.length && found === -1; i++) {
          if (waiter.match === null || waiter.match(this.values[i])) found = i;
          waiter.tried = i + 1;
        }
      } catch (error) {
        this.#settle(waiter, () => waiter.reject(error));
        continue;
      }
      if (found !== -1) {
        this.#cursor = found + 1;
        this.#settle(waiter, () => waiter.resolve(this.values[found]));
      } else if (this.#ended !== undefined) {
        this.#settle(waiter, () => waiter.reject(this.endError(waiter.what)));
      } else {
        return;
      }
    }
  }

  #settle(waiter: Waiter, settle: () => void): void {
    clearTimeout(waiter.timer);
    this.#waiters.shift();
    settle();
  }
}

/** One value on one line, as Node's inspector shows it (Map, Set, Date, bytes readable), at most VALUE_CHARS long. */
function render(value: unknown): string {
  const text = inspect(value, { depth: 4, breakLength: Infinity, compact: true, maxArrayLength: 16, maxStringLength: VALUE_CHARS });
  return text.length > VALUE_CHARS ? `${text.slice(0, VALUE_CHARS)}…` : text;
}
