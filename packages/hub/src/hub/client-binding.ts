import type { EventStore } from '../store/event-store.ts';
import type { SessionIdentity } from './hub-context.ts';

/**
 * Binds a client id to the connection's principal (at its first push, so that connections that
 * never push leave no trace). A first binding counts against the new client ids its principal and
 * its address may bind; refused when another principal holds the id (or took it meanwhile).
 */
export async function bindClientId(
  store: EventStore,
  identity: SessionIdentity,
  clientId: string,
): Promise<'bound' | 'new-ids-spent' | 'other-principal'> {
  const { key, peers } = identity;
  const record = await store.client(clientId);
  if (record.principal === undefined) {
    if (!peers.principal.newClientIds.take(1) || !peers.address.newClientIds.take(1)) return 'new-ids-spent';
  }
  return (await store.bindClient(clientId, key)) ? 'bound' : 'other-principal';
}
