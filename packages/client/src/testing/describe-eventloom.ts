import { defineProjection, fold } from '@eventloom/core';
import { eventEnvelopeSchema, Limits, UUID_V7_PATTERN } from '@eventloom/protocol';
import { sampleCommitted } from '@eventloom/protocol/testing';
import { filter, firstValueFrom, take, toArray, type Observable } from 'rxjs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { IndexedDbDeps } from '../dexie-client-store.ts';
import { DexieClientStore } from '../dexie-client-store.ts';
import { createEventloom, type Eventloom, type EventloomOptions } from '../eventloom.ts';
import {
  confirm,
  foldOrder,
  NoteWritten,
  openByList,
  TodoAdded,
  todoCount,
  TodoDone,
  todoDecider,
  todoList,
  todoRegistry,
  type TodoCommand,
} from './todo-model.ts';

/**
 * The client's behaviour through its public API, run in Node on fake-indexeddb (eventloom.test.ts)
 * and in Chromium on its IndexedDB (eventloom.browser.test.ts). `storage` undefined: the global one.
 */
export function describeEventloom(label: string, storage: IndexedDbDeps | undefined): void {
  describe(`Eventloom: ${label}`, () => {
    const opened: Eventloom[] = [];
    let n = 0;

    async function open(options: Partial<EventloomOptions<(typeof todoRegistry.definitions)[number]>> = {}) {
      const loom = await createEventloom({
        name: `loom-${Date.now()}-${++n}`,
        registry: todoRegistry,
        ...(storage ? { storage } : {}),
        ...options,
      });
      opened.push(loom);
      return loom;
    }

    function watch<T>(source: Observable<T>): { values: T[]; stop: () => void } {
      const values: T[] = [];
      const sub = source.subscribe((v) => values.push(v));
      return { values, stop: () => sub.unsubscribe() };
    }

    afterEach(async () => {
      for (const loom of opened.splice(0)) await loom.close();
    });

    describe('append', () => {
      it('stores a complete envelope: UUIDv7 id, persisted client id, gapless clientSeq, increasing hlc', async () => {
        const loom = await open();
        const a = await loom.append('list:1', TodoAdded.create({ id: 'a', title: 'milk', tags: [] }));
        const b = await loom.append(
          'list:1',
          { type: 'todo.done', data: { id: 'a' } },
          { meta: { correlationId: 'c1' } },
        );
        for (const e of [a, b]) expect(eventEnvelopeSchema.parse(e)).toEqual(e);
        expect(a).toMatchObject({
          type: 'todo.added',
          version: 2,
          kind: 'domain',
          stream: 'list:1',
          clientId: loom.clientId,
          clientSeq: 1,
        });
        expect(b).toMatchObject({ clientSeq: 2, meta: { correlationId: 'c1' } });
        expect(a.id).toMatch(UUID_V7_PATTERN);
        expect(b.id > a.id).toBe(true);
        expect(b.hlc > a.hlc).toBe(true);
        expect((await loom.sync.readOutbox()).map((r) => r.event)).toEqual([a, b]);
      });

      it('stores an older version validated and upcast to the latest', async () => {
        const loom = await open();
        // Typed inputs are of the latest version; an older one is accepted at run time all the same.
        const v1 = { type: 'todo.added', version: 1, data: { id: 'a', title: 'milk' } } as const;
        const e = await loom.append('list:1', v1 as unknown as ReturnType<typeof TodoAdded.create>);
        expect(e).toMatchObject({ version: 2, data: { id: 'a', title: 'milk', tags: [] } });
      });

      it('appends many events in one go, with expectedVersion counted per stream', async () => {
        const loom = await open();
        const events = await loom.appendMany(
          'list:1',
          [
            TodoAdded.create({ id: 'a', title: 'a', tags: [] }),
            { ...TodoAdded.create({ id: 'b', title: 'b', tags: [] }), stream: 'list:2' },
            TodoDone.create({ id: 'a' }),
          ],
          { expectedVersion: 4 },
        );
        expect(events.map((e) => [e.stream, e.clientSeq, e.expectedVersion])).toEqual([
          ['list:1', 1, 4],
          ['list:2', 2, undefined],
          ['list:1', 3, 5],
        ]);
      });

      it('refuses invalid, unknown and oversized events with typed errors and stores nothing', async () => {
        const loom = await open();
        await expect(
          loom.append('list:1', { type: 'todo.added', data: { id: 'a', title: 3 } } as never),
        ).rejects.toMatchObject({
          name: 'ClientError',
          code: 'invalid',
          path: 'data.title',
        });
        await expect(loom.append('list:1', { type: 'todo.nope', data: {} } as never)).rejects.toMatchObject({
          code: 'unknown-event-version',
        });
        await expect(
          loom.append('list:1', { type: 'todo.done', version: 7, data: { id: 'a' } }),
        ).rejects.toMatchObject({
          code: 'unknown-event-version',
        });
        await expect(
          loom.append('list:1', NoteWritten.create({ text: 'x'.repeat(Limits.maxEventBytes) })),
        ).rejects.toMatchObject({
          code: 'too-large',
        });
        await expect(loom.append('', TodoDone.create({ id: 'a' }))).rejects.toMatchObject({
          code: 'invalid',
          path: 'stream',
        });
        await expect(
          loom.append('list:1', TodoDone.create({ id: 'a' }), { meta: { traceparent: 'nope' } }),
        ).rejects.toMatchObject({ code: 'invalid', path: 'meta.traceparent' });
        await expect(
          loom.appendMany('list:1', [TodoDone.create({ id: 'a' }), { type: 'todo.done', data: { id: '' } }]),
        ).rejects.toMatchObject({ code: 'invalid', path: '1.data.id' });
        await expect(
          loom.appendMany('list:1', [
            TodoDone.create({ id: 'a' }),
            NoteWritten.create({ text: 'y'.repeat(200_000) }),
          ]),
        ).rejects.toMatchObject({ code: 'too-large', path: '1' });
        expect(await loom.sync.readOutbox()).toEqual([]);
        expect(await firstValueFrom(loom.projection$(todoCount))).toBe(0);
        // Nothing was consumed: the next event still gets clientSeq 1.
        expect((await loom.append('list:1', TodoDone.create({ id: 'a' }))).clientSeq).toBe(1);
      });
    });

    describe('appends in flight at once', () => {
      it('share one write transaction, and each resolves with its own event, in call order', async () => {
        const loom = await open({ projections: [todoCount] });
        const transactions = vi.spyOn(DexieClientStore.prototype, 'appendPending');
        try {
          const events = await Promise.all(
            Array.from({ length: 50 }, (_, i) =>
              loom.append(`list:${i % 3}`, TodoAdded.create({ id: `t${i}`, title: `to-do ${i}`, tags: [] })),
            ),
          );
          expect(transactions).toHaveBeenCalledTimes(1);
          expect(events.map((e) => e.clientSeq)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
          expect(events.map((e) => (e.data as { id: string }).id)).toEqual(
            Array.from({ length: 50 }, (_, i) => `t${i}`),
          );
          expect(events.map((e) => e.stream)).toEqual(Array.from({ length: 50 }, (_, i) => `list:${i % 3}`));
          expect((await loom.sync.readOutbox()).map((r) => r.event)).toEqual(events);
          expect(await firstValueFrom(loom.projection$(todoCount))).toBe(50);
        } finally {
          transactions.mockRestore();
        }
      });

      it('fail one by one: a bad event fails alone, and other calls keep their place in the order', async () => {
        const loom = await open({ projections: [todoCount] });
        const settled = await Promise.allSettled([
          loom.append('list:1', TodoAdded.create({ id: 'a', title: 'a', tags: [] })),
          loom.append('list:1', { type: 'todo.added', data: { id: 'b', title: 3 } } as never),
          loom.append('list:2', TodoAdded.create({ id: 'c', title: 'c', tags: [] })),
          // Valid data, but too large once stamped: it fails the shared transaction, then alone.
          loom.append('list:1', NoteWritten.create({ text: 'x'.repeat(Limits.maxEventBytes) })),
          loom.appendMany('list:3', [TodoAdded.create({ id: 'd', title: 'd', tags: [] })]),
          loom.append('list:1', TodoDone.create({ id: 'a' })),
        ]);
        expect(settled.map((s) => s.status)).toEqual([
          'fulfilled',
          'rejected',
          'fulfilled',
          'rejected',
          'fulfilled',
          'fulfilled',
        ]);
        expect(settled[1]).toMatchObject({ reason: { code: 'invalid' } });
        expect(settled[3]).toMatchObject({ reason: { code: 'too-large' } });
        const outbox = (await loom.sync.readOutbox()).map((r) => [r.clientSeq, r.event.type, r.event.stream]);
        expect(outbox).toEqual([
          [1, 'todo.added', 'list:1'],
          [2, 'todo.added', 'list:2'],
          [3, 'todo.added', 'list:3'],
          [4, 'todo.done', 'list:1'],
        ]);
        expect(await firstValueFrom(loom.projection$(todoCount))).toBe(3);
      });

      it('fail with the closed error once the client is closed', async () => {
        const loom = await open();
        await loom.append('list:1', TodoAdded.create({ id: 'a', title: 'a', tags: [] }));
        await loom.close();
        const late = [
          loom.append('list:1', TodoDone.create({ id: 'a' })),
          loom.append('list:1', TodoDone.create({ id: 'a' })),
        ];
        for (const call of late) await expect(call).rejects.toMatchObject({ code: 'database-closed' });
      });
    });

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
        await loom.sync.insertConfirmed([confirm(a, 1)]);
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
        await loom.sync.insertConfirmed([theirs, confirm(mine1, 2)]);
        const key = (e: { type: string; id: string }) => `${e.type}:${e.id}`;
        expect(order.values.at(-1)).toEqual([key(theirs), key(mine1), key(mine2)]);
        expect((await loom.sync.readOutbox()).map((r) => r.event.id)).toEqual([mine2.id]);
        expect(await loom.sync.lastPosition()).toBe(2);
        // Replays and pages it has seen change nothing.
        expect(await loom.sync.insertConfirmed([theirs, confirm(mine1, 2)])).toEqual({
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
        await loom.sync.insertConfirmed([old]);
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
        await loom.sync.markAcked([
          { id: a.id, position: 1, streamVersion: 1 },
          { id: 'unknown', position: 2, streamVersion: 2 },
        ]);
        expect((await loom.sync.readOutbox()).map((r) => r.acked)).toEqual([
          { position: 1, streamVersion: 1 },
          undefined,
        ]);
        expect((await loom.sync.readOutbox({ unackedOnly: true })).map((r) => r.event.id)).toEqual([b.id]);
        const { deadLetters } = await loom.sync.markRejected([
          { id: b.id, code: 'wrong-expected-version', message: 'moved', currentVersion: 3 },
        ]);
        expect(deadLetters).toMatchObject([
          { event: b, error: { code: 'wrong-expected-version' }, rejection: { currentVersion: 3 } },
        ]);
        expect(count.values.at(-1)).toBe(1);
        expect(await loom.sync.readDeadLetters()).toEqual(deadLetters);
        expect((await loom.sync.readOutbox()).map((r) => r.event.id)).toEqual([a.id]);
      });
    });

    describe('the sync entry point: decisions made again, history, settled acks', () => {
      const added = (position: number, stream: string, id: string, streamVersion = position) => ({
        ...sampleCommitted({ position, stream, streamVersion, clientId: 'x' }),
        type: 'todo.added',
        data: { id, title: id, tags: [] },
      });

      it('keeps the decider and the command with the rows execute appends (never in the envelope)', async () => {
        const loom = await open();
        await loom.sync.insertConfirmed([added(1, 'list:9', 'a')]);
        await loom.execute(
          todoDecider,
          { type: 'complete', list: 'list:9', id: 'a' },
          { meta: { correlationId: 'k' } },
        );
        const [row] = await loom.sync.readOutbox();
        expect(row!.command).toEqual({
          decider: 'todos',
          command: { type: 'complete', list: 'list:9', id: 'a' },
          meta: { correlationId: 'k' },
          first: 1,
          attempt: 0,
        });
        expect(Object.keys(row!.event)).not.toContain('command');
        // A command that is not JSON is not kept: it could not be decided again.
        await loom.sync.insertConfirmed([added(2, 'list:9', 'b', 2)]);
        const odd = { type: 'complete', list: 'list:9', id: 'b', at: new Date() } as const;
        await loom.execute(todoDecider, odd as unknown as TodoCommand);
        expect((await loom.sync.readOutbox())[1]!.command).toBeUndefined();
      });

      it('decides rejected commands again on fresh state, in order, replacing their events', async () => {
        const loom = await open();
        const list = watch(loom.projection$(todoList));
        await loom.sync.insertConfirmed([added(1, 'list:1', 'a', 1)]);
        const one = await loom.execute(todoDecider, { type: 'add', list: 'list:1', id: 'b', title: 'b' });
        const two = await loom.execute(todoDecider, { type: 'complete', list: 'list:1', id: 'b' });
        const three = await loom.execute(todoDecider, { type: 'complete', list: 'list:1', id: 'a' });
        if (!one.ok || !two.ok || !three.ok) throw new Error('decided');
        expect([one, two, three].map((r) => r.events[0]!.expectedVersion)).toEqual([1, 2, 3]);
        // Someone else completed a and added c: all three are rejected by the hub.
        await loom.sync.insertConfirmed([
          {
            ...sampleCommitted({ position: 2, stream: 'list:1', streamVersion: 2, clientId: 'x' }),
            type: 'todo.done',
            data: { id: 'a' },
          },
          added(3, 'list:1', 'c', 3),
        ]);
        // Stale: the log has not reached the version the hub reported.
        const stale = await loom.sync.redecide([
          { ids: [one.events[0]!.id], decider: todoDecider, currentVersion: 5 },
        ]);
        expect(stale).toEqual([{ kind: 'stale', streamVersion: 3 }]);
        const outcomes = await loom.sync.redecide(
          [one, two, three].map((r) => ({
            ids: r.events.map((e) => e.id),
            decider: todoDecider,
            currentVersion: 3,
          })),
        );
        expect(outcomes.map((o) => o.kind)).toEqual(['appended', 'appended', 'refused']);
        const outbox = await loom.sync.readOutbox();
        expect(outbox.map((r) => [r.event.type, r.event.expectedVersion, r.command?.attempt])).toEqual([
          ['todo.added', 3, 1],
          ['todo.done', 4, 1],
        ]);
        expect(outbox.map((r) => r.clientSeq)).toEqual([4, 5]);
        const [letter] = await loom.sync.readDeadLetters();
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
        expect(await loom.sync.redecide([{ ids: [three.events[0]!.id], decider: todoDecider }])).toEqual([
          { kind: 'gone' },
        ]);
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
        await loom.sync.insertConfirmed([b!, d!], { until: 5 });
        expect(order.values.at(-1)).toEqual([key(b!), key(d!), key(mine)]);
        expect(
          await loom.sync.insertHistory([a!, confirm(mine, 3), late!], { subscriptions: ['list:*'] }),
        ).toEqual({
          inserted: 2,
          position: 5,
        });
        expect(order.values.at(-1)).toEqual([key(a!), key(b!), key(mine), key(d!)]);
        expect(count.values.at(-1)).toBe(4);
        expect(await loom.sync.readOutbox()).toEqual([]);
        expect((await loom.readEvents()).map((e) => e.position)).toEqual([1, 2, 3, 4]);
        expect(await loom.sync.readSyncRecord()).toEqual({
          position: 5,
          subscriptions: ['list:*'],
          hubId: undefined,
        });
      });

      it('lets acked events of streams it does not hold leave once the position passes them', async () => {
        const loom = await open();
        const elsewhere = await loom.append('private:1', TodoAdded.create({ id: 'p', title: 'p', tags: [] }));
        const pending = watch(loom.pending$);
        await loom.sync.markAcked([{ id: elsewhere.id, position: 2 }]);
        expect(pending.values.at(-1)).toEqual([elsewhere]);
        await loom.sync.insertConfirmed([added(3, 'list:1', 'a')]);
        expect(pending.values.at(-1)).toEqual([]);
        expect(await loom.sync.readOutbox()).toEqual([]);
      });
    });

    describe('execute', () => {
      it('decides on the stream state and appends with expectedVersion', async () => {
        const loom = await open();
        await loom.sync.insertConfirmed([
          {
            ...sampleCommitted({ position: 1, stream: 'list:9', streamVersion: 1, clientId: 'x' }),
            type: 'todo.added',
            data: { id: 'a', title: 'a', tags: [] },
          },
          {
            ...sampleCommitted({ position: 2, stream: 'list:8', streamVersion: 1, clientId: 'x' }),
            type: 'todo.added',
            data: { id: 'z', title: 'z', tags: [] },
          },
        ]);
        await loom.append('list:9', TodoAdded.create({ id: 'b', title: 'b', tags: [] }));
        const done = await loom.execute(todoDecider, { type: 'complete', list: 'list:9', id: 'a' });
        expect(done).toMatchObject({
          ok: true,
          events: [{ type: 'todo.done', stream: 'list:9', expectedVersion: 2 }],
        });
        const again = await loom.execute(todoDecider, { type: 'complete', list: 'list:9', id: 'a' });
        expect(again).toMatchObject({ ok: false, rejection: { rejected: true, code: 'already-done' } });
        const missing = await loom.execute(todoDecider, { type: 'complete', list: 'list:9', id: 'z' });
        expect(missing).toMatchObject({ ok: false, rejection: { code: 'missing' } });
        expect((await loom.sync.readOutbox()).length).toBe(2);
      });
    });

    describe('events$', () => {
      it('emits stored confirmed events, then new ones, filtered by stream, type and position', async () => {
        const loom = await open();
        const event = (position: number, stream: string, type: string) => ({
          ...sampleCommitted({ position, stream, clientId: 'x' }),
          type,
          data: type === 'todo.done' ? { id: 'a' } : { id: 'a', title: 't', tags: [] },
        });
        await loom.sync.insertConfirmed([
          event(1, 'list:1', 'todo.added'),
          event(2, 'list:2', 'todo.added'),
          event(3, 'list:1', 'todo.done'),
        ]);
        const list1 = firstValueFrom(loom.events$({ stream: 'list:1' }).pipe(take(3), toArray()));
        const done = firstValueFrom(loom.events$({ type: 'todo.done', from: 3 }).pipe(take(1), toArray()));
        const fromTwo = watch(loom.events$({ from: 2 }));
        await loom.sync.insertConfirmed([event(4, 'list:2', 'todo.done'), event(5, 'list:1', 'todo.added')]);
        expect((await list1).map((e) => e.position)).toEqual([1, 3, 5]);
        expect((await done).map((e) => e.position)).toEqual([4]);
        expect(fromTwo.values.map((e) => e.position)).toEqual([3, 4, 5]);
        expect(
          (await loom.readEvents({ stream: 'list:2', type: ['todo.done'] })).map((e) => e.position),
        ).toEqual([4]);
      });
    });

    describe('persistence, snapshots and tabs', () => {
      it('keeps the log, the outbox, the client id and the counters across close and reopen', async () => {
        const first = await open();
        const a = await first.append('list:1', TodoAdded.create({ id: 'a', title: 'a', tags: [] }));
        await first.sync.insertConfirmed([
          confirm(a, 1),
          { ...sampleCommitted({ position: 2, clientId: 'x' }), type: 'todo.done', data: { id: 'a' } },
        ]);
        const b = await first.append('list:1', TodoAdded.create({ id: 'b', title: 'b', tags: [] }));
        await first.close();
        const again = await createEventloom({
          name: first.name,
          registry: todoRegistry,
          ...(storage ? { storage } : {}),
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
        expect(await again.sync.lastPosition()).toBe(2);
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
          await first.sync.insertConfirmed([1, 2, 3, 4, 5].map((i) => added(p + i - 1)));
        await first.close();
        // Plant a snapshot that disagrees with the log: a start from it shows.
        const store = new DexieClientStore({ name: first.name, ...(storage ? { indexedDB: storage } : {}) });
        await store.open();
        expect(await store.readSnapshot('todo-count@1')).toMatchObject({ position: 20, state: 20 });
        await store.putSnapshots([
          { id: 'todo-count@1', name: 'todo-count', version: 1, position: 20, state: 1000 },
        ]);
        store.close();
        const again = await createEventloom({
          name: first.name,
          registry: todoRegistry,
          ...(storage ? { storage } : {}),
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
          ...(storage ? { storage } : {}),
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
        await loom.sync.insertConfirmed([other, confirm(pending[1]!, 2)]);
        const state = await firstValueFrom(loom.projection$(foldOrder));
        expect(state).toEqual(
          fold(foldOrder, [other, confirm(pending[1]!, 2), pending[0]!, pending[2]!, pending[3]!]),
        );
      });
    });
  });
}
