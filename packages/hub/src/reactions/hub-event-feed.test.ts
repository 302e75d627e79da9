import type { ConfirmedEvent } from '@eventloom/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { events, pushes } from '../store/event-store-contract-fixtures.ts';
import type { EventStore, StoreReadQuery } from '../store/event-store.ts';
import { createMemoryStore } from '../store/memory-store.ts';
import { hubEventFeed } from './hub-event-feed.ts';

/**
 * A memory log of `count` events whose reads are recorded (`from` of each) and can be made to fail.
 * `fetched` counts the events reads returned, and those a read in flight may return (its limit).
 */
async function log(count: number) {
  const store = await createMemoryStore();
  await store.append(pushes(events('c1', 1, count)));
  const reads: number[] = [];
  let failAt: number | undefined;
  let returned = 0;
  let inFlight = 0;
  const counted: EventStore = Object.assign(Object.create(store) as EventStore, {
    read: async (query: StoreReadQuery) => {
      reads.push(query.from);
      if (query.from === failAt) throw new Error(`read after ${query.from} failed`);
      inFlight += query.limit;
      try {
        const page = await store.read(query);
        returned += page.events.length;
        return page;
      } finally {
        inFlight -= query.limit;
      }
    },
  });
  let appended = count;
  return {
    store: counted,
    reads,
    failAfter: (from: number) => {
      failAt = from;
    },
    fetched: () => returned + inFlight,
    /** Appends `n` events; the new head. */
    append: async (n: number) => {
      await store.append(pushes(events('c1', appended + 1, n)));
      return (appended += n);
    },
  };
}

/** Lets the feed's read ahead, if any, run to its end. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

const positions = (page: readonly ConfirmedEvent[] | undefined) => page?.map((e) => e.position);
const noCommits = () => () => undefined;

describe('hubEventFeed', () => {
  it('reads the next page while the reader handles this one, and not past the head', async () => {
    const { store, reads } = await log(5);
    const pages = hubEventFeed({ store, onCommit: noCommits, pageSize: 2 }).read(0)[Symbol.asyncIterator]();
    expect(positions((await pages.next()).value)).toEqual([1, 2]);
    expect(reads).toEqual([0, 2]);
    expect(positions((await pages.next()).value)).toEqual([3, 4]);
    expect(reads).toEqual([0, 2, 4]);
    expect(positions((await pages.next()).value)).toEqual([5]);
    // The head (5) was reached: the next page waits for a commit, not read ahead.
    expect(reads).toEqual([0, 2, 4]);
    await pages.return!();
    expect(await pages.next()).toEqual({ done: true, value: undefined });
  });

  it('fails the next call when the read ahead failed, and the reader starts over from where it was', async () => {
    const { store, reads, failAfter } = await log(4);
    failAfter(2);
    const feed = hubEventFeed({ store, onCommit: noCommits, pageSize: 2 });
    const pages = feed.read(0)[Symbol.asyncIterator]();
    expect(positions((await pages.next()).value)).toEqual([1, 2]);
    await expect(pages.next()).rejects.toThrow('read after 2 failed');
    await pages.return!();
    failAfter(-1);
    const again = feed.read(2)[Symbol.asyncIterator]();
    expect(positions((await again.next()).value)).toEqual([3, 4]);
    expect(reads).toEqual([0, 2, 2]);
    await again.return!();
  });

  it('holds at most two pages while the reader catches up, and only the page it handles at the head', async () => {
    const { store, reads, fetched, append } = await log(7);
    let announce: (head: number) => void = () => undefined;
    const onCommit = (listener: (head: number) => void) => {
      announce = listener;
      return () => undefined;
    };
    const pages = hubEventFeed({ store, onCommit, pageSize: 3 }).read(0)[Symbol.asyncIterator]();
    let handed = 0;
    /** The events the reader and the feed hold while the reader handles `page`. */
    const held = async (page: readonly ConfirmedEvent[]) => {
      await settle();
      const holding = fetched() - handed;
      handed += page.length;
      return holding;
    };
    const first = (await pages.next()).value as readonly ConfirmedEvent[];
    expect(positions(first)).toEqual([1, 2, 3]);
    expect(await held(first)).toBe(6);
    const second = (await pages.next()).value as readonly ConfirmedEvent[];
    expect(positions(second)).toEqual([4, 5, 6]);
    expect(await held(second)).toBe(4);
    // Commits land after the read of [7] saw the head at 7: that page reached its head.
    announce(await append(2));
    const third = (await pages.next()).value as readonly ConfirmedEvent[];
    expect(positions(third)).toEqual([7]);
    expect(await held(third)).toBe(1);
    expect(reads).toEqual([0, 3, 6]);
    expect(positions((await pages.next()).value)).toEqual([8, 9]);
    expect(reads).toEqual([0, 3, 6, 7]);
    await pages.return!();
  });

  it('never holds more than two pages, and reads every event once, in order', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 30 }),
        fc.integer({ min: 1, max: 8 }),
        async (count, pageSize) => {
          const { store, fetched } = await log(count);
          const pages = hubEventFeed({ store, onCommit: noCommits, pageSize })
            .read(0)
            [Symbol.asyncIterator]();
          const seen: number[] = [];
          while (seen.length < count) {
            const page = (await pages.next()).value as readonly ConfirmedEvent[];
            await settle();
            expect(fetched() - seen.length).toBeLessThanOrEqual(2 * pageSize);
            // At the head (the last page), only the page itself.
            if (seen.length + page.length === count) expect(fetched() - seen.length).toBe(page.length);
            seen.push(...positions(page)!);
          }
          expect(seen).toEqual(Array.from({ length: count }, (_, i) => i + 1));
          await pages.return!();
        },
      ),
      { numRuns: 60 },
    );
  });

  it('drops the read ahead when the reader returns', async () => {
    const { store } = await log(4);
    const pages = hubEventFeed({ store, onCommit: noCommits, pageSize: 2 }).read(0)[Symbol.asyncIterator]();
    expect(positions((await pages.next()).value)).toEqual([1, 2]);
    await pages.return!();
    expect(await pages.next()).toEqual({ done: true, value: undefined });
  });
});
