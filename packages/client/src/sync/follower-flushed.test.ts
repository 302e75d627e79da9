/**
 * A follower tab without BroadcastChannel answers `flushed()` from the store: as its view reads
 * the store's changes, and, for what those do not show (an ack: the row stays pending until it
 * comes back confirmed), by reading the store again every `tabs.pollMs`, the interval the app
 * chose for that environment. It used the default (1 s) whatever the app chose.
 */
import { firstValueFrom } from 'rxjs';
import { afterEach, expect, it, vi } from 'vitest';
import { createEventloom } from '../eventloom.ts';
import { MemoryClientStore, type MemoryDatabase } from '../memory-client-store.ts';
import { syncPortOf } from '../sync-port-access.ts';
import { TodoAdded, todoRegistry } from '../testing/todo-model.ts';
import { createSync } from './create-sync.ts';

afterEach(() => {
  vi.useRealTimers();
});

/** Web Locks that grant the first request (held until released) and keep the others waiting. */
function firstComesLocks(): LockManager {
  let held = false;
  const request = (_name: string, options: LockOptions, grant: () => Promise<void> | undefined) => {
    if (!held) {
      held = true;
      return Promise.resolve(grant());
    }
    return new Promise((_, reject) =>
      options.signal?.addEventListener('abort', () => reject(new Error('aborted'))),
    );
  };
  return { request } as unknown as LockManager;
}

it('checks the store for a follower’s flushed() every tabs.pollMs, not every second', async () => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
  const databases = new Map<string, MemoryDatabase>();
  const name = `follower-flushed-${Math.random().toString(36).slice(2)}`;
  const tabs = { locks: firstComesLocks(), BroadcastChannel: null, pollMs: 50 };
  const open = () =>
    createEventloom({
      name,
      registry: todoRegistry,
      storage: { store: new MemoryClientStore({ name, databases }) },
      tabs,
    });
  const leader = await open();
  const follower = await open();
  const sync = createSync(follower, {
    url: 'ws://127.0.0.1:9',
    subscriptions: ['*'],
    tabs: { BroadcastChannel: null },
    warn: false,
  });
  try {
    expect(await firstValueFrom(follower.leader$)).toBe(false);
    const event = await follower.append('list:1', TodoAdded.create({ id: 'a', title: 'a', tags: [] }));
    let flushed = false;
    const done = sync.flushed().then(() => (flushed = true));
    await vi.advanceTimersByTimeAsync(50);
    expect(flushed).toBe(false);

    // The leader's sync records the hub's ack: the row stays pending (the follower's view sees no
    // change), so only a read of the store answers the follower.
    await syncPortOf(leader).markAcked([{ id: event.id, position: 1, streamVersion: 1 }]);
    await vi.advanceTimersByTimeAsync(50);
    expect(flushed).toBe(true);
    await done;
  } finally {
    await sync.close();
    await follower.close();
    await leader.close();
  }
});
