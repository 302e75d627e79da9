import { committedEventSchema, ErrorCode, type EventEnvelope } from '@eventloom/protocol';
import { describe, expect, it } from 'vitest';
import {
  event,
  events,
  okOf,
  pageOf,
  positionOf,
  positionsOf,
  pushes,
  type ContractContext,
  readAll,
} from './event-store-contract-fixtures.ts';

/** The event store contract, part: positions, streams, event ids, clientSeq, refusals recorded before the store, expectedVersion. */
export function appendContract({ fresh }: ContractContext): void {
  describe('positions', () => {
    it('starts empty: head 0, nothing to read, no stream, no client', async () => {
      const store = await fresh();
      expect(await store.head()).toBe(0);
      expect(pageOf(await store.read({ from: 0, limit: 10 }))).toEqual({ events: [], until: 0, head: 0 });
      expect(await store.streamVersion('list:1')).toBe(0);
      expect(await store.client('client-a')).toEqual({ lastClientSeq: 0, principal: undefined });
    });

    it('assigns gapless positions from 1, in batch order, across batches', async () => {
      const store = await fresh();
      const a = events('client-a', 1, 3);
      const b = events('client-b', 1, 2);
      expect(await store.append(pushes(a))).toEqual(a.map((e, i) => okOf(e, i + 1, i + 1)));
      expect(await store.append(pushes([b[0]!, a[0]!, b[1]!]))).toEqual([
        okOf(b[0]!, 4, 4),
        { status: 'duplicate', id: a[0]!.id, position: 1 },
        okOf(b[1]!, 5, 5),
      ]);
      expect(await store.head()).toBe(5);
      expect(positionsOf(await readAll(store))).toEqual([1, 2, 3, 4, 5]);
    });

    it('answers an empty batch with no results and commits nothing', async () => {
      const store = await fresh();
      expect(await store.append([])).toEqual([]);
      expect(await store.head()).toBe(0);
    });

    it('commits appends that were not awaited one after the other, in call order', async () => {
      const store = await fresh();
      const a = events('client-a', 1, 3);
      const b = events('client-b', 1, 3);
      const [ra, rb] = await Promise.all([store.append(pushes(a)), store.append(pushes(b))]);
      expect(ra.map(positionOf)).toEqual([1, 2, 3]);
      expect(rb.map(positionOf)).toEqual([4, 5, 6]);
      expect((await readAll(store)).map((e) => e.id)).toEqual([...a, ...b].map((e) => e.id));
    });

    it('returns each committed event as sent, plus position, streamVersion and recordedAt', async () => {
      const store = await fresh();
      const sent = event('client-a', 1, { stream: 'list:9', expectedVersion: 0 });
      const before = Date.now();
      await store.append([{ event: sent }]);
      const after = Date.now();
      const [stored] = (await store.read({ from: 0, limit: 1 })).events;
      expect(committedEventSchema.parse(stored)).toEqual(stored);
      const { recordedAt, ...rest } = stored!;
      expect(rest).toStrictEqual({ ...sent, position: 1, streamVersion: 1 });
      expect(recordedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
      const at = Date.parse(recordedAt);
      expect(at).toBeGreaterThanOrEqual(before - 1);
      expect(at).toBeLessThanOrEqual(after + 1);
    });
  });

  describe('streams', () => {
    it('numbers each stream gaplessly from 1, however streams interleave', async () => {
      const store = await fresh();
      const streams = ['s:a', 's:b', 's:a', 's:c', 's:b', 's:a'];
      const sent = streams.map((stream, i) => event('client-a', i + 1, { stream }));
      const results = await store.append(pushes(sent));
      expect(results.map((r) => (r.status === 'ok' ? r.streamVersion : -1))).toEqual([1, 1, 2, 1, 2, 3]);
      const log = await readAll(store);
      expect(log.map((e) => [e.stream, e.streamVersion])).toEqual(
        streams.map((s, i) => [s, [1, 1, 2, 1, 2, 3][i]]),
      );
    });

    it('gives each stream version as the number of its events; 0 for an unknown stream', async () => {
      const store = await fresh();
      await store.append(pushes(['x', 'y', 'x'].map((stream, i) => event('client-a', i + 1, { stream }))));
      expect(await store.streamVersion('x')).toBe(2);
      expect(await store.streamVersion('y')).toBe(1);
      expect(await store.streamVersion('z')).toBe(0);
      expect(await store.streamVersion('X')).toBe(0);
    });
  });

  describe('event ids', () => {
    it('answers the same event again with duplicate and its original position, in later and same batches', async () => {
      const store = await fresh();
      const [e1, e2] = events('client-a', 1, 2);
      await store.append(pushes([e1!]));
      expect(await store.append(pushes([e1!, e2!, { ...e2! }]))).toEqual([
        { status: 'duplicate', id: e1!.id, position: 1 },
        okOf(e2!, 2, 2),
        { status: 'duplicate', id: e2!.id, position: 2 },
      ]);
      expect(await store.head()).toBe(2);
    });

    it('treats the same content with keys in another order as the same event', async () => {
      const store = await fresh();
      const sent = event('client-a', 1, { data: { a: 1, b: [1, { c: 2, d: 3 }] } });
      await store.append(pushes([sent]));
      const reordered = Object.fromEntries(
        Object.entries({ ...sent, data: { b: [1, { d: 3, c: 2 }], a: 1 } }).reverse(),
      );
      expect(await store.append([{ event: reordered as EventEnvelope }])).toEqual([
        { status: 'duplicate', id: sent.id, position: 1 },
      ]);
    });

    it('rejects the same id with other content as id-conflict, and keeps the original', async () => {
      const store = await fresh();
      const sent = event('client-a', 1, { data: { title: 'milk' } });
      await store.append(pushes([sent]));
      const [result] = await store.append([{ event: { ...sent, data: { title: 'eggs' } } }]);
      expect(result).toMatchObject({ status: 'rejected', id: sent.id, code: ErrorCode.idConflict });
      expect((await readAll(store)).map((e) => e.data)).toEqual([{ title: 'milk' }]);
      expect(await store.append(pushes([sent]))).toEqual([{ status: 'duplicate', id: sent.id, position: 1 }]);
    });

    it('rejects an id committed by another client as id-conflict, recorded under that client’s seq', async () => {
      const store = await fresh();
      const original = event('client-a', 1);
      await store.append(pushes([original]));
      const copy = event('client-b', 1, { id: original.id });
      const [result] = await store.append(pushes([copy]));
      expect(result).toMatchObject({ status: 'rejected', id: original.id, code: ErrorCode.idConflict });
      expect(await store.client('client-b')).toEqual({ lastClientSeq: 1, principal: undefined });
      expect(await store.append(pushes([copy]))).toEqual([result]);
      const next = event('client-b', 2);
      expect(await store.append(pushes([next]))).toEqual([okOf(next, 2, 2)]);
      expect(await store.head()).toBe(2);
    });
  });

  describe('clientSeq', () => {
    it('tracks each client’s last seq independently', async () => {
      const store = await fresh();
      await store.append(pushes([...events('client-a', 1, 3), ...events('client-b', 1, 1)]));
      expect(await store.client('client-a')).toEqual({ lastClientSeq: 3, principal: undefined });
      expect(await store.client('client-b')).toEqual({ lastClientSeq: 1, principal: undefined });
    });

    it('answers a seq above last + 1 with gap, records nothing, and takes it once the gap is filled', async () => {
      const store = await fresh();
      const [e1, e2, e3] = events('client-a', 1, 3);
      expect(await store.append(pushes([e3!]))).toEqual([{ status: 'gap', id: e3!.id, expectedSeq: 1 }]);
      expect(await store.head()).toBe(0);
      expect(await store.client('client-a')).toEqual({ lastClientSeq: 0, principal: undefined });
      expect(await store.append(pushes([e1!, e3!, e2!]))).toEqual([
        okOf(e1!, 1, 1),
        { status: 'gap', id: e3!.id, expectedSeq: 2 },
        okOf(e2!, 2, 2),
      ]);
      expect(await store.append(pushes([e3!]))).toEqual([okOf(e3!, 3, 3)]);
      expect((await readAll(store)).map((e) => e.clientSeq)).toEqual([1, 2, 3]);
    });

    it('rejects a different event at an already used seq as seq-used, and keeps the seq’s answer', async () => {
      const store = await fresh();
      const first = event('client-a', 1);
      await store.append(pushes([first]));
      const other = event('client-a', 1);
      const [result] = await store.append(pushes([other]));
      expect(result).toMatchObject({ status: 'rejected', id: other.id, code: ErrorCode.seqUsed });
      expect(await store.head()).toBe(1);
      expect(await store.client('client-a')).toEqual({ lastClientSeq: 1, principal: undefined });
      expect(await store.append(pushes([first]))).toEqual([
        { status: 'duplicate', id: first.id, position: 1 },
      ]);
    });

    it('never commits an event twice, however often its seq is pushed', async () => {
      const store = await fresh();
      const sent = events('client-a', 1, 4);
      for (let round = 0; round < 3; round++) await store.append(pushes([...sent, ...sent]));
      const log = await readAll(store);
      expect(log.map((e) => e.id)).toEqual(sent.map((e) => e.id));
    });
  });

  describe('events the hub rejected before the store', () => {
    it('records the rejection: the seq advances, nothing is committed, a re-push gets the same answer', async () => {
      const store = await fresh();
      const [bad, good] = events('client-a', 1, 2);
      const rejection = { code: ErrorCode.unauthorized, message: 'may not write list:1' } as const;
      const answer = { status: 'rejected', id: bad!.id, ...rejection };
      expect(await store.append([{ event: bad!, rejection }, { event: good! }])).toEqual([
        answer,
        okOf(good!, 1, 1),
      ]);
      expect(await store.client('client-a')).toEqual({ lastClientSeq: 2, principal: undefined });
      expect(await store.head()).toBe(1);
      expect(await store.append([{ event: bad!, rejection }])).toEqual([answer]);
      expect(await store.append([{ event: bad! }])).toEqual([answer]);
      expect(await store.streamVersion(bad!.stream)).toBe(1);
    });

    it('answers a rejected event beyond the next seq with gap, and records nothing', async () => {
      const store = await fresh();
      const sent = event('client-a', 2);
      const result = await store.append([
        { event: sent, rejection: { code: ErrorCode.tooLarge, message: 'big' } },
      ]);
      expect(result).toEqual([{ status: 'gap', id: sent.id, expectedSeq: 1 }]);
      expect(await store.client('client-a')).toEqual({ lastClientSeq: 0, principal: undefined });
    });

    it('answers a rejected re-push of an already committed seq with the original answer', async () => {
      const store = await fresh();
      const sent = event('client-a', 1);
      await store.append(pushes([sent]));
      const again = await store.append([
        { event: sent, rejection: { code: ErrorCode.unavailable, message: 'x' } },
      ]);
      expect(again).toEqual([{ status: 'duplicate', id: sent.id, position: 1 }]);
    });
  });

  describe('expectedVersion', () => {
    it('takes 0 as a new stream: ok on an unknown stream, rejected with currentVersion once it exists', async () => {
      const store = await fresh();
      const [e1, e2] = [
        event('client-a', 1, { expectedVersion: 0 }),
        event('client-a', 2, { expectedVersion: 0 }),
      ];
      const results = await store.append(pushes([e1, e2]));
      expect(results[0]).toEqual(okOf(e1, 1, 1));
      expect(results[1]).toMatchObject({
        status: 'rejected',
        id: e2.id,
        code: ErrorCode.wrongExpectedVersion,
        currentVersion: 1,
      });
    });

    it('accepts only the version the stream is at, and rejects lower and higher ones', async () => {
      const store = await fresh();
      await store.append(pushes(events('client-a', 1, 3, { stream: 'seat:7' })));
      // Three clients: one client's events after a refusal on the stream are refused anyway.
      const [low, high, right] = [2, 4, 3].map((v, i) =>
        event(['client-b', 'client-c', 'client-d'][i]!, 1, { stream: 'seat:7', expectedVersion: v }),
      );
      const results = await store.append(pushes([low!, high!, right!]));
      for (const [i, e] of [low!, high!].entries()) {
        expect(results[i]).toMatchObject({
          status: 'rejected',
          id: e.id,
          code: ErrorCode.wrongExpectedVersion,
          currentVersion: 3,
        });
      }
      expect(results[2]).toEqual(okOf(right!, 4, 4));
    });

    it('judges the events of one batch in order, each in the light of the ones before it', async () => {
      const store = await fresh();
      await store.append(pushes(events('client-a', 1, 3, { stream: 'seat:1' })));
      const first = event('client-b', 1, { stream: 'seat:1', expectedVersion: 3 });
      const second = event('client-c', 1, { stream: 'seat:1', expectedVersion: 3 });
      const following = event('client-b', 2, { stream: 'seat:1', expectedVersion: 4 });
      const results = await store.append(pushes([first, second, following]));
      expect(results).toEqual([
        okOf(first, 4, 4),
        expect.objectContaining({
          status: 'rejected',
          code: ErrorCode.wrongExpectedVersion,
          currentVersion: 4,
        }),
        okOf(following, 5, 5),
      ]);
    });

    it("refuses a client's later guarded events on a stream once one of them was refused in the batch", async () => {
      const store = await fresh();
      await store.append(pushes(events('client-a', 1, 3, { stream: 'card:1' })));
      // client-b decided two events on version 2; the stream moved to 3, so the first is refused
      // and the second, whose expectedVersion 3 now matches by chance, is refused with it.
      const created = event('client-b', 1, { stream: 'card:1', expectedVersion: 2 });
      const moved = event('client-b', 2, { stream: 'card:1', expectedVersion: 3 });
      const unguarded = event('client-b', 3, { stream: 'card:1' });
      const other = event('client-b', 4, { stream: 'card:2', expectedVersion: 0 });
      const results = await store.append(pushes([created, moved, unguarded, other]));
      expect(results[0]).toMatchObject({ status: 'rejected', code: ErrorCode.wrongExpectedVersion });
      expect(results[1]).toMatchObject({
        status: 'rejected',
        id: moved.id,
        code: ErrorCode.wrongExpectedVersion,
        currentVersion: 3,
      });
      expect(results[2]).toEqual(okOf(unguarded, 4, 4));
      expect(results[3]).toEqual(okOf(other, 5, 1));
      expect(await store.append(pushes([moved]))).toEqual([results[1]]);
    });

    it('refuses guarded events sent after a refused guarded event of the same client, sent again in the batch', async () => {
      const store = await fresh();
      await store.append(pushes(events('client-a', 1, 3, { stream: 'card:1' })));
      // client-b's first decision is refused alone; its second was decided on the first and goes
      // out in a later push, with the refused one sent again ahead of it (the engine's reminder).
      const created = event('client-b', 1, { stream: 'card:1', expectedVersion: 2 });
      const moved = event('client-b', 2, { stream: 'card:1', expectedVersion: 3 });
      const [refused] = await store.append(pushes([created]));
      expect(refused).toMatchObject({ status: 'rejected', code: ErrorCode.wrongExpectedVersion });
      const results = await store.append(pushes([created, moved]));
      expect(results[0]).toEqual(refused);
      expect(results[1]).toMatchObject({
        status: 'rejected',
        id: moved.id,
        code: ErrorCode.wrongExpectedVersion,
        currentVersion: 3,
      });
      expect(await store.streamVersion('card:1')).toBe(3);
      // Without the reminder the hub cannot tell: a matching version is accepted.
      const third = event('client-b', 3, { stream: 'card:1', expectedVersion: 3 });
      expect(await store.append(pushes([third]))).toEqual([okOf(third, 4, 4)]);
    });

    it('records the rejection: the seq advances and a re-push gets the same answer after the stream moved', async () => {
      const store = await fresh();
      await store.append(pushes([event('client-a', 1, { stream: 'seat:2' })]));
      const late = event('client-b', 1, { stream: 'seat:2', expectedVersion: 0 });
      const [answer] = await store.append(pushes([late]));
      expect(await store.client('client-b')).toEqual({ lastClientSeq: 1, principal: undefined });
      await store.append(pushes([event('client-a', 2, { stream: 'seat:2' })]));
      expect(await store.append(pushes([late]))).toEqual([answer]);
      expect(answer).toMatchObject({ currentVersion: 1 });
      expect(await store.streamVersion('seat:2')).toBe(2);
    });
  });
}
