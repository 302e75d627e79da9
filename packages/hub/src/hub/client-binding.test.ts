import { describe, expect, it } from 'vitest';
import { createMemoryStore } from '../store/memory-store.ts';
import { bindClientId } from './client-binding.ts';
import type { SessionIdentity } from './hub-context.ts';
import type { PeerPair } from './peer-limits.ts';
import { makeEvent } from './test-kit.ts';
import { TokenBucket } from './token-bucket.ts';

/** An identity of principal `alice` whose principal and address may bind this many new client ids. */
function identity(principalIds: number, addressIds: number): SessionIdentity {
  const bucket = (capacity: number) => new TokenBucket({ capacity, refillPerSecond: 0 });
  const peers = {
    principal: { newClientIds: bucket(principalIds) },
    address: { newClientIds: bucket(addressIds) },
  } as unknown as PeerPair;
  return {
    principal: { sub: 'alice' },
    key: 'alice',
    claims: {},
    expiresAt: undefined,
    peers,
  };
}

describe('bindClientId', () => {
  it('spends a new client id only on a binding that happened', async () => {
    const store = await createMemoryStore();
    // An id with a record and no principal (appended by an integration): its claim is fenced.
    await store.append([{ event: makeEvent('taken', 1) }]);
    const session = identity(1, 1);
    expect(await bindClientId(store, session, 'taken', 0)).toEqual({ status: 'fenced' });
    expect(await bindClientId(store, session, 'fresh', 0)).toMatchObject({ status: 'bound' });
    expect(await bindClientId(store, session, 'another', 0)).toEqual({ status: 'new-ids-spent' });
  });

  it("gives the principal's new client id back when its address has none left", async () => {
    const store = await createMemoryStore();
    const session = identity(1, 0);
    expect(await bindClientId(store, session, 'fresh', 0)).toEqual({ status: 'new-ids-spent' });
    expect(session.peers.principal.newClientIds.take(1)).toBe(true);
  });
});
