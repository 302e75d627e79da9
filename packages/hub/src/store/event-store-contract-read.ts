import { matchesSubscription, type CommittedEvent } from '@eventloom/protocol';
import { describe, expect, it } from 'vitest';
import { HubErrorCode } from '../hub/hub-error.ts';
import type { CommittedJson, EventStore, StoreReadQuery } from './event-store.ts';
import {
  event,
  events,
  pageOf,
  positionsOf,
  pushes,
  type ContractContext,
  readAll,
} from './event-store-contract-fixtures.ts';

/** The event store contract, part: reads and their filters and budgets, clients, content, head watching. */
export function readContract({ fresh }: ContractContext): void {
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
      const size = (await store.read({ from: 0, limit: 1 })).events.map((e) => JSON.stringify(e).length)[0]!;
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

  describe('readJson (stores that have it)', () => {
    /** readJson's page beside read's, for the same query: equal, and its streams those of its events. */
    async function expectSamePages(store: EventStore, query: StoreReadQuery): Promise<void> {
      const text = await store.readJson!(query);
      const page = await store.read(query);
      const events = JSON.parse(`[${new TextDecoder().decode(text.json)}]`) as CommittedEvent[];
      expect(events).toEqual(page.events);
      expect(JSON.stringify(events)).toBe(JSON.stringify(page.events));
      expect([text.count, text.until, text.head]).toEqual([page.events.length, page.until, page.head]);
      expect(text.streams).toEqual([...new Set(page.events.map((e) => e.stream))]);
    }

    it('gives the page read gives, as UTF-8 JSON, with its distinct streams', async (test) => {
      const store = await fresh();
      if (store.readJson === undefined) return test.skip();
      const names = ['list:1', 'list:2', 'board:1', 'list:10', 'other'];
      await store.append(
        pushes(
          Array.from({ length: 40 }, (_, i) =>
            event('client-a', i + 1, {
              stream: names[(i * 3) % names.length]!,
              data: { text: `ü🙂 "${i}" \\ \u2028 ${'x'.repeat(i * 40)}` },
            }),
          ),
        ),
      );
      const size = JSON.stringify((await store.read({ from: 0, limit: 1 })).events[0]).length;
      for (const streams of [undefined, ['*'], ['list:1'], ['list:1*', 'other'], ['nope'], []]) {
        for (const [from, limit] of [
          [0, 100],
          [0, 7],
          [13, 5],
          [39, 10],
          [45, 10],
        ] as const) {
          await expectSamePages(store, { from, limit, ...(streams === undefined ? {} : { streams }) });
          await expectSamePages(store, {
            from,
            limit,
            maxJsonChars: 3 * size,
            ...(streams === undefined ? {} : { streams }),
          });
        }
      }
    });

    it('names streams exactly, and filters by them, where they differ only in lone surrogates', async (test) => {
      const store = await fresh();
      if (store.readJson === undefined) return test.skip();
      const streams = ['s\ud800', 's\ud801', 's\ufffd', 'p\ud83d', 'p\ud83d\ude00'];
      await store.append(pushes(streams.map((stream, i) => event('client-a', i + 1, { stream }))));
      for (const filter of [['*'], ['s\ud800'], ['s\ud801*'], ['s\ufffd'], ['p\ud83d', 's\ud800']]) {
        const page = await store.readJson({ from: 0, limit: 10, streams: filter });
        const expected = streams.filter((s) => matchesSubscription(s, filter));
        expect(page.streams).toEqual(expected);
        const events = JSON.parse(`[${new TextDecoder().decode(page.json)}]`) as CommittedEvent[];
        expect(events.map((e) => e.stream)).toEqual(expected);
      }
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
      const changes: { head: number; from?: number; events?: CommittedEvent[]; json?: CommittedJson[] }[] =
        [];
      const stop = store.watchHead((change) => {
        const given = change.events?.();
        const json = change.json?.();
        changes.push({
          head: change.head,
          ...(change.from === undefined ? {} : { from: change.from }),
          ...(given === undefined ? {} : { events: [...given] }),
          ...(json === undefined ? {} : { json: [...json] }),
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
        if (change.json !== undefined) {
          // The same events as text: each parses to what a read gives, and is named by its position and stream.
          const slice = log.slice(change.from, change.head);
          expect(change.json.map((e) => JSON.parse(e.json) as unknown)).toEqual(slice);
          expect(change.json.map(({ position, stream }) => ({ position, stream }))).toEqual(
            slice.map(({ position, stream }) => ({ position, stream })),
          );
        }
        if (change.events === undefined) continue;
        expect(change.events).toEqual(log.slice(change.from, change.head));
      }
      stop();
      await store.append(pushes(events('client-c', 1, 1)));
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(changes.at(-1)?.head).toBe(5);
    });
  });
}
