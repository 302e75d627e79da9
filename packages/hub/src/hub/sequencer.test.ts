import { describe, expect, it } from 'vitest';
import type { EventStore, StoreAppend } from '../store/event-store.ts';
import { createMemoryStore } from '../store/memory-store.ts';
import { Sequencer, type SequencerOptions } from './sequencer.ts';
import { makeEvent, until } from './test-kit.ts';

/** `store`, with its appends made by `append`. */
function withAppend(store: EventStore, append: EventStore['append']): EventStore {
  return {
    append,
    read: (q) => store.read(q),
    head: () => store.head(),
    streamVersion: (s) => store.streamVersion(s),
    client: (c) => store.client(c),
    bindClient: (c, p) => store.bindClient(c, p),
    claimClient: (c, p) => store.claimClient(c, p),
    claimNewClient: (c, p) => store.claimNewClient(c, p),
    watchHead: (l) => store.watchHead(l),
    hubId: () => store.hubId(),
    close: () => store.close(),
  };
}

async function setup(options: Partial<SequencerOptions> = {}, poison?: string) {
  const store = await createMemoryStore();
  const transactions: number[] = [];
  // The memory store, counting transactions (and failing any that holds the poisoned event).
  const counting = withAppend(store, (batch) => {
    transactions.push(batch.length);
    if (poison !== undefined && batch.some((b) => b.event.id === poison)) {
      return Promise.reject(new Error('poisoned'));
    }
    return store.append(batch);
  });
  const committed: number[] = [];
  const sequencer = new Sequencer(counting, {
    maxTransactionEvents: 5000,
    gapTimeoutMs: 5000,
    maxHeldPerClient: 10,
    onCommitted: (head) => committed.push(head),
    onStoreError: () => undefined,
    ...options,
  });
  return { store, sequencer, transactions, committed };
}

const item = (clientId: string, seq: number): StoreAppend => ({ event: makeEvent(clientId, seq) });

/** A sequencer on a memory store whose commits finish only when the test releases them. */
async function slowSetup(options: Partial<SequencerOptions> = {}) {
  const store = await createMemoryStore();
  const calls: { size: number; release: () => void }[] = [];
  // A store whose commits finish only when the test says so.
  const slow = withAppend(
    store,
    (batch) =>
      new Promise((resolve, reject) => {
        calls.push({
          size: batch.length,
          release: () => void store.append(batch).then(resolve, reject),
        });
      }),
  );
  const sequencer = new Sequencer(slow, {
    maxTransactionEvents: 5000,
    gapTimeoutMs: 5000,
    maxHeldPerClient: 10,
    onCommitted: () => undefined,
    onStoreError: () => undefined,
    ...options,
  });
  return { sequencer, calls };
}

describe('Sequencer', () => {
  it('commits pushes queued together in one transaction, each answered with its own results', async () => {
    const { sequencer, transactions, committed } = await setup();
    const [a, b, c] = await Promise.all([
      sequencer.submit([item('a', 1), item('a', 2)]),
      sequencer.submit([item('b', 1)]),
      sequencer.submit([item('c', 1), item('c', 2), item('c', 3)]),
    ]);
    expect(transactions).toEqual([6]);
    expect(a!.map((r) => r.status === 'ok' && r.position)).toEqual([1, 2]);
    expect(b!.map((r) => r.status === 'ok' && r.position)).toEqual([3]);
    expect(c!.map((r) => r.status === 'ok' && r.position)).toEqual([4, 5, 6]);
    expect(committed).toEqual([6]);
  });

  it('never lets a transaction grow past its bound', async () => {
    const { sequencer, transactions } = await setup({ maxTransactionEvents: 3 });
    await Promise.all([1, 2, 3, 4].map((n) => sequencer.submit([item(`x${n}`, 1), item(`x${n}`, 2)])));
    expect(transactions).toEqual([2, 2, 2, 2]);
  });

  it('hands the store a second transaction while the first commits only when it is full', async () => {
    const { sequencer, calls } = await slowSetup({ maxTransactionEvents: 2 });
    const first = sequencer.submit([item('a', 1), item('a', 2)]);
    await until(() => calls.length === 1);
    const partial = sequencer.submit([item('b', 1)]);
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(calls.map((c) => c.size)).toEqual([2]);
    const full = sequencer.submit([item('a', 3)]);
    await until(() => calls.length === 2);
    expect(calls.map((c) => c.size)).toEqual([2, 2]);
    const third = sequencer.submit([item('c', 1)]);
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(calls).toHaveLength(2);
    calls[0]!.release();
    calls[1]!.release();
    await until(() => calls.length === 3);
    calls[2]!.release();
    const positions = (await Promise.all([first, partial, full, third])).map((rs) =>
      rs.map((r) => r.status === 'ok' && r.position),
    );
    expect(positions).toEqual([[1, 2], [3], [4], [5]]);
  });

  it('hands the store the next transaction before it answers the pushes of the one that committed', async () => {
    const { sequencer, calls } = await slowSetup();
    const first = sequencer.submit([item('a', 1)]);
    await until(() => calls.length === 1);
    const second = sequencer.submit([item('b', 1)]);
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(calls).toHaveLength(1);
    // What the store had been handed when the first push heard its answer.
    const handedAtAnswer = first.then(() => calls.length);
    calls[0]!.release();
    expect(await handedAtAnswer).toBe(2);
    calls[1]!.release();
    const positions = (await Promise.all([first, second])).map((rs) =>
      rs.map((r) => r.status === 'ok' && r.position),
    );
    expect(positions).toEqual([[1], [2]]);
  });

  it('isolates a group that makes the store fail: only its events are answered internal', async () => {
    const bad = item('bad', 1);
    const { sequencer, store } = await setup({}, bad.event.id);
    const [good, poisoned] = await Promise.all([
      sequencer.submit([item('good', 1)]),
      sequencer.submit([bad]),
    ]);
    expect(good![0]!.status).toBe('ok');
    expect(poisoned![0]).toMatchObject({ status: 'rejected', code: 'internal' });
    expect(await store.head()).toBe(1);
  });

  it('holds events past a gap and commits them, in order, once it is filled', async () => {
    const { sequencer, store } = await setup();
    const late = sequencer.submit([item('a', 3)]);
    const middle = sequencer.submit([item('a', 2)]);
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(sequencer.heldCount).toBe(2);
    const first = await sequencer.submit([item('a', 1)]);
    expect(
      [first[0], (await middle)[0], (await late)[0]].map((r) => r!.status === 'ok' && r!.position),
    ).toEqual([1, 2, 3]);
    expect(sequencer.heldCount).toBe(0);
    expect((await store.client('a')).lastClientSeq).toBe(3);
  });

  it('answers sequence-gap past the per-client bound, and unavailable to what it holds when closed', async () => {
    const { sequencer } = await setup({ maxHeldPerClient: 2 });
    const held = [sequencer.submit([item('a', 5)]), sequencer.submit([item('a', 6)])];
    const over = await sequencer.submit([item('a', 7)]);
    expect(over[0]).toMatchObject({ status: 'rejected', code: 'sequence-gap' });
    await sequencer.close();
    for (const p of held) expect((await p)[0]).toMatchObject({ status: 'rejected', code: 'unavailable' });
    expect((await sequencer.submit([item('b', 1)]))[0]).toMatchObject({
      status: 'rejected',
      code: 'unavailable',
    });
  });

  it("fences a superseded session's held events as soon as a newer session pushes, freeing its room", async () => {
    const { store, sequencer } = await setup({ maxHeldPerClient: 2 });
    const old = await store.claimNewClient('a', 'alice');
    if (old.status !== 'claimed') throw new Error(old.status);
    const pushed = (seq: number, epoch: number): StoreAppend => ({ ...item('a', seq), epoch });
    const leftHeld = [sequencer.submit([pushed(5, old.epoch)]), sequencer.submit([pushed(6, old.epoch)])];
    await until(() => sequencer.heldCount === 2);
    const claim = await store.claimClient('a', 'alice');
    // The new session's own out-of-order push is held, not refused for the old session's events.
    const early = sequencer.submit([pushed(3, claim.epoch)]);
    for (const p of leftHeld) expect((await p)[0]).toMatchObject({ status: 'fenced', epoch: claim.epoch });
    await until(() => sequencer.heldCount === 1);
    const rest = await sequencer.submit([pushed(1, claim.epoch), pushed(2, claim.epoch)]);
    expect(rest.map((r) => r.status)).toEqual(['ok', 'ok']);
    expect((await early)[0]).toMatchObject({ status: 'ok', position: 3 });
  });

  it("fences a superseded session's held events when one of its pushes comes back fenced", async () => {
    const { store, sequencer } = await setup({ maxHeldPerClient: 2 });
    const old = await store.claimNewClient('a', 'alice');
    if (old.status !== 'claimed') throw new Error(old.status);
    const pushed = (seq: number, epoch: number): StoreAppend => ({ ...item('a', seq), epoch });
    const leftHeld = sequencer.submit([pushed(5, old.epoch)]);
    await until(() => sequencer.heldCount === 1);
    const claim = await store.claimClient('a', 'alice');
    expect((await sequencer.submit([pushed(1, old.epoch)]))[0]).toMatchObject({ status: 'fenced' });
    expect((await leftHeld)[0]).toMatchObject({ status: 'fenced', epoch: claim.epoch });
    expect(sequencer.heldCount).toBe(0);
  });
});
