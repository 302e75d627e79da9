import type { ConfirmedEvent } from '@eventloom/core';
import { describe, expect, it } from 'vitest';
import { events, pushes } from '../store/event-store-contract-fixtures.ts';
import type { EventStore, StoreReadQuery } from '../store/event-store.ts';
import { createMemoryStore } from '../store/memory-store.ts';
import { hubEventFeed } from './hub-event-feed.ts';

/** A memory log of `count` events whose reads are recorded (`from` of each) and can be made to fail. */
async function log(count: number) {
  const store = await createMemoryStore();
  await store.append(pushes(events('c1', 1, count)));
  const reads: number[] = [];
  let failAt: number | undefined;
  const counted: EventStore = Object.assign(Object.create(store) as EventStore, {
    read: (query: StoreReadQuery) => {
      reads.push(query.from);
      if (query.from === failAt) return Promise.reject(new Error(`read after ${query.from} failed`));
      return store.read(query);
    },
  });
  return {
    store: counted,
    reads,
    failAfter: (from: number) => {
      failAt = from;
    },
  };
}

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

  it('drops the read ahead when the reader returns', async () => {
    const { store } = await log(4);
    const pages = hubEventFeed({ store, onCommit: noCommits, pageSize: 2 }).read(0)[Symbol.asyncIterator]();
    expect(positions((await pages.next()).value)).toEqual([1, 2]);
    await pages.return!();
    expect(await pages.next()).toEqual({ done: true, value: undefined });
  });
});
