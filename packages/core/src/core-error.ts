/** What went wrong in `@eventloom/core`, as data: branch on `error.code`, never on the message. */
export const CoreErrorCode = {
  /** `defineEvent` was called with something it cannot use (a gap in versions, a missing upcaster…). */
  invalidDefinition: 'invalid-definition',
  /** Two different definitions claim the same event type in one registry. */
  duplicateEventType: 'duplicate-event-type',
  /** Data does not match the schema it was created with. */
  invalid: 'invalid',
  /** A schema cannot be exported as JSON Schema, so it cannot be snapshotted. */
  unrepresentableSchema: 'unrepresentable-schema',
  /** A string that should be a hybrid logical clock timestamp is not one. */
  hlcMalformed: 'hlc-malformed',
  /** A remote HLC timestamp is further ahead of the local clock than `maxDriftMs` allows. */
  hlcDrift: 'hlc-drift',
  /** A reaction store handle was closed (or its process is gone): nothing more is read or written through it. */
  storeClosed: 'store-closed',
  /** A saga instance changed under a transaction (two runners on one store): the work is redone from the store. */
  conflict: 'conflict',
  /** A dead letter names a handler or saga that this runtime does not run, so it cannot be retried here. */
  unknownHandler: 'unknown-handler',
  /** A saga reaction or handler emitted something the runtime cannot store (non-JSON state, a timeout with no handler…). */
  invalidReaction: 'invalid-reaction',
  /** A runner was used out of order: started twice, or used after it stopped. */
  invalidState: 'invalid-state',
  /** An asynchronous reply (to a command, a query) did not come within its timeout. */
  timeout: 'timeout',
  /** Something unexpected was thrown inside core. */
  internal: 'internal',
} as const;

/** One of the values of {@link CoreErrorCode}. */
export type CoreErrorCode = (typeof CoreErrorCode)[keyof typeof CoreErrorCode];

/**
 * The error `@eventloom/core` throws, for programmer errors only (decode boundaries return a
 * `Result` instead). Carries a {@link CoreErrorCode} and, when it wraps another error, its `cause`.
 *
 * @example
 * try { TodoAdded.create(input) } catch (e) { if (e instanceof CoreError && e.code === 'invalid') … }
 */
export class CoreError extends Error {
  override readonly name = 'CoreError';
  readonly code: CoreErrorCode;

  constructor(code: CoreErrorCode, message: string, options?: { readonly cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }
}

/** Normalises anything thrown into a {@link CoreError} (code `internal` unless it already is one). */
export function toCoreError(thrown: unknown): CoreError {
  if (thrown instanceof CoreError) return thrown;
  const message = thrown instanceof Error ? thrown.message : String(thrown);
  return new CoreError(CoreErrorCode.internal, message, { cause: thrown });
}
