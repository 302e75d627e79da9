import { ClientError, ClientErrorCode } from '../client-error.ts';
import type { SyncOptions } from './sync-types.ts';

/** Failures no retry can fix: wait for `goOnline()` (after the app, the token or the hub changed). */
export function isFatal(error: ClientError | undefined, token: SyncOptions['token']): boolean {
  if (error === undefined) return false;
  switch (error.code) {
    case ClientErrorCode.databaseClosed:
    case ClientErrorCode.versionConflict:
    case ClientErrorCode.protocolTooOld:
    case ClientErrorCode.protocolTooNew:
    case ClientErrorCode.hubChanged:
      return true;
    case ClientErrorCode.unauthenticated:
      // A token function may give a fresh token next time; a fixed one will not change.
      return typeof token !== 'function';
    default:
      return false;
  }
}

/** The error of a call on a closed sync. */
export function closedError(): ClientError {
  return new ClientError(ClientErrorCode.closed, 'the sync is closed');
}
