/**
 * The Standard Schema v1 interface (standardschema.dev), as far as DataSocket uses it:
 * any validator that carries it — zod 4, valibot, arktype — can check received values
 * (SPEC §12). Written from the specification; nothing of a validator is imported.
 *
 * Runs in Node and in the page: no Node or DOM imports.
 */
import { DataSocketError, ErrorCode, invalidArgument } from './errors.js';

/** One problem a validator found. */
export interface StandardIssue {
  readonly message: string;
  readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> | undefined;
}

/** What `validate` returns: the (possibly transformed) value, or the issues. */
export type StandardResult<Output> = { readonly value: Output; readonly issues?: undefined } | { readonly issues: ReadonlyArray<StandardIssue> };

/** A validator of Standard Schema v1. */
export interface StandardSchemaV1<Input = unknown, Output = Input> {
  readonly '~standard': {
    readonly version: 1;
    readonly vendor: string;
    readonly validate: (value: unknown) => StandardResult<Output> | Promise<StandardResult<Output>>;
    readonly types?: { readonly input: Input; readonly output: Output } | undefined;
  };
}

/** The type a schema delivers. */
export type InferOutput<S extends StandardSchemaV1> = NonNullable<S['~standard']['types']>['output'];

/** Throws ERR_DATASOCKET_INVALID_ARGUMENT unless `schema` carries Standard Schema v1. */
export function checkSchema(schema: unknown, option = 'schema'): StandardSchemaV1 {
  const standard = (typeof schema === 'object' || typeof schema === 'function') && schema !== null ? (schema as { '~standard'?: unknown })['~standard'] : undefined;
  if (typeof standard !== 'object' || standard === null || (standard as { version?: unknown }).version !== 1 || typeof (standard as { validate?: unknown }).validate !== 'function') {
    throw invalidArgument(`'${option}' must be a Standard Schema v1 validator (zod 4, valibot, arktype…)`);
  }
  return schema as StandardSchemaV1;
}

const MAX_ISSUES_SHOWN = 5;

/**
 * Validates `value` with `schema`; returns what the schema delivers, or throws
 * ERR_DATASOCKET_INVALID_VALUE with the issues in its message. Only synchronous
 * validation keeps values in order: a schema that answers with a Promise is refused.
 */
export function validateValue(schema: StandardSchemaV1, value: unknown, what: string): unknown {
  let result: StandardResult<unknown> | Promise<StandardResult<unknown>>;
  try {
    result = schema['~standard'].validate(value);
  } catch (error) {
    throw new DataSocketError(ErrorCode.INVALID_VALUE, `${what} could not be validated: the schema threw ${(error as Error)?.message ?? String(error)}`, { cause: error });
  }
  if (typeof result !== 'object' || result === null) {
    throw new DataSocketError(ErrorCode.INVALID_VALUE, `${what} could not be validated: the schema returned no result`);
  }
  if (typeof (result as { then?: unknown }).then === 'function') {
    throw new DataSocketError(ErrorCode.INVALID_VALUE, `${what} could not be validated: the schema is asynchronous, and only a synchronous schema keeps values in order`);
  }
  const checked = result as StandardResult<unknown>;
  if (checked.issues === undefined) return checked.value;
  if (!Array.isArray(checked.issues)) throw new DataSocketError(ErrorCode.INVALID_VALUE, `${what} could not be validated: the schema's issues are not a list`);
  const shown = checked.issues.slice(0, MAX_ISSUES_SHOWN).map(describeIssue);
  const more = checked.issues.length > MAX_ISSUES_SHOWN ? ` (and ${checked.issues.length - MAX_ISSUES_SHOWN} more)` : '';
  throw new DataSocketError(ErrorCode.INVALID_VALUE, `${what} failed its schema: ${shown.join('; ')}${more}`);
}

function describeIssue(issue: StandardIssue): string {
  const path = (issue.path ?? []).map((part) => String(typeof part === 'object' && part !== null ? part.key : part)).join('.');
  return path === '' ? issue.message : `${path}: ${issue.message}`;
}
