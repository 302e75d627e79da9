import fc from 'fast-check';
import {
  committedEventSchema,
  ErrorCode,
  matchesSubscription,
  type CommittedEvent,
  type EventEnvelope,
} from '@eventloom/protocol';
import { sampleEventId } from '@eventloom/protocol/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { HubErrorCode } from '../hub/hub-error.ts';
import { principalKey } from '../hub/principal-key.ts';
import type { EventStore, StoreAppend, StoreAppendResult, StoreReadResult } from './event-store.ts';

/** Options of {@link describeEventStore}. */
export interface EventStoreSuiteOptions {
  /**
   * For persistent stores: closes `store` and opens the same log again. When given, the suite
   * also checks that the log, the clients and the hub id survive a reopen.
   */
  readonly reopen?: (store: EventStore) => Promise<EventStore>;
  /** Runs of the property test (default 50). */
  readonly propertyRuns?: number;
}

/**
 * The contract every {@link EventStore} keeps, as a vitest suite: run it once per implementation,
 * with a `create` that returns a fresh, empty log each time. The suite closes what it creates.
 *
 * @example
 * describeEventStore('memory', () => createMemoryStore());
 */
export function describeEventStore(
  name: string,
  create: () => Promise<EventStore>,
  options: EventStoreSuiteOptions = {},
): void {
  describe(`EventStore contract: ${name}`, () => {
    const opened: EventStore[] = [];
    const fresh = async (): Promise<EventStore> => {
      const store = await create();
      opened.push(store);
      return store;
    };
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((s) => s.close()));
    });

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
        expect(await store.append(pushes([sent]))).toEqual([
          { status: 'duplicate', id: sent.id, position: 1 },
        ]);
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

      it('rejects a different event at an already used seq as invalid, and keeps the seq’s answer', async () => {
        const store = await fresh();
        const first = event('client-a', 1);
        await store.append(pushes([first]));
        const other = event('client-a', 1);
        const [result] = await store.append(pushes([other]));
        expect(result).toMatchObject({ status: 'rejected', id: other.id, code: ErrorCode.invalid });
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

    describe('read', () => {
      it('pages by from and limit; until is the last event of a full page and the head otherwise', async () => {
        const store = await fresh();
        await store.append(pushes(events('client-a', 1, 7)));
        const p1 = await store.read({ from: 0, limit: 3 });
        expect([positionsOf(p1.events), p1.until, p1.head]).toEqual([[1, 2, 3], 3, 7]);
        const p2 = await store.read({ from: 3, limit: 3 });
        expect([positionsOf(p2.events), p2.until]).toEqual([[4, 5, 6], 6]);
        const p3 = await store.read({ from: 6, limit: 3 });
        expect([positionsOf(p3.events), p3.until]).toEqual([[7], 7]);
        const p4 = await store.read({ from: 7, limit: 3 });
        expect(pageOf(p4)).toEqual({ events: [], until: 7, head: 7 });
        expect(positionsOf((await store.read({ from: 2, limit: 100 })).events)).toEqual([3, 4, 5, 6, 7]);
      });

      it('tells the JSON length of a page right, if it tells it', async () => {
        const store = await fresh();
        await store.append(pushes(events('client-a', 1, 5)));
        for (const page of [
          await store.read({ from: 0, limit: 10 }),
          await store.read({ from: 2, limit: 2 }),
          await store.read({ from: 0, limit: 10, streams: ['list:1'] }),
        ]) {
          if (page.jsonChars === undefined) continue;
          // Filtered pages may tell more (the texts the store scanned); never less.
          expect(page.jsonChars).toBeGreaterThanOrEqual(
            page.events.reduce((n, e) => n + JSON.stringify(e).length, 0),
          );
        }
      });

      it('stops a page at its maxJsonChars budget, always holding the first event, and pages on from until', async () => {
        const store = await fresh();
        const sent = events('client-a', 1, 8, { data: { text: 'x'.repeat(1_000) } });
        await store.append(pushes(sent));
        const size = (await store.read({ from: 0, limit: 1 })).events.map(
          (e) => JSON.stringify(e).length,
        )[0]!;
        const cut = await store.read({ from: 0, limit: 100, maxJsonChars: 3 * size + Math.floor(size / 2) });
        expect([positionsOf(cut.events), cut.until, cut.head]).toEqual([[1, 2, 3], 3, 8]);
        // The first event in range goes in even when it alone is over the budget.
        const one = await store.read({ from: 3, limit: 100, maxJsonChars: 1 });
        expect([positionsOf(one.events), one.until]).toEqual([[4], 4]);
        // The same for a filtered page, which ends before the first event it left out.
        const filtered = await store.read({
          from: 0,
          limit: 100,
          streams: ['list:*'],
          maxJsonChars: 2 * size,
        });
        expect(positionsOf(filtered.events)).toEqual([1, 2]);
        expect(filtered.until).toBe(2);
        // Paging by until with a budget reads every event once.
        const seen: number[] = [];
        let from = 0;
        for (let guard = 0; guard < 20 && from < 8; guard++) {
          const page = await store.read({ from, limit: 100, maxJsonChars: 2 * size + 1 });
          expect(page.events.length).toBeLessThanOrEqual(2);
          seen.push(...positionsOf(page.events));
          from = page.until;
        }
        expect(seen).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
      });

      it('refuses a maxJsonChars that is not a positive integer', async () => {
        const store = await fresh();
        await expect(store.read({ from: 0, limit: 1, maxJsonChars: 0 })).rejects.toMatchObject({
          code: HubErrorCode.store,
        });
      });

      it('never moves until below from, even past the head', async () => {
        const store = await fresh();
        await store.append(pushes(events('client-a', 1, 2)));
        expect(pageOf(await store.read({ from: 10, limit: 5 }))).toEqual({ events: [], until: 10, head: 2 });
        expect(pageOf(await store.read({ from: 10, limit: 5, streams: ['list:1'] }))).toEqual({
          events: [],
          until: 10,
          head: 2,
        });
      });

      it('filters by exact names, prefix* and *', async () => {
        const store = await fresh();
        const streams = ['list:1', 'list:2', 'board:1', 'list:10', 'board:2', 'list', 'other'];
        await store.append(pushes(streams.map((stream, i) => event('client-a', i + 1, { stream }))));
        const read = async (filter: string[]) =>
          (await store.read({ from: 0, limit: 100, streams: filter })).events.map((e) => e.stream);
        expect(await read(['list:1'])).toEqual(['list:1']);
        expect(await read(['list:1', 'board:2', 'nope'])).toEqual(['list:1', 'board:2']);
        expect(await read(['list:1*'])).toEqual(['list:1', 'list:10']);
        expect(await read(['board:*', 'other'])).toEqual(['board:1', 'board:2', 'other']);
        expect(await read(['list*', 'list:1'])).toEqual(['list:1', 'list:2', 'list:10', 'list']);
        expect(await read(['*'])).toEqual(streams);
        expect(await read(['nope', '*'])).toEqual(streams);
        expect(await read([])).toEqual([]);
        const none = await store.read({ from: 0, limit: 100, streams: [] });
        expect([none.until, none.head]).toEqual([7, 7]);
      });

      it('matches prefixes literally and case-sensitively, whatever characters they hold', async () => {
        const store = await fresh();
        const streams = [
          'a_b:1',
          'axb:1',
          'a%b:1',
          'aXXb:1',
          'a\\b:1',
          'A_b:2',
          'Grüße/ü:1',
          'Grüsse/u:1',
          '日本:1',
          '🙂:1',
          "o'k:1",
          'a[b]:1',
        ];
        await store.append(pushes(streams.map((stream, i) => event('client-a', i + 1, { stream }))));
        const read = async (filter: string[]) =>
          (await store.read({ from: 0, limit: 100, streams: filter })).events.map((e) => e.stream);
        expect(await read(['a_*'])).toEqual(['a_b:1']);
        expect(await read(['a%*'])).toEqual(['a%b:1']);
        expect(await read(['a\\*'])).toEqual(['a\\b:1']);
        expect(await read(['A*'])).toEqual(['A_b:2']);
        expect(await read(['Grüße/*'])).toEqual(['Grüße/ü:1']);
        expect(await read(['日*', '🙂*'])).toEqual(['日本:1', '🙂:1']);
        expect(await read(["o'*", 'a[*'])).toEqual(["o'k:1", 'a[b]:1']);
        expect(await read(['a_b:1', 'A_B:2'])).toEqual(['a_b:1']);
      });

      it('keeps every page within (from, until] ≤ head, and paging by until reads every match once', async () => {
        const store = await fresh();
        const names = ['a:1', 'a:2', 'b:1', 'c:1'];
        await store.append(
          pushes(
            Array.from({ length: 60 }, (_, i) => event('client-a', i + 1, { stream: names[(i * 7) % 4]! })),
          ),
        );
        const log = await readAll(store);
        for (const filter of [undefined, ['a:*'], ['b:1'], ['c:1', 'a:2'], ['zzz'], ['*']]) {
          for (const limit of [1, 4, 7, 100]) {
            const seen: CommittedEvent[] = [];
            let from = 0;
            for (let guard = 0; guard < 200; guard++) {
              const page = await store.read(filter ? { from, limit, streams: filter } : { from, limit });
              expect(page.head).toBe(60);
              expect(page.until).toBeGreaterThanOrEqual(from);
              expect(page.until).toBeLessThanOrEqual(page.head);
              expect(page.events.length).toBeLessThanOrEqual(limit);
              for (const e of page.events) {
                expect(e.position).toBeGreaterThan(from);
                expect(e.position).toBeLessThanOrEqual(page.until);
              }
              seen.push(...page.events);
              if (page.until === page.head) break;
              expect(page.until).toBeGreaterThan(from);
              from = page.until;
            }
            const expected = filter ? log.filter((e) => matchesSubscription(e.stream, filter)) : log;
            expect(positionsOf(seen)).toEqual(positionsOf(expected));
          }
        }
      });

      it('reports the head as the highest committed position', async () => {
        const store = await fresh();
        await store.append(pushes(events('client-a', 1, 4)));
        await store.append(pushes([event('client-a', 6)]));
        expect(await store.head()).toBe(4);
        expect((await store.read({ from: 0, limit: 1 })).head).toBe(4);
      });
    });

    describe('clients', () => {
      it('binds a client id to the first principal only', async () => {
        const store = await fresh();
        expect(await store.bindClient('client-a', 'alice')).toBe(true);
        expect(await store.bindClient('client-a', 'alice')).toBe(true);
        expect(await store.bindClient('client-a', 'mallory')).toBe(false);
        expect(await store.client('client-a')).toEqual({ lastClientSeq: 0, principal: 'alice' });
        expect(await store.bindClient('client-b', 'mallory')).toBe(true);
        expect(await store.client('client-b')).toEqual({ lastClientSeq: 0, principal: 'mallory' });
      });

      it('binds a client first seen through append, and keeps its seq', async () => {
        const store = await fresh();
        await store.append(pushes(events('client-a', 1, 2)));
        expect(await store.bindClient('client-a', 'alice')).toBe(true);
        expect(await store.client('client-a')).toEqual({ lastClientSeq: 2, principal: 'alice' });
        await store.append(pushes([event('client-a', 3)]));
        expect(await store.client('client-a')).toEqual({ lastClientSeq: 3, principal: 'alice' });
        expect(await store.bindClient('client-a', 'bob')).toBe(false);
      });
    });

    describe('content', () => {
      it('keeps meta, principal included, and data exactly as sent', async () => {
        const store = await fresh();
        const meta = {
          correlationId: 'corr-1',
          causationId: 'cause-1',
          traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
          principal: { sub: 'user|42', iss: 'https://issuer.example/' },
          'key with spaces': ['a', 1, true, null, { nested: 'ü🙂\u2028"\\' }],
          '': '',
          empty: {},
          '10': 'integer-like key',
        };
        const data = {
          text: 'line\nbreak\ttab "quote" \\ back \u0001 ctl \u{1f600} 日本 \ud800 lone',
          numbers: [0, -1, 1.5, 1e21, 2 ** 53 - 1, -(2 ** 53 - 1), 5e-324, 1.7976931348623157e308],
          deep: { a: { b: { c: [[[]]] } } },
          flag: false,
          none: null,
        };
        const sent = event('client-a', 1, { meta, data });
        await store.append(pushes([sent]));
        const [stored] = (await store.read({ from: 0, limit: 1 })).events;
        expect(stored!.meta).toStrictEqual(meta);
        expect(stored!.data).toStrictEqual(data);
        expect(JSON.stringify(stored!.data)).toBe(JSON.stringify(data));
      });

      it('is not changed by what the caller does to its objects after append', async () => {
        const store = await fresh();
        const sent = event('client-a', 1, { data: { items: ['a'] } });
        await store.append(pushes([sent]));
        (sent.data as { items: string[] }).items.push('b');
        const [stored] = (await store.read({ from: 0, limit: 1 })).events;
        expect(stored!.data).toEqual({ items: ['a'] });
      });
    });

    describe('head watching', () => {
      it('tells a watcher of every commit: heads grow, handed-over events are what a read gives', async () => {
        const store = await fresh();
        const changes: { head: number; from?: number; events?: CommittedEvent[] }[] = [];
        const stop = store.watchHead((change) => {
          const given = change.events?.();
          changes.push({
            head: change.head,
            ...(change.from === undefined ? {} : { from: change.from }),
            ...(given === undefined ? {} : { events: [...given] }),
          });
        });
        const a = events('client-a', 1, 3);
        await store.append(pushes(a));
        await store.append(pushes([a[0]!])); // a duplicate commits nothing
        await store.append(pushes(events('client-b', 1, 2)));
        await expect.poll(() => changes.at(-1)?.head, { timeout: 10_000 }).toBe(5);
        const heads = changes.map((c) => c.head);
        expect(heads).toEqual([...heads].sort((x, y) => x - y));
        expect(new Set(heads).size).toBe(heads.length);
        const log = await readAll(store);
        for (const change of changes) {
          if (change.events === undefined) continue;
          expect(change.events).toEqual(log.slice(change.from, change.head));
        }
        stop();
        await store.append(pushes(events('client-c', 1, 1)));
        await new Promise((resolve) => setTimeout(resolve, 50));
        expect(changes.at(-1)?.head).toBe(5);
      });
    });

    describe('lifecycle', () => {
      it('has a hub id that is stable and differs between logs', async () => {
        const [one, two] = [await fresh(), await fresh()];
        const id = await one.hubId();
        expect(id).toMatch(/\S/);
        expect(await one.hubId()).toBe(id);
        await one.append(pushes([event('client-a', 1)]));
        expect(await one.hubId()).toBe(id);
        expect(await two.hubId()).not.toBe(id);
      });

      it('closes idempotently and refuses work once closed', async () => {
        const store = await fresh();
        await store.close();
        await store.close();
        const closed = { code: HubErrorCode.closed };
        await expect(store.append(pushes([event('client-a', 1)]))).rejects.toMatchObject(closed);
        await expect(store.read({ from: 0, limit: 1 })).rejects.toMatchObject(closed);
        await expect(store.head()).rejects.toMatchObject(closed);
      });

      const reopen = options.reopen ?? (() => Promise.reject(new Error('no reopen hook')));
      it.skipIf(options.reopen === undefined)(
        'keeps the log, streams, clients, answers and hub id across a reopen',
        async () => {
          const store = await fresh();
          const hubId = await store.hubId();
          const rejected = event('client-b', 1, { stream: 'seat:1', expectedVersion: 5 });
          const sent = [...events('client-a', 1, 3, { stream: 'seat:1' }), rejected];
          const answers = await store.append(pushes(sent));
          await store.bindClient('client-a', 'alice');
          const before = await readAll(store);
          const again = await reopen(store);
          opened.push(again);
          expect(await again.hubId()).toBe(hubId);
          expect(await again.head()).toBe(3);
          expect(await readAll(again)).toEqual(before);
          expect(await again.streamVersion('seat:1')).toBe(3);
          expect(await again.client('client-a')).toEqual({ lastClientSeq: 3, principal: 'alice' });
          expect(await again.client('client-b')).toEqual({ lastClientSeq: 1, principal: undefined });
          expect(await again.append(pushes(sent))).toEqual(answers.map(repeatAnswer));
          const next = event('client-a', 4, { stream: 'seat:1', expectedVersion: 3 });
          expect(await again.append(pushes([next]))).toEqual([okOf(next, 4, 4)]);
        },
      );

      it.skipIf(options.reopen === undefined)(
        'stops a page at its maxJsonChars budget when it reads what an earlier run wrote',
        async () => {
          const store = await fresh();
          await store.append(pushes(events('client-a', 1, 6, { data: { text: 'y'.repeat(2_000) } })));
          const again = await reopen(store);
          opened.push(again);
          const size = JSON.stringify((await again.read({ from: 5, limit: 1 })).events[0]).length;
          for (const streams of [undefined, ['list:1'], ['list:*']]) {
            const page = await again.read({
              from: 0,
              limit: 100,
              maxJsonChars: 2 * size + 10,
              ...(streams === undefined ? {} : { streams }),
            });
            expect([positionsOf(page.events), page.until]).toEqual([[1, 2], 2]);
          }
        },
      );
    });

    describe('import', () => {
      /** A log of 6 events from two clients on two streams, one of them with a principal. */
      const source = async (): Promise<CommittedEvent[]> => {
        const store = await fresh();
        const principal = { sub: 'alice' };
        await store.append(pushes(events('client-a', 1, 3, { meta: { principal } })));
        await store.append(pushes(events('client-b', 1, 3, { stream: 'list:2' })));
        return readAll(store);
      };
      /** A fresh log to import into; the test is skipped for a store that cannot import. */
      const importer = async (test: {
        skip(note: string): never;
      }): Promise<EventStore & Required<Pick<EventStore, 'importEvents'>>> => {
        const store = await fresh();
        if (store.importEvents === undefined) test.skip('this store has no importEvents');
        return store as EventStore & Required<Pick<EventStore, 'importEvents'>>;
      };

      it('keeps positions, versions, times, client seqs and principals', async (test) => {
        const exported = await source();
        const target = await importer(test);
        expect(await target.importEvents(exported.slice(0, 4))).toEqual({ imported: 4, skipped: 0, head: 4 });
        expect(await target.importEvents(exported.slice(4))).toEqual({ imported: 2, skipped: 0, head: 6 });
        expect(JSON.stringify(await readAll(target))).toBe(JSON.stringify(exported));
        expect(await target.streamVersion('list:2')).toBe(3);
        expect(await target.client('client-a')).toEqual({
          lastClientSeq: 3,
          principal: principalKey({ sub: 'alice' }),
        });
        expect(await target.client('client-b')).toEqual({ lastClientSeq: 3, principal: undefined });
        // The imported log goes on where the export ended.
        const next = event('client-b', 4, { stream: 'list:2', expectedVersion: 3 });
        expect(await target.append(pushes([next]))).toEqual([okOf(next, 7, 4)]);
        const { position: _p, streamVersion: _v, recordedAt: _r, ...first } = exported[0]!;
        expect(await target.append(pushes([first]))).toEqual([
          { status: 'duplicate', id: exported[0]!.id, position: 1 },
        ]);
      });

      it('is idempotent by id: an interrupted import runs again', async (test) => {
        const exported = await source();
        const target = await importer(test);
        await target.importEvents(exported.slice(0, 3));
        expect(await target.importEvents(exported)).toEqual({ imported: 3, skipped: 3, head: 6 });
        expect(await target.importEvents(exported)).toEqual({ imported: 0, skipped: 6, head: 6 });
        expect(await readAll(target)).toEqual(exported);
      });

      it('refuses a log that is not a prefix of the export, and writes nothing of the batch', async (test) => {
        const exported = await source();
        const target = await importer(test);
        await target.append(pushes([event('client-c', 1)]));
        const refused = { code: HubErrorCode.store, message: expect.stringMatching(/^import: /) };
        await expect(target.importEvents(exported)).rejects.toMatchObject(refused);
        const empty = await importer(test);
        await expect(empty.importEvents(exported.slice(1))).rejects.toMatchObject(refused);
        const changed = { ...exported[0]!, data: { title: 'other' } };
        await empty.importEvents(exported.slice(0, 2));
        await expect(empty.importEvents([changed, ...exported.slice(2)])).rejects.toMatchObject(refused);
        await expect(empty.importEvents([exported[2]!, exported[4]!])).rejects.toMatchObject(refused);
        expect(await empty.head()).toBe(2);
      });

      it('takes the hub id of the export into an empty log, and refuses another log', async (test) => {
        const target = await importer(test);
        const exported = await source();
        const hubId = 'moved-log-1';
        await target.importEvents(exported.slice(0, 2), { hubId });
        expect(await target.hubId()).toBe(hubId);
        await target.importEvents(exported.slice(2), { hubId });
        const other = await importer(test);
        await other.append(pushes([event('client-c', 1)]));
        await expect(other.importEvents([], { hubId })).rejects.toMatchObject({ code: HubErrorCode.store });
      });
    });

    it('keeps its invariants under random batches from several clients', async () => {
      await fc.assert(
        fc.asyncProperty(scenarioArbitrary, async (scenario) => {
          const store = await create();
          try {
            await checkScenario(store, scenario);
          } finally {
            await store.close();
          }
        }),
        { numRuns: options.propertyRuns ?? 50 },
      );
    });
  });
}

// ---- building events

let seqBase = 0;

/** A valid envelope of `clientId` at `clientSeq`, with a fresh id. */
function event(clientId: string, clientSeq: number, overrides: Partial<EventEnvelope> = {}): EventEnvelope {
  seqBase += 1;
  return {
    id: sampleEventId(),
    type: 'todo.added',
    version: 1,
    kind: 'domain',
    stream: 'list:1',
    data: { title: `item ${seqBase}` },
    meta: {},
    clientId,
    clientSeq,
    hlc: `${String(1_732_700_000_000 + clientSeq).padStart(15, '0')}-0000000000-${clientId}`,
    ...overrides,
  };
}

/** `count` events of `clientId` from seq `first` on. */
function events(
  clientId: string,
  first: number,
  count: number,
  overrides: Partial<EventEnvelope> = {},
): EventEnvelope[] {
  return Array.from({ length: count }, (_, i) => event(clientId, first + i, overrides));
}

function pushes(sent: readonly EventEnvelope[]): StoreAppend[] {
  return sent.map((e) => ({ event: e }));
}

function okOf(e: EventEnvelope, position: number, streamVersion: number): StoreAppendResult {
  return { status: 'ok', id: e.id, position, streamVersion };
}

function positionOf(result: StoreAppendResult): number {
  return result.status === 'ok' || result.status === 'duplicate' ? result.position : -1;
}

function positionsOf(list: readonly CommittedEvent[]): number[] {
  return list.map((e) => e.position);
}

/** What a re-push of an event is answered once it was decided. */
function repeatAnswer(first: StoreAppendResult): StoreAppendResult {
  return first.status === 'ok' ? { status: 'duplicate', id: first.id, position: first.position } : first;
}

async function readAll(store: EventStore): Promise<CommittedEvent[]> {
  const all: CommittedEvent[] = [];
  let from = 0;
  for (;;) {
    const page = await store.read({ from, limit: 1000 });
    all.push(...page.events);
    if (page.until >= page.head) return all;
    from = page.until;
  }
}

// ---- the property test

/** What one client means to push: its events by seq (index 0 is seq 1). */
interface ClientPlan {
  readonly events: readonly {
    readonly stream: number;
    readonly expectedVersion: number | undefined;
    /** When set, the event reuses the id of this [client, seq index] (if it was made before). */
    readonly reuse: readonly [number, number] | undefined;
  }[];
}

interface Scenario {
  readonly clients: readonly ClientPlan[];
  /** Batches of [client, seq index] picks, pushed in order: out of order, repeated, with gaps. */
  readonly batches: readonly (readonly (readonly [number, number])[])[];
}

const CLIENTS = 3;
const STREAMS = ['seat:0', 'seat:1', 'seat:2'];

const scenarioArbitrary: fc.Arbitrary<Scenario> = fc.record({
  clients: fc.array(
    fc.record({
      events: fc.array(
        fc.record({
          stream: fc.nat({ max: STREAMS.length - 1 }),
          expectedVersion: fc.option(fc.nat({ max: 4 }), { nil: undefined, freq: 2 }),
          reuse: fc.option(fc.tuple(fc.nat({ max: CLIENTS - 1 }), fc.nat({ max: 7 })), {
            nil: undefined,
            freq: 8,
          }),
        }),
        { minLength: 1, maxLength: 8 },
      ),
    }),
    { minLength: CLIENTS, maxLength: CLIENTS },
  ),
  batches: fc.array(
    fc.array(fc.tuple(fc.nat({ max: CLIENTS - 1 }), fc.nat({ max: 8 })), { minLength: 1, maxLength: 8 }),
    {
      maxLength: 8,
    },
  ),
});

/**
 * Pushes the scenario's batches, then every client's events in order, and checks each answer
 * against a simple model and the final log against the invariants.
 */
async function checkScenario(store: EventStore, scenario: Scenario): Promise<void> {
  const envelopes = buildEnvelopes(scenario);
  const model = {
    head: 0,
    streams: new Map<string, number>(),
    lastSeq: new Map<string, number>(),
    committed: new Map<string, EventEnvelope>(),
  };
  const finalAnswers = new Map<EventEnvelope, StoreAppendResult>();

  const push = async (batch: readonly EventEnvelope[]) => {
    const results = await store.append(pushes(batch));
    expect(results).toHaveLength(batch.length);
    // (clientId, stream) where one of the client's events was refused in this push.
    const refused = new Set<string>();
    batch.forEach((e, i) => {
      const r = results[i]!;
      expect(r.id).toBe(e.id);
      const last = model.lastSeq.get(e.clientId) ?? 0;
      if (e.clientSeq > last + 1) {
        expect(r).toEqual({ status: 'gap', id: e.id, expectedSeq: last + 1 });
        return;
      }
      if (e.clientSeq <= last) {
        expect(r.status).not.toBe('ok');
        expect(r.status).not.toBe('gap');
        if (finalAnswers.has(e)) expect(r).toEqual(repeatAnswer(finalAnswers.get(e)!));
        if (r.status === 'rejected' && e.expectedVersion !== undefined)
          refused.add(`${e.clientId}\u0000${e.stream}`);
        return;
      }
      model.lastSeq.set(e.clientId, e.clientSeq);
      finalAnswers.set(e, r);
      const version = model.streams.get(e.stream) ?? 0;
      const key = `${e.clientId}\u0000${e.stream}`;
      if (model.committed.has(e.id)) {
        refused.add(key);
        expect(r).toMatchObject({ status: 'rejected', code: ErrorCode.idConflict });
      } else if (e.expectedVersion !== undefined && (e.expectedVersion !== version || refused.has(key))) {
        refused.add(key);
        expect(r).toMatchObject({
          status: 'rejected',
          code: ErrorCode.wrongExpectedVersion,
          currentVersion: version,
        });
      } else {
        model.head += 1;
        model.streams.set(e.stream, version + 1);
        model.committed.set(e.id, e);
        expect(r).toEqual({ status: 'ok', id: e.id, position: model.head, streamVersion: version + 1 });
      }
    });
  };

  for (const batch of scenario.batches) {
    await push(batch.flatMap(([c, s]) => (envelopes[c]?.[s] ? [envelopes[c][s]] : [])));
  }
  await push(envelopes.flat());
  // Every event is decided now; pushing them all again changes nothing.
  const headBefore = await store.head();
  await push(envelopes.flat());
  expect(await store.head()).toBe(headBefore);

  const log = await readAll(store);
  expect(positionsOf(log)).toEqual(Array.from({ length: model.head }, (_, i) => i + 1));
  expect(new Set(log.map((e) => e.id)).size).toBe(log.length);
  for (const stream of STREAMS) {
    const versions = log.filter((e) => e.stream === stream).map((e) => e.streamVersion);
    expect(versions).toEqual(versions.map((_, i) => i + 1));
    expect(await store.streamVersion(stream)).toBe(versions.length);
  }
  for (const [c, list] of envelopes.entries()) {
    const clientId = `client-${c}`;
    const seqs = log.filter((e) => e.clientId === clientId).map((e) => e.clientSeq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(await store.client(clientId)).toEqual({ lastClientSeq: list.length, principal: undefined });
  }
  for (const e of log) {
    const { position: _p, streamVersion: _v, recordedAt: _r, ...sent } = e;
    expect(sent).toEqual(model.committed.get(e.id));
  }
}

/** The envelopes of the scenario: client c's event at seq index s is `[c][s]`. */
function buildEnvelopes(scenario: Scenario): EventEnvelope[][] {
  const made: EventEnvelope[][] = [];
  scenario.clients.forEach((plan, c) => {
    const list: EventEnvelope[] = [];
    made.push(list);
    plan.events.forEach((spec, s) => {
      const reused = spec.reuse && made[spec.reuse[0]]?.[spec.reuse[1]];
      list.push(
        event(`client-${c}`, s + 1, {
          stream: STREAMS[spec.stream]!,
          ...(spec.expectedVersion === undefined ? {} : { expectedVersion: spec.expectedVersion }),
          ...(reused ? { id: reused.id } : {}),
        }),
      );
    });
  });
  return made;
}

/** A page without what a store may tell besides (`jsonChars`), to compare with plain pages. */
function pageOf(page: StoreReadResult): Omit<StoreReadResult, 'jsonChars'> {
  const { jsonChars: _, ...rest } = page;
  return rest;
}
