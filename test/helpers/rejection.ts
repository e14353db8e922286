import type { DataSocketError } from '../../src/shared/errors.js';

/** Resolves with what `promise` rejected with; rejects (failing the test) if it resolved. */
export function rejection(promise: Promise<unknown>): Promise<DataSocketError> {
  return promise.then(
    (value) => {
      throw new Error(`expected a rejection, got ${String(value)}`);
    },
    (error: unknown) => error as DataSocketError,
  );
}
