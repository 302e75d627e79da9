import type { Pull, PullResult } from '@eventloom/protocol';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { EventStore, StoreReadQuery } from '../store/event-store.ts';
import { createSqliteStore } from '../store/sqlite-store.ts';
import { createHubTestKit, pull, push } from './create-hub.test-kit.ts';
import { createHubMetrics } from './hub-metrics.ts';
import { DEFAULT_HUB_LIMITS } from './hub-options.ts';
import { EncodedPacket, JsonText } from './json-text.ts';
import { pageBudget, readPullPage, type PullReader } from './pull-page.ts';
import { connectClient, hello, makeEvent, signToken } from './test-kit.ts';

const { scope, setup } = createHubTestKit();
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

/** A JsonText's JSON, its parts put together. */
const jsonOf = (text: JsonText) =>
  text.parts.map((part) => (typeof part === 'string' ? part : new TextDecoder().decode(part))).join('');
/** The answer as the peer decodes it: a JsonText's JSON parsed, anything else as it is. */
const received = (answer: unknown) => (answer instanceof JsonText ? JSON.parse(jsonOf(answer)) : answer);

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
      expect(jsonOf(answer as JsonText)).toBe(JSON.stringify(received(answer)));
    }
  });

  it('answers as its bytes a page whose UTF-8 fits in a message, however many bytes a character could take', async () => {
    // The page budget (a quarter of a message) stops at the first event, whose UTF-8 and the
    // page's framing take the whole message: three bytes a character of it would not fit.
    const first = Buffer.byteLength(JSON.stringify((await store.read({ from: 0, limit: 1 })).events[0]));
    const limits = { ...DEFAULT_HUB_LIMITS, maxMessageBytes: first + 64 };
    const answer = await readPullPage(ctx(store, limits), reader(['*']), { from: 0, limit: 100 }, 0);
    expect(answer).toBeInstanceOf(JsonText);
    const page = received(answer) as PullResult;
    expect(page.events).toHaveLength(1);
    expect(page).toEqual(await readPullPage(ctx(objects, limits), reader(['*']), { from: 0, limit: 100 }, 0));
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
    // A first event whose UTF-8 and the page's framing take more than a message: it goes alone (as
    // chunkByBytes would send it), parsed.
    const first = Buffer.byteLength(JSON.stringify((await store.read({ from: 0, limit: 1 })).events[0]));
    const cut = await same(
      reader(['*']),
      { from: 0, limit: 100 },
      { ...DEFAULT_HUB_LIMITS, maxMessageBytes: first + 63 },
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
  it('is answered with the events as the store reads them, over a WebSocket and over long-polling', async () => {
    const hub = await setup({ store: await createSqliteStore({ path: ':memory:' }) });
    const a = await hub.client('alice', 'client-a');
    const polling = await connectClient(hub.url, { token: await signToken('bob') }, { polling: true });
    scope.defer(() => polling.disconnect());
    await hello(polling, 'client-b');
    const sent = Array.from({ length: 12 }, (_, i) =>
      makeEvent('client-a', i + 1, {
        stream: streams[i % streams.length]!,
        data: { text: `ü🙂 "${i}" \\ \u2028` },
      }),
    );
    await push(a.socket, sent);
    const read = await hub.store.read({ from: 2, limit: 5 });
    // The packet's text is made for long-polling only: a WebSocket takes its frame as it is.
    const texts = vi.spyOn(EncodedPacket.prototype, 'toString');
    scope.defer(() => texts.mockRestore());
    for (const [socket, made] of [
      [a.socket, 0],
      [polling, 1],
    ] as const) {
      const page = await pull(socket, 2, 5);
      expect(page).toEqual({ events: read.events, head: 12, until: 7, more: true });
      expect(page.events.map((e) => e.id)).toEqual(sent.slice(2, 7).map((e) => e.id));
      expect(texts).toHaveBeenCalledTimes(made);
    }
    expect(polling.io.engine.transport.name).toBe('polling');
  });
});
