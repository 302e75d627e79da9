/**
 * The sync port is private to `createSync` (issue 16 §2): an app cannot reach the methods that
 * write what the hub said, and `createSync` refuses what is not an Eventloom.
 */
import { IDBKeyRange, indexedDB } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import { createEventloom } from './eventloom.ts';
import { createSync } from './sync/create-sync.ts';
import { manualOnlineDetector } from './sync/online-detector.ts';
import { syncPortOf } from './sync-port-access.ts';
import { TodoAdded, todoRegistry } from './testing/todo-model.ts';

describe('the sync port', () => {
  it('is not on the public surface of an Eventloom', async () => {
    const loom = await createEventloom({
      name: `port-${Math.random().toString(36).slice(2)}`,
      registry: todoRegistry,
      storage: { indexedDB, IDBKeyRange },
    });
    try {
      const surface = [
        ...Object.getOwnPropertyNames(loom),
        ...Object.getOwnPropertySymbols(loom).map(String),
        ...Object.getOwnPropertyNames(Object.getPrototypeOf(loom)),
      ];
      expect(surface).not.toContain('sync');
      for (const write of ['insertConfirmed', 'markAcked', 'markRejected', 'redecide', 'realign']) {
        expect(surface).not.toContain(write);
      }
      // What apps need of it is published: the refused events, and discarding them.
      const event = await loom.append('list:1', TodoAdded.create({ id: 'a', title: 'a', tags: [] }));
      await syncPortOf(loom).markRejected([{ id: event.id, code: 'invalid', message: 'no' }]);
      const letters = await loom.readDeadLetters();
      expect(letters.map((l) => l.event.id)).toEqual([event.id]);
      await loom.discardDeadLetters(letters.map((l) => l.id));
      expect(await loom.readDeadLetters()).toEqual([]);
    } finally {
      await loom.close();
    }
  });

  it('is found by createSync only on an Eventloom: a look-alike is refused', async () => {
    const loom = await createEventloom({
      name: `port-${Math.random().toString(36).slice(2)}`,
      registry: todoRegistry,
      storage: { indexedDB, IDBKeyRange },
    });
    try {
      const lookAlike = {
        pending$: loom.pending$,
        outbox$: loom.outbox$,
        leader$: loom.leader$,
        registry: loom.registry,
      };
      expect(() =>
        createSync(lookAlike, {
          url: 'http://127.0.0.1:9',
          subscriptions: ['*'],
          online: manualOnlineDetector(false),
        }),
      ).toThrow(/not an Eventloom/);
      const sync = createSync(loom, {
        url: 'http://127.0.0.1:9',
        subscriptions: ['*'],
        online: manualOnlineDetector(false),
      });
      expect(sync.clientId).toBe(loom.clientId);
      await sync.close();
    } finally {
      await loom.close();
    }
  });
});
