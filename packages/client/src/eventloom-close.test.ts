/**
 * `append` resolves once its event is durable and rejects only when nothing was stored; `close()`
 * lets the appends in flight finish, then refuses new ones (issue 16 §8).
 */
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import { createEventloom } from './eventloom.ts';
import { TodoAdded, todoRegistry } from './testing/todo-model.ts';
import { syncPortOf } from './sync-port-access.ts';

describe('close() and the appends in flight', () => {
  it('lets every append made before close() finish and be durable, then refuses new ones', async () => {
    const indexedDB = new IDBFactory();
    const open = () =>
      createEventloom({ name: 'closing', registry: todoRegistry, storage: { indexedDB, IDBKeyRange } });
    const loom = await open();
    const inFlight = Array.from({ length: 40 }, (_, i) =>
      loom.append('list:1', TodoAdded.create({ id: `t${i}`, title: `t${i}`, tags: [] })),
    );
    const closing = loom.close();
    const late = loom.append('list:1', TodoAdded.create({ id: 'late', title: 'late', tags: [] }));
    // Marked handled at once: it may be refused before the appends in flight settle (asserted below).
    void late.catch(() => undefined);
    const settled = await Promise.allSettled(inFlight);
    await closing;
    await expect(late).rejects.toMatchObject({ code: 'database-closed' });
    const firstFailure = settled.find((s) => s.status === 'rejected');
    expect(firstFailure).toBeUndefined();
    expect(settled.map((s) => s.status)).toEqual(inFlight.map(() => 'fulfilled'));

    const again = await open();
    try {
      const stored = (await syncPortOf(again).readOutbox()).map((row) => row.event.id);
      const resolved = settled.map((s) => (s.status === 'fulfilled' ? s.value.id : ''));
      expect(stored).toEqual(resolved);
    } finally {
      await again.close();
    }
  });
});
