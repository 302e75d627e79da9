import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ConfirmedEvent } from './confirmed-event.ts';
import { defineHandler, type Handler } from './define-handler.ts';
import type { EventFeed } from './event-feed.ts';
import { createMemoryReactionStore, type MemoryReactionStore } from './memory-reaction-store.ts';
import type { OutboxMessage } from './outbox-message.ts';
import type { ReactionStore } from './reaction-store.ts';
import { createReactionRunner } from './reaction-runner.ts';
import { createFakeScheduler } from './testing/fake-scheduler.ts';
import { createMemoryEventLog } from './testing/memory-event-log.ts';

/** How one runtime of the handlers ends. */
type Ending =
  | { readonly kind: 'runs-out' }
  /** Stopped on purpose once settled up to a fraction of the log. */
  | { readonly kind: 'stop'; readonly at: number }
  /** Killed inside the nth handler call: the store handle and the feed die on the spot. */
  | { readonly kind: 'crash'; readonly call: number };

const endingArb: fc.Arbitrary<Ending> = fc.oneof(
  fc.constant<Ending>({ kind: 'runs-out' }),
  fc.double({ min: 0, max: 1, noNaN: true }).map((at): Ending => ({ kind: 'stop', at })),
  fc.integer({ min: 1, max: 30 }).map((call): Ending => ({ kind: 'crash', call })),
);

const scenarioArb = fc.record({
  types: fc.array(fc.constantFrom('a', 'b', 'c'), { minLength: 1, maxLength: 40 }),
  /** Seeds the feed's paging and re-deliveries. */
  seed: fc.integer({ min: 1, max: 2 ** 30 }),
  /** Chance that a page repeats earlier events. */
  redeliver: fc.double({ min: 0, max: 0.8, noNaN: true }),
  checkpointEvery: fc.constantFrom(1, 3, 100),
  /** 3: just what the moved re-deliveries need, so that positions do the rest of the dedupe. */
  dedupeWindow: fc.constantFrom(3, 256),
  /** Positions whose first attempt fails (they succeed on retry). */
  flaky: fc.array(fc.integer({ min: 1, max: 40 }), { maxLength: 5 }),
  runtimes: fc.array(endingArb, { maxLength: 5 }),
});

/** A small deterministic random source. */
function lcg(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1_103_515_245 + 12_345) % 2_147_483_648;
    return s / 2_147_483_648;
  };
}

/**
 * A feed that pages the log at random and, at random, delivers events again: ones it delivered
 * already (under their position, anywhere in a page) and, sometimes, one of the last few under a
 * new, higher position.
 */
function unreliableFeed(
  events: readonly ConfirmedEvent[],
  random: () => number,
  redeliver: number,
): EventFeed & { kill(): void } {
  let killed = false;
  return {
    kill: () => {
      killed = true;
    },
    async *read(after) {
      let cursor = after;
      let extra = 0;
      while (!killed && cursor < events.length) {
        const size = 1 + Math.floor(random() * 6);
        const page: ConfirmedEvent[] = events.slice(cursor, cursor + size);
        if (random() < redeliver && cursor > 0) {
          // Some already delivered again (as after a reconnect), anywhere in the page.
          const from = Math.floor(random() * cursor);
          page.splice(
            Math.floor(random() * (page.length + 1)),
            0,
            ...events.slice(from, Math.min(from + 3, cursor)),
          );
        }
        cursor += size;
        yield page;
      }
      if (!killed && after < events.length && random() < redeliver) {
        // The last events again under positions they never had (a rebuilt log): only the dedupe
        // window knows them.
        yield events.slice(-3).map((e) => ({ ...e, position: 1_000 + ++extra }));
      }
    },
  };
}

/** A store that records the outbox messages of every committed transaction, duplicates included. */
function recording(store: ReactionStore, committed: OutboxMessage[]): ReactionStore {
  return {
    watch: (listener) => store.watch(listener),
    transaction: async (fn) => {
      const local: OutboxMessage[] = [];
      const result = await store.transaction((tx) =>
        fn(
          new Proxy(tx, {
            get(target, prop) {
              if (prop === 'enqueue') {
                return (messages: readonly OutboxMessage[]) => {
                  local.push(...messages);
                  return target.enqueue(messages);
                };
              }
              const value: unknown = Reflect.get(target, prop);
              return typeof value === 'function'
                ? (value as (...a: unknown[]) => unknown).bind(target)
                : value;
            },
          }),
        ),
      );
      committed.push(...local);
      return result;
    },
  };
}

describe('handler idempotence', () => {
  it('handles each event exactly once per handler, in position order, whatever the re-deliveries and restarts', async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb, async (scenario) => {
        const log = createMemoryEventLog();
        const events = log.append(
          ...scenario.types.map((type, i) => ({ type, data: { n: i + 1 }, stream: 's' })),
        );
        const random = lcg(scenario.seed);
        const committed: OutboxMessage[] = [];
        const calls: { handler: string; position: number; runtime: number }[] = [];
        const failedOnce = new Set<string>();
        let storage: MemoryReactionStore = createMemoryReactionStore();
        let runtime = 0;
        let onCall: () => void = () => undefined;

        const handler = (name: string, on: readonly string[], sync: boolean): Handler =>
          defineHandler({
            name,
            on,
            checkpointEvery: scenario.checkpointEvery,
            retry: { attempts: 3, backoff: { initialMs: 0, factor: 1, maxMs: 0 } },
            handle: (e, ctx) => {
              onCall();
              calls.push({ handler: name, position: e.position, runtime });
              const key = `${name}/${e.id}`;
              if (scenario.flaky.includes(e.position) && !failedOnce.has(key)) {
                failedOnce.add(key);
                throw new Error('transient');
              }
              ctx.emit({ type: 'seen', data: { handler: name, position: e.position } });
              return sync ? undefined : Promise.resolve();
            },
          });
        const handlers = [handler('sync-a', ['a'], true), handler('async-ab', ['a', 'b'], false)];

        const run = async (ending: Ending) => {
          runtime++;
          const store = storage.reopen();
          storage = store;
          const feed = unreliableFeed(events, random, scenario.redeliver);
          const scheduler = createFakeScheduler();
          const runner = createReactionRunner({
            store: recording(store, committed),
            feed,
            scheduler,
            handlers,
            dedupeWindow: scenario.dedupeWindow,
          });
          let n = 0;
          onCall = () => {
            if (ending.kind === 'crash' && ++n === ending.call) {
              store.close();
              feed.kill();
            }
          };
          // Backoffs of 0 ms: fire them as they come.
          let draining = true;
          const drain = (async () => {
            while (draining) await scheduler.next();
          })();
          await runner.start().catch(() => undefined);
          if (ending.kind === 'stop') {
            await runner.settled(Math.floor(ending.at * events.length)).catch(() => undefined);
          } else {
            await runner.settled(events.length).catch(() => undefined);
          }
          await runner.stop();
          draining = false;
          scheduler.schedule(0, () => undefined);
          await drain;
        };

        for (const ending of scenario.runtimes) await run(ending);
        await run({ kind: 'runs-out' });

        for (const { name, matches } of handlers) {
          const expected = events.filter((e) => matches(e)).map((e) => e.position);
          const emitted = committed
            .filter((m) => m.source === name)
            .map((m) => (m.draft.data as { position: number }).position);
          expect(emitted).toEqual(expected);
          // Within each runtime, calls go in position order (retries repeat the same one).
          for (let r = 1; r <= runtime; r++) {
            const positions = calls
              .filter((c) => c.handler === name && c.runtime === r)
              .map((c) => c.position);
            for (let i = 1; i < positions.length; i++)
              expect(positions[i]!).toBeGreaterThanOrEqual(positions[i - 1]!);
          }
          // With no crash, even the effects outside the store happen once (retries aside).
          if (!scenario.runtimes.some((e) => e.kind === 'crash')) {
            const succeeded = new Map<number, number>();
            for (const c of calls.filter((c) => c.handler === name))
              succeeded.set(c.position, (succeeded.get(c.position) ?? 0) + 1);
            for (const position of expected) {
              const flaky = scenario.flaky.includes(position) ? 1 : 0;
              expect(succeeded.get(position)).toBe(1 + flaky);
            }
          }
        }
      }),
      { numRuns: 150 },
    );
  });
});
