import { describeReactionStore } from '@eventloom/core/testing';
import { afterAll } from 'vitest';
import { DexieClientStore } from '../dexie-client-store.ts';
import { DexieReactionStore } from './dexie-reaction-store.ts';

// The contract on Chromium's own IndexedDB (in Node: dexie-reaction-store.test.ts, on fake-indexeddb).
const opened: DexieClientStore[] = [];
afterAll(() => {
  for (const client of opened) client.close();
});

describeReactionStore('dexie in Chromium', async (name) => {
  const client = new DexieClientStore({ name });
  opened.push(client);
  await client.open();
  return new DexieReactionStore(client);
});
