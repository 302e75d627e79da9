/**
 * The critical path shortened (issue 15): the receiver folds the hub's events before its write
 * lands. A device killed in that window (abandoned, never closed) loses nothing: after it opens
 * again and syncs, its projection is the hub's log, folded.
 */
import type { CommittedEvent } from '@eventloom/protocol';
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { firstValueFrom } from 'rxjs';
import { describe, expect, it } from 'vitest';
import {
  createEventloom,
  createSync,
  DexieClientStore,
  type ClientStore,
  type InsertConfirmedResult,
} from '@eventloom/client';
import { TodoAdded, todoList, todoRegistry } from '@eventloom/client/testing';
import { live, syncFixtures, waitFor } from './sync-harness.node.ts';

const { defer, hub: startHub, device: openDevice } = syncFixtures();

/** A device's store that dies at its next write of confirmed events: the write never lands. */
class DyingStore extends DexieClientStore {
  armed = false;
  died = false;

  override insertConfirmed(
    events: readonly CommittedEvent[],
    options?: { readonly until?: number },
  ): Promise<InsertConfirmedResult> {
    if (!this.armed) return super.insertConfirmed(events, options);
    this.died = true;
    return new Promise<never>(() => undefined);
  }
}

// Unique across test files: BroadcastChannel reaches every worker thread of the process.
const NAME = `receiver-${Math.random().toString(36).slice(2, 8)}`;

async function openReceiver(url: string, indexedDB: IDBFactory, store?: ClientStore) {
  const loom = await createEventloom({
    name: NAME,
    // A dead tab neither holds a lock nor talks: the one opened after it is alone.
    tabs: { locks: null, BroadcastChannel: null },
    registry: todoRegistry,
    projections: [todoList],
    storage: store ? { store } : { indexedDB, IDBKeyRange },
  });
  const sync = createSync(loom, {
    url,
    subscriptions: ['*'],
    backoff: { initialMs: 20, maxMs: 300, seed: 3 },
    tabs: { BroadcastChannel: null },
    warn: false,
  });
  return { loom, sync };
}

describe('the receiver folds ahead of its write', () => {
  it('killed after projection$ showed an event, before its write landed: after a restart the projection is the hub log folded', async () => {
    const hub = await startHub();
    const sender = await openDevice(hub);
    const indexedDB = new IDBFactory();
    const store = new DyingStore({ name: NAME, indexedDB: { indexedDB, IDBKeyRange } });
    const first = await openReceiver(hub.url, indexedDB, store);
    // The dead device's loom is abandoned, never closed: its queue waits on the write for good.
    defer(() => first.sync.close());
    await live(first.sync);
    await sender.loom.append('list:1', TodoAdded.create({ id: 'a', title: 'a', tags: [] }));
    await waitFor(first.loom.projection$(todoList), (todos) => todos.has('a'));
    store.armed = true;
    await sender.loom.append('list:1', TodoAdded.create({ id: 'b', title: 'b', tags: [] }));
    // Shown before the write that never lands.
    await waitFor(first.loom.projection$(todoList), (todos) => todos.has('b'));
    expect(store.died).toBe(true);
    await first.sync.close();

    const again = await openReceiver(hub.url, indexedDB);
    defer(
      () => again.sync.close(),
      () => again.loom.close(),
    );
    // What the dead device stored: only what landed.
    expect((await again.loom.readEvents()).map((e) => e.data)).toEqual([{ id: 'a', title: 'a', tags: [] }]);
    await again.sync.flushed();
    await waitFor(again.sync.metrics$, (m) => m.position >= 2);
    const log = await hub.events();
    const folded = new Map(log.map((e) => [(e.data as { id: string }).id, e.data]));
    const todos = await firstValueFrom(again.loom.projection$(todoList));
    expect([...todos.keys()]).toEqual([...folded.keys()]);
    expect((await again.loom.readEvents()).map((e) => e.id)).toEqual(log.map((e) => e.id));
  });
});
