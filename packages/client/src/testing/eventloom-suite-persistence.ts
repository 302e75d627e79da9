import { defineProjection } from '@eventloom/core';
import { sampleCommitted } from '@eventloom/protocol/testing';
import { filter, firstValueFrom } from 'rxjs';
import { describe, expect, it, vi } from 'vitest';
import { createEventloom } from '../eventloom.ts';
import { confirm, foldOrder, TodoAdded, todoCount, TodoDone, todoList, todoRegistry } from './todo-model.ts';
import type { LoomSuite } from './eventloom-suite-fixtures.ts';
import { syncPortOf } from '../sync-port-access.ts';

/** Persistence across opens, snapshots, and tabs on one database. */
export function persistenceSuite({ open, storageOf, storeOf, opened }: LoomSuite): void {
  describe('persistence, snapshots and tabs', () => {
    it('keeps the log, the outbox, the client id and the counters across close and reopen', async () => {
      const first = await open();
      const a = await first.append('list:1', TodoAdded.create({ id: 'a', title: 'a', tags: [] }));
      await syncPortOf(first).insertConfirmed([
        confirm(a, 1),
        { ...sampleCommitted({ position: 2, clientId: 'x' }), type: 'todo.done', data: { id: 'a' } },
      ]);
      const b = await first.append('list:1', TodoAdded.create({ id: 'b', title: 'b', tags: [] }));
      await first.close();
      const again = await createEventloom({
        name: first.name,
        registry: todoRegistry,
        ...storageOption(storageOf(first.name)),
      });
      opened.push(again);
      expect(again.clientId).toBe(first.clientId);
      expect(await firstValueFrom(again.projection$(todoList))).toEqual(
        new Map([
          ['a', { title: 'a', done: true, tags: [] }],
          ['b', { title: 'b', done: false, tags: [] }],
        ]),
      );
      const c = await again.append('list:1', TodoDone.create({ id: 'b' }));
      expect(c.clientSeq).toBe(3);
      expect(c.hlc > b.hlc).toBe(true);
      expect(await syncPortOf(again).lastPosition()).toBe(2);
    });

    it('snapshots every N confirmed events, starts from the snapshot, and rebuilds a changed version from the log', async () => {
      const first = await open({ snapshotEvery: 10, projections: [todoCount] });
      await firstValueFrom(first.projection$(todoCount));
      const added = (position: number) => ({
        ...sampleCommitted({ position, clientId: 'x' }),
        type: 'todo.added',
        data: { id: `t${position}`, title: 't', tags: [] },
      });
      for (let p = 1; p <= 25; p += 5)
        await syncPortOf(first).insertConfirmed([1, 2, 3, 4, 5].map((i) => added(p + i - 1)));
      await first.close();
      // Plant a snapshot that disagrees with the log: a start from it shows.
      const store = storeOf(first.name);
      await store.open();
      expect(await store.readSnapshot('todo-count@1')).toMatchObject({ position: 20, state: 20 });
      await store.putSnapshots([
        { id: 'todo-count@1', name: 'todo-count', version: 1, position: 20, state: 1000 },
      ]);
      store.close();
      const again = await createEventloom({
        name: first.name,
        registry: todoRegistry,
        ...storageOption(storageOf(first.name)),
        snapshotEvery: 10,
      });
      opened.push(again);
      expect(await firstValueFrom(again.projection$(todoCount))).toBe(1005);
      const v2 = defineProjection<number>({
        name: 'todo-count',
        version: 2,
        initial: 0,
        on: { 'todo.added': (c) => c + 1 },
      });
      expect(await firstValueFrom(again.projection$(v2))).toBe(25);
    });

    it('lets a second instance on the same database follow the first (BroadcastChannel), each its own leader without locks', async () => {
      const a = await open({ tabs: { locks: null } });
      const b = await createEventloom({
        name: a.name,
        registry: todoRegistry,
        ...storageOption(storageOf(a.name)),
        tabs: { locks: null },
      });
      opened.push(b);
      expect(await firstValueFrom(a.leader$)).toBe(true);
      expect(await firstValueFrom(b.leader$)).toBe(true);
      const seen = firstValueFrom(b.projection$(todoCount).pipe(filter((c) => c === 2)));
      await a.append('list:1', TodoAdded.create({ id: 'a', title: 'a', tags: [] }));
      const x = await b.append('list:1', TodoAdded.create({ id: 'b', title: 'b', tags: [] }));
      expect(x.clientSeq).toBe(2);
      expect(await seen).toBe(2);
      await vi.waitFor(async () => expect(await firstValueFrom(a.projection$(foldOrder))).toHaveLength(2));
    });
  });
}

function storageOption<S>(storage: S | undefined): { storage: S } | object {
  return storage === undefined ? {} : { storage };
}
