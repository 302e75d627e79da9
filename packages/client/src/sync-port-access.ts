import { ClientError, ClientErrorCode } from './client-error.ts';
import type { SyncPort } from './sync-port.ts';

/**
 * The sync port of each open Eventloom, out of the public API: what the hub says (confirmed
 * events, acks, refusals, decisions made again) is written through it, so an app that could reach
 * it could corrupt its log. `createSync` finds it here; so do tests and tools that stand in for a
 * hub (`@eventloom/client/testing`).
 */
const ports = new WeakMap<object, SyncPort>();

/** Binds a sync port to its owner: an Eventloom, or a wrapper of one that a test hands to `createSync`. */
export function bindSyncPort(owner: object, port: SyncPort): void {
  ports.set(owner, port);
}

/** The sync port bound to `owner`; throws `invalid` if none is (not an Eventloom). */
export function syncPortOf(owner: object): SyncPort {
  const port = ports.get(owner);
  if (port === undefined) {
    throw new ClientError(
      ClientErrorCode.invalid,
      'not an Eventloom: createSync takes what createEventloom returned',
    );
  }
  return port;
}
