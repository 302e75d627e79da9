/**
 * The receiver folds the hub's events before their write lands (issue 15): `projection$` shows
 * them at once; a write that fails takes the view back to what the store holds.
 */
import type { CommittedEvent } from '@eventloom/protocol';
import { sampleCommitted } from '@eventloom/protocol/testing';
import { firstValueFrom } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { InsertConfirmedResult } from './client-store.ts';
import { ClientError, ClientErrorCode } from './client-error.ts';
import { createEventloom } from './eventloom.ts';
import { MemoryClientStore } from './memory-client-store.ts';
import { syncPortOf } from './sync-port-access.ts';
import { TodoAdded, todoCount, todoRegistry } from './testing/todo-model.ts';

/** A memory store whose writes of confirmed events wait for the test to let them land, or fail. */
class HeldStore extends MemoryClientStore {
  held: { release: () => void; fail: (error: unknown) => void } | undefined;
  writes = 0;

  override async insertConfirmed(
    events: readonly CommittedEvent[],
    options?: { readonly until?: number },
  ): Promise<InsertConfirmedResult> {
    this.writes++;
    await new Promise<void>((release, fail) => (this.held = { release, fail }));
    return super.insertConfirmed(events, options);
  }
}

const added = (position: number): CommittedEvent => ({
  ...sampleCommitted({ position, clientId: 'other' }),
  type: 'todo.added',
  data: { id: `t${position}`, title: 't', tags: [] },
});

let opened = 0;
async function open() {
  const store = new HeldStore({ name: `fold-ahead-${++opened}`, databases: new Map() });
  const loom = await createEventloom({
    name: `fold-ahead-${opened}`,
    registry: todoRegistry,
    storage: { store },
  });
  const counts: number[] = [];
  const subscription = loom.projection$(todoCount).subscribe((n) => counts.push(n));
  await firstValueFrom(loom.projection$(todoCount));
  const close = async () => {
    subscription.unsubscribe();
    await loom.close();
  };
  return { store, loom, counts, close };
}

async function written(store: HeldStore, count: number): Promise<void> {
  while (store.writes < count || store.held === undefined) await new Promise((r) => setTimeout(r, 1));
}

describe('folding confirmed events ahead of their write', () => {
  it('shows the events in projection$ while their write is in flight, and keeps them once it lands', async () => {
    const { store, loom, counts, close } = await open();
    const inserting = syncPortOf(loom).insertConfirmed([added(1), added(2)], { from: 0 });
    await written(store, 1);
    expect(counts.at(-1)).toBe(2);
    store.held!.release();
    expect(await inserting).toEqual({ inserted: 2, position: 2 });
    expect(counts).toEqual([0, 2]);
    expect((await loom.readEvents()).map((e) => e.position)).toEqual([1, 2]);
    await close();
  });

  it('folds them before insertConfirmed returns on an idle client, and after the task running on a busy one', async () => {
    const { store, loom, counts, close } = await open();
    // What open() queued has settled: the client is idle.
    await new Promise((resolve) => setTimeout(resolve, 0));
    const port = syncPortOf(loom);
    const first = port.insertConfirmed([added(1)], { from: 0 });
    expect(counts).toEqual([0, 1]);
    // Its write is held: the next one waits for that task, then folds ahead of its own write.
    const second = port.insertConfirmed([added(2)], { from: 1 });
    expect(counts).toEqual([0, 1]);
    await written(store, 1);
    store.held!.release();
    await first;
    await written(store, 2);
    expect(counts).toEqual([0, 1, 2]);
    store.held!.release();
    expect(await second).toEqual({ inserted: 1, position: 2 });
    await close();
  });

  it('goes back to what the store holds when the write fails, and folds the events when they come again', async () => {
    const { store, loom, counts, close } = await open();
    const first = syncPortOf(loom).insertConfirmed([added(1)], { from: 0 });
    void first.catch(() => undefined);
    await written(store, 1);
    expect(counts.at(-1)).toBe(1);
    store.held!.fail(new ClientError(ClientErrorCode.quotaExceeded, 'full'));
    await expect(first).rejects.toMatchObject({ code: 'quota-exceeded' });
    expect(counts.at(-1)).toBe(0);
    const again = syncPortOf(loom).insertConfirmed([added(1), added(2)], { from: 0 });
    await written(store, 2);
    store.held!.release();
    expect(await again).toEqual({ inserted: 2, position: 2 });
    expect(counts.at(-1)).toBe(2);
    expect((await loom.readEvents()).map((e) => e.position)).toEqual([1, 2]);
    await close();
  });

  it('waits for the write when the log may not cover what comes before the events', async () => {
    const { store, loom, counts, close } = await open();
    // `from` above the view's position: events 2 and 3 may be missing; no `from`: nothing known.
    for (const [events, options] of [
      [[added(4)], { from: 3 }],
      [[added(5)], {}],
    ] as const) {
      const before = counts.at(-1);
      const writes = store.writes;
      const inserting = syncPortOf(loom).insertConfirmed(events, options);
      await written(store, writes + 1);
      expect(counts.at(-1)).toBe(before);
      store.held!.release();
      store.held = undefined;
      await inserting;
    }
    expect(counts.at(-1)).toBe(2);
    await close();
  });

  it('queues an append made by a projection$ subscriber while a live insert folds, behind that insert', async () => {
    const { store, loom, counts, close } = await open();
    await new Promise((resolve) => setTimeout(resolve, 0));
    // Tasks that touch the store: one at a time, so never two in flight.
    let inFlight = 0;
    let most = 0;
    const counted =
      <A extends unknown[], R>(write: (...args: A) => Promise<R>) =>
      async (...args: A): Promise<R> => {
        most = Math.max(most, ++inFlight);
        try {
          return await write(...args);
        } finally {
          inFlight--;
        }
      };
    store.appendPending = counted(store.appendPending.bind(store));
    store.insertConfirmed = counted(store.insertConfirmed.bind(store));
    // A reaction: the first hub event makes this client append one of its own.
    let appended: Promise<unknown> | undefined;
    const reaction = loom.projection$(todoCount).subscribe((n) => {
      if (n === 1 && appended === undefined)
        appended = loom.append('list:1', TodoAdded.create({ id: 'mine', title: 'mine', tags: [] }));
    });
    // The reaction's subscription has its first state, and the client is idle again.
    await new Promise((resolve) => setTimeout(resolve, 0));
    const inserting = syncPortOf(loom).insertConfirmed([added(1)], { from: 0 });
    expect(appended).toBeDefined();
    await written(store, 1);
    // The insert's write is held: the append waits for it.
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setTimeout(resolve, 0));
    expect(inFlight).toBe(1);
    expect(counts).toEqual([0, 1]);
    store.held!.release();
    await inserting;
    await appended;
    expect(most).toBe(1);
    expect(counts).toEqual([0, 1, 2]);
    expect(await firstValueFrom(loom.projection$(todoCount))).toBe(2);
    expect((await loom.readEvents()).map((e) => e.position)).toEqual([1]);
    expect((await store.readPending()).map((row) => row.event.data)).toEqual([
      { id: 'mine', title: 'mine', tags: [] },
    ]);
    reaction.unsubscribe();
    await close();
  });
});
