import { expect } from 'vitest';
import { DataSocketError } from '../../src/shared/errors.js';

/** Resolves with what `promise` rejected with; rejects (failing the test) if it resolved. */
export function rejection(promise: Promise<unknown>): Promise<DataSocketError> {
  return promise.then(
    (value) => {
      throw new Error(`expected a rejection, got ${String(value)}`);
    },
    (error: unknown) => error as DataSocketError,
  );
}

/** What `fn` threw, checked to be a DataSocketError with `code`; fails the test if it threw nothing. */
export function expectThrows(fn: () => unknown, code: string): DataSocketError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(DataSocketError);
    expect((error as DataSocketError).code).toBe(code);
    return error as DataSocketError;
  }
  throw new Error(`expected a throw with ${code}`);
}
