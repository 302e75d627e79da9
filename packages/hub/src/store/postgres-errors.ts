import { HubError, HubErrorCode, toHubError } from '../hub/hub-error.ts';

/** Postgres error classes that mean "cannot reach or use the server now", not "this is wrong". */
const UNAVAILABLE_SQLSTATE = /^(08|53|57P0[1-3])/;
const UNAVAILABLE_ERRNO = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
]);

/**
 * A Postgres error as a {@link HubError}: `unavailable` when the server cannot be reached or
 * is shutting down (retry later), else `store`.
 */
export function toPostgresError(thrown: unknown): HubError {
  if (thrown instanceof HubError) return thrown;
  const code = (thrown as { code?: unknown } | null)?.code;
  if (
    typeof code === 'string' &&
    (UNAVAILABLE_SQLSTATE.test(code) || UNAVAILABLE_ERRNO.has(code) || code.startsWith('CONNECT'))
  ) {
    const message = thrown instanceof Error ? thrown.message : String(thrown);
    return new HubError(HubErrorCode.unavailable, `event store unavailable: ${message}`, {
      cause: thrown,
    });
  }
  return toHubError(thrown, HubErrorCode.store);
}
