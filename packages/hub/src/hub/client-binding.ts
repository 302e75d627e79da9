import type { EventStore } from '../store/event-store.ts';
import type { SessionIdentity } from './hub-context.ts';
import type { PeerPair } from './peer-limits.ts';

/** What {@link bindClientId} did: bound, at the session's epoch from then on, or why not. */
export type Binding =
  | { readonly status: 'bound'; readonly epoch: number }
  | { readonly status: 'new-ids-spent' }
  | { readonly status: 'other-principal' }
  | { readonly status: 'fenced' };

/**
 * Binds a client id to the connection's principal (at its first push, so that connections that
 * never push leave no trace). A first binding counts against the new client ids its principal and
 * its address may bind (given back when nothing was bound); refused when another principal holds
 * the id (or took it meanwhile). A session whose `hello` found no record (`epoch` 0) claims the
 * client now (`claimNewClient`): `fenced` when another session claimed it or stored something
 * meanwhile.
 */
export async function bindClientId(
  store: EventStore,
  identity: SessionIdentity,
  clientId: string,
  epoch: number,
): Promise<Binding> {
  const { key, peers } = identity;
  const record = await store.client(clientId);
  const first = record.principal === undefined;
  if (first && !takeNewClientId(peers)) return { status: 'new-ids-spent' };
  const binding = await bind(store, key, clientId, epoch);
  // Nothing was bound: the id is not this principal's new client (yet), so it costs nothing.
  if (first && binding.status !== 'bound') {
    peers.principal.newClientIds.refund(1);
    peers.address.newClientIds.refund(1);
  }
  return binding;
}

async function bind(store: EventStore, key: string, clientId: string, epoch: number): Promise<Binding> {
  if (epoch === 0) {
    const claim = await store.claimNewClient(clientId, key);
    return claim.status === 'claimed' ? { status: 'bound', epoch: claim.epoch } : claim;
  }
  return (await store.bindClient(clientId, key)) ? { status: 'bound', epoch } : { status: 'other-principal' };
}

/** Spends a new client id of the principal and of the address, both or neither. */
function takeNewClientId(peers: PeerPair): boolean {
  if (!peers.principal.newClientIds.take(1)) return false;
  if (peers.address.newClientIds.take(1)) return true;
  peers.principal.newClientIds.refund(1);
  return false;
}
