import { defineProjection, fold } from '@eventloom/core';
import { sampleCommitted } from '@eventloom/protocol/testing';
import { firstValueFrom, take, toArray } from 'rxjs';
import { describe, expect, it, vi } from 'vitest';
import { confirm, foldOrder, openByList, TodoAdded, todoCount, TodoDone, todoList } from './todo-model.ts';
import type { LoomSuite } from './eventloom-suite-fixtures.ts';
import { syncPortOf } from '../sync-port-access.ts';

/** `projection$`: folds of the confirmed log and the outbox. */
export function projectionSuite({ open, watch }: LoomSuite): void {
  describe('projection$', () => {
    it('emits the current state on subscribe, then each change; confirmed-only leaves pending out', async () => {
      const loom = await open({ projections: [todoList] });
      const optimistic = watch(loom.projection$(todoCount));
      const confirmed = watch(loom.confirmedProjection$(todoCount));
      await vi.waitFor(() => expect(optimistic.values).toEqual([0]));
      const a = await loom.append('list:1', TodoAdded.create({ id: 'a', title: 'milk', tags: [] }));
      await loom.append('list:1', TodoAdded.create({ id: 'b', title: 'eggs', tags: [] }));
      expect(optimistic.values).toEqual([0, 1, 2]);
      expect(confirmed.values).toEqual([0]);
      await syncPortOf(loom).insertConfirmed([confirm(a, 1)]);
      expect(confirmed.values).toEqual([0, 1]);
      expect(optimistic.values).toEqual([0, 1, 2]);
      const list = await firstValueFrom(loom.projection$(todoList));
      expect([...list.keys()]).toEqual(['a', 'b']);
    });

    it('follows one key of a keyed projection', async () => {
      const loom = await open();
      const one = watch(loom.projection$(openByList, 'list:1'));
      await loom.append('list:1', TodoAdded.create({ id: 'a', title: 'a', tags: [] }));
      await loom.append('list:2', TodoAdded.create({ id: 'b', title: 'b', tags: [] }));
      await loom.append('list:1', TodoDone.create({ id: 'a' }));
      expect(one.values).toEqual([0, 1, 0]);
      expect(await firstValueFrom(loom.projection$(openByList, 'list:2'))).toBe(1);
      expect(() => loom.projection$(openByList)).toThrow(TypeError);
    });

    it('keeps going when a reducer throws, and reports it on errors$', async () => {
      const loom = await open();
      const fragile = defineProjection<number>({
        name: 'fragile',
        version: 1,
        initial: 0,
        on: {
          'todo.added': (count, e) => {
            if ((e.data as { title: string }).title === 'boom') throw new Error('boom');
            return count + 1;
          },
        },
      });
      const errors = watch(loom.errors$);
      const counts = watch(loom.projection$(fragile));
      await loom.append('list:1', TodoAdded.create({ id: 'a', title: 'boom', tags: [] }));
      await loom.append('list:1', TodoAdded.create({ id: 'b', title: 'fine', tags: [] }));
      expect(counts.values).toEqual([0, 1]);
      expect(errors.values.map((e) => e.code)).toEqual(['projection-failed']);
    });
  });
}

/** `events$`: the events as they are stored. */
export function eventsSuite({ open, watch }: LoomSuite): void {
  describe('events$', () => {
    it('emits stored confirmed events, then new ones, filtered by stream, type and position', async () => {
      const loom = await open();
      const event = (position: number, stream: string, type: string) => ({
        ...sampleCommitted({ position, stream, clientId: 'x' }),
        type,
        data: type === 'todo.done' ? { id: 'a' } : { id: 'a', title: 't', tags: [] },
      });
      await syncPortOf(loom).insertConfirmed([
        event(1, 'list:1', 'todo.added'),
        event(2, 'list:2', 'todo.added'),
        event(3, 'list:1', 'todo.done'),
      ]);
      const list1 = firstValueFrom(loom.events$({ stream: 'list:1' }).pipe(take(3), toArray()));
      const done = firstValueFrom(loom.events$({ type: 'todo.done', from: 3 }).pipe(take(1), toArray()));
      const fromTwo = watch(loom.events$({ from: 2 }));
      await syncPortOf(loom).insertConfirmed([
        event(4, 'list:2', 'todo.done'),
        event(5, 'list:1', 'todo.added'),
      ]);
      expect((await list1).map((e) => e.position)).toEqual([1, 3, 5]);
      expect((await done).map((e) => e.position)).toEqual([4]);
      expect(fromTwo.values.map((e) => e.position)).toEqual([3, 4, 5]);
      expect(
        (await loom.readEvents({ stream: 'list:2', type: ['todo.done'] })).map((e) => e.position),
      ).toEqual([4]);
    });
  });
}

/** The rebase: the view is fold(confirmed) then fold(pending). */
export function rebaseSuite({ open }: LoomSuite): void {
  describe('the rebase', () => {
    it('equals fold(confirmed) then fold(pending) after confirmations', async () => {
      const loom = await open();
      const pending = [];
      for (let i = 0; i < 4; i++)
        pending.push(await loom.append('list:1', TodoAdded.create({ id: `p${i}`, title: 'p', tags: [] })));
      const other = {
        ...sampleCommitted({ position: 1, clientId: 'x' }),
        type: 'todo.added',
        data: { id: 'o', title: 'o', tags: [] },
      };
      await syncPortOf(loom).insertConfirmed([other, confirm(pending[1]!, 2)]);
      const state = await firstValueFrom(loom.projection$(foldOrder));
      expect(state).toEqual(
        fold(foldOrder, [other, confirm(pending[1]!, 2), pending[0]!, pending[2]!, pending[3]!]),
      );
    });
  });
}
