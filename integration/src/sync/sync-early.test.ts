/**
 * The critical path shortened (issue 15): the sender pushes while its local write is in flight,
 * and the receiver folds the hub's events before its write lands. A device killed in either
 * window (abandoned, never closed) loses nothing and duplicates nothing once it opens again.
 */
import type { CommittedEvent } from '@eventloom/protocol';
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { firstValueFrom } from 'rxjs';
import { describe, expect, it } from 'vitest';
import {
  createEventloom,
  createSync,
  DexieClientStore,
  type AppendPendingOptions,
  type AppendPendingResult,
  type ClientMeta,
  type ClientStore,
  type Eventloom,
  type InsertConfirmedResult,
  type PendingBuild,
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

/** A device's store that dies during its next append, once the rows are stamped: the write never lands. */
class DyingSender extends DexieClientStore {
  armed = false;
  died = false;

  override appendPending(
    build: (meta: ClientMeta) => PendingBuild,
    options: AppendPendingOptions = {},
  ): Promise<AppendPendingResult> {
    if (!this.armed) return super.appendPending(build, options);
    const stamped = options.stamped;
    void super
      .appendPending(build, {
        ...options,
        stamped: (rows) => {
          stamped?.(rows);
          this.died = true;
          // The process is gone: the transaction never commits.
          throw new Error('killed');
        },
      })
      .catch(() => undefined);
    return new Promise<never>(() => undefined);
  }
}

async function openReceiver(url: string, indexedDB: IDBFactory, store?: ClientStore) {
  const loom = await openLoom(indexedDB, store);
  return { loom, sync: connect(loom, url) };
}

async function openLoom(indexedDB: IDBFactory, store?: ClientStore) {
  return createEventloom({
    name: NAME,
    // A dead tab neither holds a lock nor talks: the one opened after it is alone.
    tabs: { locks: null, BroadcastChannel: null },
    registry: todoRegistry,
    projections: [todoList],
    storage: store ? { store } : { indexedDB, IDBKeyRange },
  });
}

function connect(loom: Eventloom, url: string) {
  return createSync(loom, {
    url,
    subscriptions: ['*'],
    backoff: { initialMs: 20, maxMs: 300, seed: 3 },
    tabs: { BroadcastChannel: null },
    warn: false,
  });
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

  it('killed after its push left, before its local write landed: the event is in the log once, and the device goes on above it', async () => {
    const { hub, indexedDB, a, b } = await killAfterPush();
    expect(b).toMatchObject({ clientId: a.clientId, clientSeq: a.clientSeq + 1 });

    const again = await openReceiver(hub.url, indexedDB);
    defer(
      () => again.sync.close(),
      () => again.loom.close(),
    );
    // Nothing of b on the device: it never landed.
    expect((await again.loom.readEvents()).map((e) => e.id)).toEqual([a.id]);
    await waitFor(again.sync.metrics$, (m) => m.position >= 2 && m.state === 'live');
    const c = await again.loom.append('list:1', TodoAdded.create({ id: 'c', title: 'c', tags: [] }));
    expect(c.clientSeq).toBe(b.clientSeq + 1);
    await again.sync.flushed();
    await waitFor(again.sync.metrics$, (m) => m.position >= 3);
    const final = await hub.events();
    expect(final.map((e) => [e.id, e.clientSeq])).toEqual([
      [a.id, a.clientSeq],
      [b.id, b.clientSeq],
      [c.id, c.clientSeq],
    ]);
    expect((await again.loom.readEvents()).map((e) => e.id)).toEqual(final.map((e) => e.id));
    const todos = await firstValueFrom(again.loom.projection$(todoList));
    expect([...todos.keys()]).toEqual(['a', 'b', 'c']);
  });

  it('killed after its push left, before its local write landed, then appending offline: the new event is renumbered past the hub, not refused', async () => {
    const { hub, indexedDB, a, b } = await killAfterPush();

    // Back offline: the next append takes b's seq, which the hub holds for b.
    const loom = await openLoom(indexedDB);
    defer(() => loom.close());
    const c = await loom.append('list:1', TodoAdded.create({ id: 'c', title: 'c', tags: [] }));
    const d = await loom.append('list:1', TodoAdded.create({ id: 'd', title: 'd', tags: [] }));
    expect(c.clientSeq).toBe(b.clientSeq);
    const sync = connect(loom, hub.url);
    defer(() => sync.close());
    await live(sync);
    await sync.flushed();
    await waitFor(sync.metrics$, (m) => m.position >= 4);
    const final = await hub.events();
    // c and d keep their ids and order, under the seqs after b's.
    expect(final.map((e) => [e.id, e.clientSeq])).toEqual([
      [a.id, a.clientSeq],
      [b.id, b.clientSeq],
      [c.id, b.clientSeq + 1],
      [d.id, b.clientSeq + 2],
    ]);
    expect(await loom.readDeadLetters()).toEqual([]);
    expect((await loom.readEvents()).map((e) => e.id)).toEqual(final.map((e) => e.id));
    const next = await loom.append('list:1', TodoAdded.create({ id: 'e', title: 'e', tags: [] }));
    expect(next.clientSeq).toBe(b.clientSeq + 3);
    const todos = await firstValueFrom(loom.projection$(todoList));
    expect([...todos.keys()]).toEqual(['a', 'b', 'c', 'd', 'e']);
  });
});

/**
 * A device that appended `a` (acked), then `b`, and died after `b`'s push left but before `b`'s
 * local write landed: the hub holds both, the device only `a`.
 */
async function killAfterPush() {
  const hub = await startHub();
  const indexedDB = new IDBFactory();
  const store = new DyingSender({ name: NAME, indexedDB: { indexedDB, IDBKeyRange } });
  const first = await openReceiver(hub.url, indexedDB, store);
  defer(() => first.sync.close());
  await live(first.sync);
  const a = await first.loom.append('list:1', TodoAdded.create({ id: 'a', title: 'a', tags: [] }));
  await first.sync.flushed();
  store.armed = true;
  // Never resolves: the device dies with the write in flight.
  void first.loom.append('list:1', TodoAdded.create({ id: 'b', title: 'b', tags: [] }));
  let log: CommittedEvent[] = [];
  while (log.length < 2) {
    await new Promise((r) => setTimeout(r, 20));
    log = await hub.events();
  }
  expect(store.died).toBe(true);
  await first.sync.close();
  return { hub, indexedDB, a, b: log[1]! };
}
