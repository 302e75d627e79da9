import type { ErrorCode } from './error-codes.ts';

/** A decode or validation failure: a code from {@link ErrorCode}, a readable message, and where. */
export interface ProtocolIssue {
  readonly code: ErrorCode;
  readonly message: string;
  /** Dotted path into the input, e.g. `events.3.data`; empty at the root. */
  readonly path: string;
}

/** The outcome of a function that must never throw at a trust boundary. */
export type Result<T, E = ProtocolIssue> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: E };

/** Wraps a value as a successful {@link Result}. */
export function ok<T>(value: T): { readonly ok: true; readonly value: T } {
  return { ok: true, value };
}

/** Wraps an error as a failed {@link Result}. */
export function err<E>(error: E): { readonly ok: false; readonly error: E } {
  return { ok: false, error };
}
