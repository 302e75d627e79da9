import { afterEach, describe } from 'vitest';
import type { ClientStore } from '../client-store.ts';
import { openContract, snapshotsAndCloseContract } from './client-store-contract-meta.ts';
import { outboxContract } from './client-store-contract-outbox.ts';
import { historyAndRealignContract } from './client-store-contract-realign.ts';
import { confirmedLogContract } from './client-store-contract-confirmed.ts';
import { sentContract } from './client-store-contract-sent.ts';

/**
 * The contract every {@link ClientStore} keeps (see its invariants). `create(name)` returns a new,
 * unopened store on the database `name`; two stores made with the same name share the database.
 *
 * @example describeClientStore('dexie on fake-indexeddb', (name) => new DexieClientStore({ name, indexedDB: { indexedDB, IDBKeyRange } }));
 */
export function describeClientStore(label: string, create: (name: string) => ClientStore): void {
  describe(`ClientStore contract: ${label}`, () => {
    const open: ClientStore[] = [];
    let n = 0;
    const fresh = async (name = `contract-${label}-${Date.now()}-${++n}`) => {
      const store = create(name);
      open.push(store);
      const meta = await store.open();
      return { store, meta, name };
    };
    afterEach(() => {
      for (const store of open.splice(0)) store.close();
    });

    openContract(fresh);
    outboxContract(fresh);
    historyAndRealignContract(fresh);
    confirmedLogContract(fresh);
    sentContract(fresh);
    snapshotsAndCloseContract(fresh);
  });
}
