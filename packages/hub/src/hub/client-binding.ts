import type { EventStore } from '../store/event-store.ts';
import type { SessionIdentity } from './hub-context.ts';

/** What {@link bindClientId} did: bound, at the session's epoch from then on, or why not. */
export type Binding =
  | { readonly status: 'bound'; readonly epoch: number }
  | { readonly status: 'new-ids-spent' }
  | { readonly status: 'other-principal' }
  | { readonly status: 'fenced' };

/**
 * Binds a client id to the connection's principal (at its first push, so that connections that
 * never push leave no trace). A first binding counts against the new client ids its principal and
 * its address may bind; refused when another principal holds the id (or took it meanwhile). A
 * session whose `hello` found no record (`epoch` 0) claims the client now (`claimNewClient`):
 * `fenced` when another session claimed it or stored something meanwhile.
 */
export async function bindClientId(
  store: EventStore,
  identity: SessionIdentity,
  clientId: string,
  epoch: number,
): Promise<Binding> {
  const { key, peers } = identity;
  const record = await store.client(clientId);
  if (record.principal === undefined) {
    if (!peers.principal.newClientIds.take(1) || !peers.address.newClientIds.take(1)) {
      return { status: 'new-ids-spent' };
    }
  }
  if (epoch === 0) {
    const claim = await store.claimNewClient(clientId, key);
    return claim.status === 'claimed' ? { status: 'bound', epoch: claim.epoch } : claim;
  }
  return (await store.bindClient(clientId, key)) ? { status: 'bound', epoch } : { status: 'other-principal' };
}
