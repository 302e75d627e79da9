import { eventEnvelopeSchema, Limits, UUID_V7_PATTERN } from '@eventloom/protocol';
import { sampleCommitted } from '@eventloom/protocol/testing';
import { firstValueFrom } from 'rxjs';
import { describe, expect, it, vi } from 'vitest';
import { BackedClientStore } from '../backed-client-store.ts';
import { NoteWritten, TodoAdded, todoCount, TodoDone, todoDecider } from './todo-model.ts';
import type { LoomSuite } from './eventloom-suite-fixtures.ts';
import { syncPortOf } from '../sync-port-access.ts';

/** `append`: the envelope it stores, its options and its refusals. */
export function appendSuite({ open }: LoomSuite): void {
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
      expect((await syncPortOf(loom).readOutbox()).map((r) => r.event)).toEqual([a, b]);
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
      expect(await syncPortOf(loom).readOutbox()).toEqual([]);
      expect(await firstValueFrom(loom.projection$(todoCount))).toBe(0);
      // Nothing was consumed: the next event still gets clientSeq 1.
      expect((await loom.append('list:1', TodoDone.create({ id: 'a' }))).clientSeq).toBe(1);
    });
  });
}

/** Appends in flight at once, and close() while they are. */
export function appendsInFlightSuite({ open }: LoomSuite): void {
  describe('appends in flight at once', () => {
    it('share one write transaction, and each resolves with its own event, in call order', async () => {
      const loom = await open({ projections: [todoCount] });
      const transactions = vi.spyOn(BackedClientStore.prototype, 'appendPending');
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
        expect((await syncPortOf(loom).readOutbox()).map((r) => r.event)).toEqual(events);
        expect(await firstValueFrom(loom.projection$(todoCount))).toBe(50);
      } finally {
        transactions.mockRestore();
      }
    });

    it('start at once on an idle client, before append returns; the appends made meanwhile share the next transaction', async () => {
      const loom = await open({ projections: [todoCount] });
      await loom.append('list:1', TodoAdded.create({ id: 'a', title: 'a', tags: [] }));
      // Its task settled: the client is idle.
      await new Promise((resolve) => setTimeout(resolve, 0));
      const transactions = vi.spyOn(BackedClientStore.prototype, 'appendPending');
      try {
        const first = loom.append('list:1', TodoAdded.create({ id: 'b', title: 'b', tags: [] }));
        expect(transactions).toHaveBeenCalledTimes(1);
        const rest = ['c', 'd', 'e'].map((id) =>
          loom.append('list:2', TodoAdded.create({ id, title: id, tags: [] })),
        );
        expect(transactions).toHaveBeenCalledTimes(1);
        const events = await Promise.all([first, ...rest]);
        expect(transactions).toHaveBeenCalledTimes(2);
        expect(events.map((e) => e.clientSeq)).toEqual([2, 3, 4, 5]);
        expect(await firstValueFrom(loom.projection$(todoCount))).toBe(5);
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
      const outbox = (await syncPortOf(loom).readOutbox()).map((r) => [
        r.clientSeq,
        r.event.type,
        r.event.stream,
      ]);
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
}

/** `execute`: commands through a decider. */
export function executeSuite({ open }: LoomSuite): void {
  describe('execute', () => {
    it('decides on the stream state and appends with expectedVersion', async () => {
      const loom = await open();
      await syncPortOf(loom).insertConfirmed([
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
      expect((await syncPortOf(loom).readOutbox()).length).toBe(2);
    });
  });
}
