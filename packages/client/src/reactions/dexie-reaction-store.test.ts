import { describeReactionStore } from '@eventloom/core/testing';
import { IDBKeyRange, indexedDB } from 'fake-indexeddb';
import type { ReactionTransaction } from '@eventloom/core';
import { afterAll, expect, it } from 'vitest';
import { DexieClientStore } from '../dexie-client-store.ts';
import { DexieReactionStore } from './dexie-reaction-store.ts';

// The same contract as in Chromium (dexie-reaction-store.browser.test.ts), on fake-indexeddb in Node.
const opened: DexieClientStore[] = [];
afterAll(() => {
  for (const client of opened) client.close();
});

describeReactionStore('dexie on fake-indexeddb', async (name) => {
  const client = new DexieClientStore({ name, indexedDB: { indexedDB, IDBKeyRange } });
  opened.push(client);
  await client.open();
  return new DexieReactionStore(client);
});

it('keeps to its own transaction through nested async functions', async () => {
  // The dead-letter queue reads and deletes through helpers several awaits deep: every step must
  // stay in the one IndexedDB transaction (a step that strayed into its own would commit early).
  const client = new DexieClientStore({
    name: `nested-${Date.now()}`,
    indexedDB: { indexedDB, IDBKeyRange },
  });
  opened.push(client);
  await client.open();
  const store = new DexieReactionStore(client);
  const letter = {
    id: 'h/e',
    handler: 'h',
    error: { name: 'Error', message: 'm' },
    attempts: 1,
    firstFailedAt: '2026-11-27T10:00:00.000Z',
    lastFailedAt: '2026-11-27T10:00:00.000Z',
  };
  await store.transaction(async (tx) => {
    await tx.putDeadLetter(letter);
    await tx.putApplied('h', 'e');
  });
  const applied = async (tx: ReactionTransaction) =>
    (await tx.hasApplied('h', 'e')) && (await tx.getDeadLetter('h/e')) !== undefined;
  const resolve = async (tx: ReactionTransaction) => {
    await tx.deleteDeadLetter('h/e');
    await tx.deleteDeadLetter('g/e');
  };
  await expect(
    store.transaction(async (tx) => {
      if (!(await applied(tx))) return false;
      await resolve(tx);
      await tx.putCheckpoint('h', { position: 1, recentIds: ['e'] });
      throw new Error('undo');
    }),
  ).rejects.toThrow('undo');
  // Nothing of the failed transaction stayed: each step was part of it.
  expect(await store.transaction((tx) => tx.getDeadLetter('h/e'))).toEqual(letter);
  expect(await store.transaction((tx) => tx.getCheckpoint('h'))).toBeUndefined();
});
