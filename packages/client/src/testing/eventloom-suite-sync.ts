import { sampleCommitted } from '@eventloom/protocol/testing';
import { firstValueFrom } from 'rxjs';
import { describe, expect, it } from 'vitest';
import {
  confirm,
  foldOrder,
  TodoAdded,
  todoCount,
  todoDecider,
  todoList,
  type TodoCommand,
} from './todo-model.ts';
import type { LoomSuite } from './eventloom-suite-fixtures.ts';
import { syncPortOf } from '../sync-port-access.ts';

/** The sync entry point: confirmations, acks and rejections. */
export function syncEntrySuite({ open, watch }: LoomSuite): void {
  describe('the sync entry point', () => {
    it('folds confirmed events in position order and rebases pending events on top', async () => {
      const loom = await open();
      const order = watch(loom.projection$(foldOrder));
      const mine1 = await loom.append('list:1', TodoAdded.create({ id: 'm1', title: 'mine', tags: [] }));
      const mine2 = await loom.append('list:1', TodoAdded.create({ id: 'm2', title: 'mine', tags: [] }));
      const theirs = {
        ...sampleCommitted({ position: 1, clientId: 'other', stream: 'list:1' }),
        type: 'todo.added',
        data: { id: 't', title: 't', tags: [] },
      };
      await syncPortOf(loom).insertConfirmed([theirs, confirm(mine1, 2)]);
      const key = (e: { type: string; id: string }) => `${e.type}:${e.id}`;
      expect(order.values.at(-1)).toEqual([key(theirs), key(mine1), key(mine2)]);
      expect((await syncPortOf(loom).readOutbox()).map((r) => r.event.id)).toEqual([mine2.id]);
      expect(await syncPortOf(loom).lastPosition()).toBe(2);
      // Replays and pages it has seen change nothing.
      expect(await syncPortOf(loom).insertConfirmed([theirs, confirm(mine1, 2)])).toEqual({
        inserted: 0,
        position: 2,
      });
    });

    it('upcasts old confirmed events from other clients on read', async () => {
      const loom = await open();
      const old = {
        ...sampleCommitted({ position: 1, clientId: 'old-app' }),
        type: 'todo.added',
        version: 1,
        data: { id: 'x', title: 'old' },
      };
      await syncPortOf(loom).insertConfirmed([old]);
      expect((await firstValueFrom(loom.projection$(todoList))).get('x')).toEqual({
        title: 'old',
        done: false,
        tags: [],
      });
      const [read] = await loom.readEvents();
      expect(read).toMatchObject({ version: 2, data: { tags: [] } });
    });

    it('records acks, and takes rejected events out of the outbox and the optimistic state', async () => {
      const loom = await open();
      const count = watch(loom.projection$(todoCount));
      const a = await loom.append('list:1', TodoAdded.create({ id: 'a', title: 'a', tags: [] }));
      const b = await loom.append('list:1', TodoAdded.create({ id: 'b', title: 'b', tags: [] }));
      await syncPortOf(loom).markAcked([
        { id: a.id, position: 1, streamVersion: 1 },
        { id: 'unknown', position: 2, streamVersion: 2 },
      ]);
      expect((await syncPortOf(loom).readOutbox()).map((r) => r.acked)).toEqual([
        { position: 1, streamVersion: 1 },
        undefined,
      ]);
      expect((await syncPortOf(loom).readOutbox({ unackedOnly: true })).map((r) => r.event.id)).toEqual([
        b.id,
      ]);
      const { deadLetters } = await syncPortOf(loom).markRejected([
        { id: b.id, code: 'wrong-expected-version', message: 'moved', currentVersion: 3 },
      ]);
      expect(deadLetters).toMatchObject([
        { event: b, error: { code: 'wrong-expected-version' }, rejection: { currentVersion: 3 } },
      ]);
      expect(count.values.at(-1)).toBe(1);
      expect(await loom.readDeadLetters()).toEqual(deadLetters);
      expect((await syncPortOf(loom).readOutbox()).map((r) => r.event.id)).toEqual([a.id]);
    });
  });
}

/** The sync entry point: decisions made again, history, settled acks. */
export function syncDecisionsSuite({ open, watch }: LoomSuite): void {
  describe('the sync entry point: decisions made again, history, settled acks', () => {
    const added = (position: number, stream: string, id: string, streamVersion = position) => ({
      ...sampleCommitted({ position, stream, streamVersion, clientId: 'x' }),
      type: 'todo.added',
      data: { id, title: id, tags: [] },
    });

    it('keeps the decider and the command with the rows execute appends (never in the envelope)', async () => {
      const loom = await open();
      await syncPortOf(loom).insertConfirmed([added(1, 'list:9', 'a')]);
      await loom.execute(
        todoDecider,
        { type: 'complete', list: 'list:9', id: 'a' },
        { meta: { correlationId: 'k' } },
      );
      const [row] = await syncPortOf(loom).readOutbox();
      expect(row!.command).toEqual({
        decider: 'todos',
        command: { type: 'complete', list: 'list:9', id: 'a' },
        meta: { correlationId: 'k' },
        first: 1,
        attempt: 0,
      });
      expect(Object.keys(row!.event)).not.toContain('command');
      // A command that is not JSON is not kept: it could not be decided again.
      await syncPortOf(loom).insertConfirmed([added(2, 'list:9', 'b', 2)]);
      const odd = { type: 'complete', list: 'list:9', id: 'b', at: new Date() } as const;
      await loom.execute(todoDecider, odd as unknown as TodoCommand);
      expect((await syncPortOf(loom).readOutbox())[1]!.command).toBeUndefined();
    });

    it('decides rejected commands again on fresh state, in order, replacing their events', async () => {
      const loom = await open();
      const list = watch(loom.projection$(todoList));
      await syncPortOf(loom).insertConfirmed([added(1, 'list:1', 'a', 1)]);
      const one = await loom.execute(todoDecider, { type: 'add', list: 'list:1', id: 'b', title: 'b' });
      const two = await loom.execute(todoDecider, { type: 'complete', list: 'list:1', id: 'b' });
      const three = await loom.execute(todoDecider, { type: 'complete', list: 'list:1', id: 'a' });
      if (!one.ok || !two.ok || !three.ok) throw new Error('decided');
      expect([one, two, three].map((r) => r.events[0]!.expectedVersion)).toEqual([1, 2, 3]);
      // Someone else completed a and added c: all three are rejected by the hub.
      await syncPortOf(loom).insertConfirmed([
        {
          ...sampleCommitted({ position: 2, stream: 'list:1', streamVersion: 2, clientId: 'x' }),
          type: 'todo.done',
          data: { id: 'a' },
        },
        added(3, 'list:1', 'c', 3),
      ]);
      // Stale: the log has not reached the version the hub reported.
      const stale = await syncPortOf(loom).redecide([
        { ids: [one.events[0]!.id], decider: todoDecider, currentVersion: 5 },
      ]);
      expect(stale).toEqual([{ kind: 'stale', streamVersion: 3 }]);
      const outcomes = await syncPortOf(loom).redecide(
        [one, two, three].map((r) => ({
          ids: r.events.map((e) => e.id),
          decider: todoDecider,
          currentVersion: 3,
        })),
      );
      expect(outcomes.map((o) => o.kind)).toEqual(['appended', 'appended', 'refused']);
      const outbox = await syncPortOf(loom).readOutbox();
      expect(outbox.map((r) => [r.event.type, r.event.expectedVersion, r.command?.attempt])).toEqual([
        ['todo.added', 3, 1],
        ['todo.done', 4, 1],
      ]);
      expect(outbox.map((r) => r.clientSeq)).toEqual([4, 5]);
      const [letter] = await loom.readDeadLetters();
      expect(letter).toMatchObject({
        event: { id: three.events[0]!.id },
        error: { code: 'wrong-expected-version', message: expect.stringContaining('already-done') },
        rejection: { command: { decider: 'todos', attempt: 0 } },
      });
      expect([...list.values.at(-1)!.entries()].map(([id, t]) => [id, t.done])).toEqual([
        ['a', true],
        ['c', false],
        ['b', true],
      ]);
      expect(await syncPortOf(loom).redecide([{ ids: [three.events[0]!.id], decider: todoDecider }])).toEqual(
        [{ kind: 'gone' }],
      );
    });

    it('stores history below the position and rebuilds the projections from the log', async () => {
      const loom = await open({ projections: [todoCount] });
      const order = watch(loom.projection$(foldOrder));
      const count = watch(loom.projection$(todoCount));
      const mine = await loom.append('list:2', TodoAdded.create({ id: 'm', title: 'm', tags: [] }));
      const [a, b, d, late] = [
        added(1, 'list:2', 'a'),
        added(2, 'list:1', 'b'),
        added(4, 'list:1', 'd'),
        added(6, 'list:2', 'late'),
      ];
      const key = (e: { id: string }) => `todo.added:${e.id}`;
      await syncPortOf(loom).insertConfirmed([b!, d!], { until: 5 });
      expect(order.values.at(-1)).toEqual([key(b!), key(d!), key(mine)]);
      expect(
        await syncPortOf(loom).insertHistory([a!, confirm(mine, 3), late!], { subscriptions: ['list:*'] }),
      ).toEqual({
        inserted: 2,
        position: 5,
      });
      expect(order.values.at(-1)).toEqual([key(a!), key(b!), key(mine), key(d!)]);
      expect(count.values.at(-1)).toBe(4);
      expect(await syncPortOf(loom).readOutbox()).toEqual([]);
      expect((await loom.readEvents()).map((e) => e.position)).toEqual([1, 2, 3, 4]);
      expect(await syncPortOf(loom).readSyncRecord()).toEqual({
        position: 5,
        subscriptions: ['list:*'],
        hubId: undefined,
      });
    });

    it('lets acked events of streams it does not hold leave once the position passes them', async () => {
      const loom = await open();
      const elsewhere = await loom.append('private:1', TodoAdded.create({ id: 'p', title: 'p', tags: [] }));
      const pending = watch(loom.pending$);
      await syncPortOf(loom).markAcked([{ id: elsewhere.id, position: 2 }]);
      expect(pending.values.at(-1)).toEqual([elsewhere]);
      await syncPortOf(loom).insertConfirmed([added(3, 'list:1', 'a')]);
      expect(pending.values.at(-1)).toEqual([]);
      expect(await syncPortOf(loom).readOutbox()).toEqual([]);
    });
  });
}
