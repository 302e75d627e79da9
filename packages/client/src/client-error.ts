import { ErrorCode } from '@eventloom/protocol';

/** What went wrong in `@eventloom/client`, as data: branch on `error.code`, never on the message. */
export const ClientErrorCode = {
  /** An event does not match its schema, or an argument is malformed. Nothing was written. */
  invalid: ErrorCode.invalid,
  /** The registry does not know the event's type or version. Nothing was written. */
  unknownEventVersion: ErrorCode.unknownEventVersion,
  /** An event is larger than `Limits.maxEventBytes`. Nothing was written. */
  tooLarge: ErrorCode.tooLarge,
  /** The browser refused to store more (IndexedDB `QuotaExceededError`). Nothing was written. */
  quotaExceeded: 'quota-exceeded',
  /** The database is closed: by `close()`, by the browser, or because a newer version took it over. */
  databaseClosed: 'database-closed',
  /** Opening waits on another tab that keeps an older version of the database open. */
  databaseBlocked: 'database-blocked',
  /** A newer version of the database was opened elsewhere (another tab running newer code); reload. */
  versionConflict: 'version-conflict',
  /** Any other IndexedDB failure. The transaction was rolled back: nothing was half-written. */
  storage: 'storage',
  /** A projection's reducer threw. The event is kept; the projection skipped it. */
  projectionFailed: 'projection-failed',
  /** Sync: the sync was closed (`flushed()` waiting then rejects with it). */
  closed: 'closed',
  /** Sync: the hub could not be reached, or the connection dropped. Retried with backoff. */
  connectionFailed: 'connection-failed',
  /** Sync: the hub did not answer a request in time; the connection is dropped and made again. */
  timeout: 'timeout',
  /** Sync: the hub refused the credentials (no token, a bad or expired one). */
  unauthenticated: ErrorCode.unauthenticated,
  /** Sync: the principal may not do this (this client id belongs to another principal, a stream…). */
  unauthorized: ErrorCode.unauthorized,
  /** Sync: this client speaks a protocol older than the hub still serves: update the app. */
  protocolTooOld: ErrorCode.protocolTooOld,
  /** Sync: this client speaks a protocol newer than the hub knows: update the hub. */
  protocolTooNew: ErrorCode.protocolTooNew,
  /** Sync: the hub answered with another hub log's id than the one this device's positions come from. */
  hubChanged: 'hub-changed',
  /** Sync: the hub is shutting down or unavailable. Retried with backoff. */
  unavailable: ErrorCode.unavailable,
  /** Sync: the hub asked this socket to slow down. Retried with backoff. */
  rateLimited: ErrorCode.rateLimited,
  /** Sync: a later connection of this client id said hello to the hub; this one says hello again. */
  superseded: ErrorCode.superseded,
  /** Sync: the hub dropped this socket for reading too slowly; it reconnects and catches up by pull. */
  slowConsumer: ErrorCode.slowConsumer,
  /** Sync: the hub refused a pushed event (the rest of the codes a push result can carry). */
  wrongExpectedVersion: ErrorCode.wrongExpectedVersion,
  idConflict: ErrorCode.idConflict,
  sequenceGap: ErrorCode.sequenceGap,
  /** Sync: the hub holds another event at a seq given after its welcome; the session says hello again. */
  seqUsed: ErrorCode.seqUsed,
  notReady: ErrorCode.notReady,
  /** Something unexpected was thrown inside the client. */
  internal: ErrorCode.internal,
} as const;

/** One of the values of {@link ClientErrorCode}. */
export type ClientErrorCode = (typeof ClientErrorCode)[keyof typeof ClientErrorCode];

/**
 * The one error `@eventloom/client` throws (and emits on `errors$`): a {@link ClientErrorCode}, a
 * readable message, the dotted `path` into the input when it is about an event, and the `cause`.
 *
 * @example
 * try { await loom.append('list:1', input) } catch (e) {
 *   const error = toClientError(e);
 *   if (error.code === 'quota-exceeded') showStorageFull();
 * }
 */
export class ClientError extends Error {
  override readonly name = 'ClientError';
  readonly code: ClientErrorCode;
  /** Where in the input the problem is (`data.title`, `events.3.type`); empty when not about input. */
  readonly path: string;

  constructor(
    code: ClientErrorCode,
    message: string,
    options?: { readonly cause?: unknown; readonly path?: string },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.path = options?.path ?? '';
  }
}

/**
 * Normalises anything thrown into a {@link ClientError}: IndexedDB and Dexie failures get their
 * storage code (looking through Dexie's `inner` and `cause` chains), other errors `internal`.
 *
 * @example catchError((e) => of(toClientError(e)))
 */
export function toClientError(thrown: unknown): ClientError {
  if (thrown instanceof ClientError) return thrown;
  const code = storageCode(thrown);
  const message = thrown instanceof Error ? thrown.message : String(thrown);
  return new ClientError(code ?? ClientErrorCode.internal, message || String(code), { cause: thrown });
}

// Dexie and IndexedDB error names → codes. Dexie wraps the DOMException in `inner`; an aborted
// transaction reports `AbortError` with the real reason (often a QuotaExceededError) inside.
const STORAGE_CODES: Readonly<Record<string, ClientErrorCode>> = {
  QuotaExceededError: ClientErrorCode.quotaExceeded,
  DatabaseClosedError: ClientErrorCode.databaseClosed,
  InvalidStateError: ClientErrorCode.databaseClosed,
  VersionError: ClientErrorCode.versionConflict,
  VersionChangeError: ClientErrorCode.versionConflict,
  OpenFailedError: ClientErrorCode.storage,
  AbortError: ClientErrorCode.storage,
  UnknownError: ClientErrorCode.storage,
  DataError: ClientErrorCode.storage,
  DataCloneError: ClientErrorCode.storage,
  ConstraintError: ClientErrorCode.storage,
  NotFoundError: ClientErrorCode.storage,
  InvalidTableError: ClientErrorCode.storage,
  MissingAPIError: ClientErrorCode.storage,
  SchemaError: ClientErrorCode.storage,
  UpgradeError: ClientErrorCode.storage,
  BulkError: ClientErrorCode.storage,
  TransactionInactiveError: ClientErrorCode.storage,
  ReadOnlyError: ClientErrorCode.storage,
  TimeoutError: ClientErrorCode.storage,
};

// The most specific code along the chain wins: a quota or version problem under a generic abort.
function storageCode(thrown: unknown): ClientErrorCode | undefined {
  let found: ClientErrorCode | undefined;
  let current: unknown = thrown;
  for (let depth = 0; depth < 8 && typeof current === 'object' && current !== null; depth++) {
    if (current instanceof ClientError) return current.code;
    const name: unknown = (current as { name?: unknown }).name;
    const code = typeof name === 'string' ? STORAGE_CODES[name] : undefined;
    if (code !== undefined && (found === undefined || found === ClientErrorCode.storage)) found = code;
    const next = current as { inner?: unknown; cause?: unknown; failures?: unknown };
    current = next.inner ?? next.cause ?? (Array.isArray(next.failures) ? next.failures[0] : undefined);
  }
  return found;
}
