import { describe, expect, it } from 'vitest';
import { CoreErrorCode } from '../core-error.ts';
import { describeReactionStore } from './testing/describe-reaction-store.ts';
import { createMemoryReactionStore, type MemoryReactionStore } from './memory-reaction-store.ts';

const storages = new Map<string, MemoryReactionStore>();
describeReactionStore('memory', (name) => {
  const existing = storages.get(name);
  const store = existing === undefined ? createMemoryReactionStore() : existing.reopen();
  storages.set(name, store);
  return store;
});

describe('createMemoryReactionStore', () => {
  it('fails every transaction of a closed handle, in flight ones included, and keeps the data for reopen', async () => {
    const store = createMemoryReactionStore();
    await store.transaction((tx) => tx.putCheckpoint('h', { position: 1, recentIds: [] }));
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const inFlight = store.transaction(async (tx) => {
      await tx.putCheckpoint('h', { position: 2, recentIds: [] });
      await gate;
    });
    store.close();
    release();
    await expect(inFlight).rejects.toMatchObject({ code: CoreErrorCode.storeClosed });
    await expect(store.transaction((tx) => tx.getCheckpoint('h'))).rejects.toMatchObject({
      code: CoreErrorCode.storeClosed,
    });
    expect(store.closed).toBe(true);
    const again = store.reopen();
    expect(await again.transaction((tx) => tx.getCheckpoint('h'))).toEqual({ position: 1, recentIds: [] });
  });

  it('refuses values JSON cannot hold', async () => {
    const store = createMemoryReactionStore();
    await expect(
      store.transaction((tx) =>
        tx.putSaga({
          id: 's/1',
          saga: 's',
          key: '1',
          status: 'active',
          state: { seen: new Set([1]) },
          version: 1,
          steps: [],
          compensated: [],
          stream: 'x',
          trace: { correlationId: 'c', causationId: 'c' },
          startedAt: '',
          updatedAt: '',
        }),
      ),
    ).rejects.toMatchObject({
      code: CoreErrorCode.invalid,
      message: expect.stringContaining('value.state.seen'),
    });
  });
});
