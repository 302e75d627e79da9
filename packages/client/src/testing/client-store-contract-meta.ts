import { sampleCommitted } from '@eventloom/protocol/testing';
import { expect, it } from 'vitest';
import { build, hlcOf, type FreshStore } from './client-store-contract-fixtures.ts';

/** Opening: the client id and the counters kept across opens. */
export function openContract(fresh: FreshStore): void {
  it('makes a client id on first open and keeps it, with its counters, on reopen', async () => {
    const { store, meta, name } = await fresh();
    expect(meta).toEqual({
      clientId: expect.stringMatching(/^[A-Za-z0-9_-]+$/),
      clientSeq: 0,
      hlc: undefined,
      position: 0,
      epoch: 0,
      history: 0,
      subscriptions: undefined,
      hubId: undefined,
    });
    await store.appendPending((m) => build(m, 2));
    await store.insertConfirmed([sampleCommitted({ position: 1 })]);
    await store.writeSyncState({ subscriptions: ['list:*'], hubId: 'hub-1' });
    store.close();
    const again = await fresh(name);
    expect(again.meta).toEqual({
      ...meta,
      clientSeq: 2,
      hlc: hlcOf(2),
      position: 1,
      subscriptions: ['list:*'],
      hubId: 'hub-1',
    });
    const other = await fresh();
    expect(other.meta.clientId).not.toBe(meta.clientId);
  });
}

/** Snapshots by id, and the store after close. */
export function snapshotsAndCloseContract(fresh: FreshStore): void {
  it('stores snapshots by id, Maps included, and drops older versions of the same projection', async () => {
    const { store } = await fresh();
    const state = new Map([['list:1', { open: 2, tags: ['a'] }]]);
    await store.putSnapshots([{ id: 'p@1', name: 'p', version: 1, position: 10, state }]);
    expect(await store.readSnapshot('p@1')).toEqual({
      id: 'p@1',
      name: 'p',
      version: 1,
      position: 10,
      state,
    });
    await store.putSnapshots([{ id: 'q@1', name: 'q', version: 1, position: 3, state: 7 }]);
    await store.putSnapshots([{ id: 'p@2', name: 'p', version: 2, position: 12, state: [1] }]);
    expect(await store.readSnapshot('p@1')).toBeUndefined();
    expect(await store.readSnapshot('p@2')).toMatchObject({ position: 12, state: [1] });
    expect(await store.readSnapshot('q@1')).toMatchObject({ position: 3, state: 7 });
    await store.putSnapshots([{ id: 'p@2', name: 'p', version: 2, position: 20, state: [2] }]);
    expect(await store.readSnapshot('p@2')).toMatchObject({ position: 20, state: [2] });
  });

  it('fails with database-closed after close', async () => {
    const { store } = await fresh();
    store.close();
    await expect(store.readMeta()).rejects.toMatchObject({ name: 'ClientError', code: 'database-closed' });
    await expect(store.appendPending((m) => build(m, 1))).rejects.toMatchObject({
      code: 'database-closed',
    });
  });
}
