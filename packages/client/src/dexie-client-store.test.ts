import { IDBKeyRange, indexedDB } from 'fake-indexeddb';
import { DexieClientStore } from './dexie-client-store.ts';
import { describeClientStore } from './testing/describe-client-store.ts';

// The same contract as in Chromium (dexie-client-store.browser.test.ts), on fake-indexeddb in Node.
describeClientStore(
  'dexie on fake-indexeddb',
  (name) => new DexieClientStore({ name, indexedDB: { indexedDB, IDBKeyRange } }),
);
