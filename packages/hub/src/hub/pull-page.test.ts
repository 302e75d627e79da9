import type { Pull, PullResult } from '@eventloom/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventStore, StoreReadQuery } from '../store/event-store.ts';
import { createSqliteStore } from '../store/sqlite-store.ts';
import { createHubTestKit, pull, push } from './create-hub.test-kit.ts';
import { createHubMetrics } from './hub-metrics.ts';
import { DEFAULT_HUB_LIMITS } from './hub-options.ts';
import { JsonText } from './json-text.ts';
import { pageBudget, readPullPage, type PullReader } from './pull-page.ts';
import { makeEvent } from './test-kit.ts';

const { setup } = createHubTestKit();
let store: EventStore;
/** The same log without readJson: every page is read and serialised as objects. */
let objects: EventStore;
const streams = ['list:1', 'list:2', 'board:1', 'secret:1'];

beforeAll(async () => {
  store = await createSqliteStore({ path: ':memory:' });
  // What readPullPage asks of a store: read and head.
  objects = { read: (q: StoreReadQuery) => store.read(q), head: () => store.head() } as unknown as EventStore;
  await store.append(
    Array.from({ length: 30 }, (_, i) => ({
      event: makeEvent('client-a', i + 1, {
        stream: streams[i % streams.length]!,
        data: { n: i, text: 'ü'.repeat(i) },
      }),
    })),
  );
});
afterAll(() => store.close());

const ctx = (s: EventStore, limits = DEFAULT_HUB_LIMITS) => ({
  store: s,
  limits,
  metrics: createHubMetrics(),
});
const reader = (
  subscriptions: string[],
  allowed: (stream: string) => boolean | Promise<boolean> = () => true,
): PullReader => ({ subscriptions, allowed: (_action, stream) => allowed(stream) });

/** The answer as the peer decodes it: a JsonText's JSON parsed, anything else as it is. */
const received = (answer: unknown) => (answer instanceof JsonText ? JSON.parse(answer.json) : answer);

describe('readPullPage from a store that reads JSON pages', () => {
  it('answers a page that goes out whole as its JSON text, the answer read as objects gives', async () => {
    for (const [who, request] of [
      [reader(['*']), { from: 0, limit: 1000 }],
      [reader(['*']), { from: 4, limit: 7 }],
      [reader(['list:*']), { from: 0, limit: 10 }],
      [reader(['*']), { from: 0, limit: 100, streams: ['board:1', 'list:2'] }],
      [reader(['*'], (s) => Promise.resolve(s !== 'nothing')), { from: 0, limit: 100 }],
      [reader(['*']), { from: 30, limit: 5 }],
    ] as const) {
      const answer = await readPullPage(ctx(store), who, request as Pull, 0);
      expect(answer).toBeInstanceOf(JsonText);
      expect(received(answer)).toEqual(await readPullPage(ctx(objects), who, request as Pull, 0));
      expect((answer as JsonText).json).toBe(JSON.stringify(received(answer)));
    }
  });

  it('answers as objects, as read as objects, a page that cannot go out whole', async () => {
    const same = async (who: PullReader, request: Pull, limits = DEFAULT_HUB_LIMITS) => {
      const answer = await readPullPage(ctx(store, limits), who, request, 0);
      expect(answer).not.toBeInstanceOf(JsonText);
      expect(answer).toEqual(await readPullPage(ctx(objects, limits), who, request, 0));
      return answer as PullResult;
    };
    // A stream the principal may not pull, decided at once or later.
    for (const allowed of [
      (s: string) => s !== 'secret:1',
      (s: string) => Promise.resolve(s !== 'secret:1'),
    ]) {
      const page = await same(reader(['*'], allowed), { from: 0, limit: 100 });
      expect(new Set(page.events.map((e) => e.stream))).toEqual(new Set(['list:1', 'list:2', 'board:1']));
    }
    // Named streams beyond the connection's subscriptions.
    const named = await same(reader(['list:*']), { from: 0, limit: 100, streams: ['list:1', 'board:*'] });
    expect(new Set(named.events.map((e) => e.stream))).toEqual(new Set(['list:1']));
    // A first event of more JSON than a quarter of a message (the page budget): it goes alone, and
    // not as it is, since three bytes a character of it might not fit.
    const cut = await same(
      reader(['*']),
      { from: 0, limit: 100 },
      { ...DEFAULT_HUB_LIMITS, maxMessageBytes: 900 },
    );
    expect(cut.events.length).toBeGreaterThan(0);
    expect(cut.events.length).toBeLessThan(30);
    expect(cut.more).toBe(true);
  });
});

describe('readPullPage of large events', () => {
  it('holds at most a quarter of a message of JSON: each page goes out as its text, and paging on gives every event once', async () => {
    const big = await createSqliteStore({ path: ':memory:' });
    try {
      const text = 'x'.repeat(20_000);
      await big.append(
        Array.from({ length: 30 }, (_, i) => ({ event: makeEvent('client-b', i + 1, { data: { text } }) })),
      );
      const limits = { ...DEFAULT_HUB_LIMITS, maxMessageBytes: 400_000 };
      // 20,000 characters an event: four a page, where a whole message would hold nineteen, which
      // could not go out as they are (three bytes a character of them might not fit).
      expect(pageBudget(limits.maxMessageBytes)).toBe(100_000);
      const positions: number[] = [];
      for (let from = 0; ;) {
        const answer = await readPullPage(ctx(big, limits), reader(['*']), { from, limit: 1000 }, 0);
        expect(answer).toBeInstanceOf(JsonText);
        const page = received(answer) as PullResult;
        expect(page.events.reduce((sum, e) => sum + JSON.stringify(e).length, 0)).toBeLessThanOrEqual(
          pageBudget(limits.maxMessageBytes),
        );
        positions.push(...page.events.map((e) => e.position));
        if (!page.more) break;
        from = page.until;
      }
      expect(positions).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    } finally {
      await big.close();
    }
  });
});

describe('a pull over a socket, from a hub on SQLite', () => {
  it('is answered with the events as the store reads them', async () => {
    const hub = await setup({ store: await createSqliteStore({ path: ':memory:' }) });
    const a = await hub.client('alice', 'client-a');
    const sent = Array.from({ length: 12 }, (_, i) =>
      makeEvent('client-a', i + 1, {
        stream: streams[i % streams.length]!,
        data: { text: `ü🙂 "${i}" \\ \u2028` },
      }),
    );
    await push(a.socket, sent);
    const page = await pull(a.socket, 2, 5);
    const read = await hub.store.read({ from: 2, limit: 5 });
    expect(page).toEqual({ events: read.events, head: 12, until: 7, more: true });
    expect(page.events.map((e) => e.id)).toEqual(sent.slice(2, 7).map((e) => e.id));
  });
});
