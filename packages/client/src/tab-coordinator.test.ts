import { expect, it } from 'vitest';
import { TabCoordinator, type TabEnvironment } from './tab-coordinator.ts';

const singleTab: TabEnvironment = { locks: null, BroadcastChannel: null };

function open(name: string, environment: TabEnvironment = singleTab): TabCoordinator {
  return new TabCoordinator(
    name,
    environment,
    () => undefined,
    (error) => {
      throw error;
    },
  );
}

it('is alone in single-tab mode only while no other instance of its database is open in this realm', async () => {
  const a = open('alone:1');
  expect(a.alone).toBe(true);
  const b = open('alone:1');
  const other = open('alone:2');
  expect([a.alone, b.alone, other.alone]).toEqual([false, false, true]);
  await b.close();
  expect(a.alone).toBe(true);
  const c = open('alone:1');
  expect([a.alone, c.alone]).toEqual([false, false]);
  await Promise.all([a.close(), c.close(), other.close()]);
  expect(a.alone).toBe(false);
  const d = open('alone:1');
  expect(d.alone).toBe(true);
  await d.close();
});

it('is never alone with a lock manager: other tabs may append at any time', async () => {
  // Grants at once: this instance leads, held until it closes.
  const locks = {
    request: (_name: string, _options: unknown, grant: () => Promise<void> | undefined) =>
      grant() ?? Promise.resolve(),
  } as unknown as LockManager;
  const leader = open('alone:locks', { locks, BroadcastChannel: null, pollMs: 60_000 });
  expect(leader.isLeader).toBe(true);
  expect(leader.alone).toBe(false);
  await leader.close();
});

/**
 * BroadcastChannels whose messages wait until `deliver()` hands them to every other channel of the
 * same name, so that a test picks when each instance hears what. `posted` lists what was posted.
 */
function heldChannels() {
  const open = new Set<HeldChannel>();
  const queued: { from: HeldChannel; data: unknown }[] = [];
  const posted: { name: string; data: unknown }[] = [];
  class HeldChannel {
    onmessage: ((message: MessageEvent) => void) | null = null;
    readonly name: string;
    constructor(name: string) {
      this.name = name;
      open.add(this);
    }
    postMessage(data: unknown): void {
      posted.push({ name: this.name, data });
      queued.push({ from: this, data });
    }
    close(): void {
      open.delete(this);
    }
  }
  const deliver = () => {
    for (const { from, data } of queued.splice(0)) {
      for (const to of open)
        if (to !== from && to.name === from.name) to.onmessage?.({ data } as MessageEvent);
    }
  };
  return { Channel: HeldChannel as unknown as typeof BroadcastChannel, posted, deliver };
}

it('announces a change only once another instance is heard, and misses no change of the time before', async () => {
  const { Channel, posted, deliver } = heldChannels();
  const heard = { a: 0, b: 0 };
  const env: TabEnvironment = { locks: null, BroadcastChannel: Channel };
  const a = new TabCoordinator('heard', env, () => heard.a++, fail);
  deliver();
  // Alone: nothing to tell, no message.
  a.announce();
  expect(posted.filter((m) => m.data !== 'hello')).toEqual([]);

  const b = new TabCoordinator('heard', env, () => heard.b++, fail);
  // `a` writes before the newcomer's hello reaches it: kept to itself.
  a.announce();
  b.announce();
  expect(posted.filter((m) => m.data !== 'hello')).toEqual([]);
  // `a` hears the hello and answers: `b` reads the store after that answer, so it finds a's write.
  deliver();
  expect(heard).toEqual({ a: 1, b: 0 });
  // `b` hears of `a` for the first time and tells it of its own write made before.
  deliver();
  expect(heard).toEqual({ a: 1, b: 1 });
  deliver();
  expect(heard).toEqual({ a: 2, b: 1 });
  deliver();
  expect(heard).toEqual({ a: 2, b: 1 });

  // From now on each change is announced at once.
  a.announce();
  b.announce();
  deliver();
  expect(heard).toEqual({ a: 3, b: 2 });
  await Promise.all([a.close(), b.close()]);
});

function fail(error: unknown): never {
  throw error;
}

it('announces every change at once while another instance leads', async () => {
  const { Channel, posted } = heldChannels();
  // Never grants (another instance holds the lead); gives up when the request is aborted.
  const locks = {
    request: (_name: string, options: { signal: AbortSignal }) =>
      new Promise<void>((_, reject) =>
        options.signal.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError'))),
      ),
  } as unknown as LockManager;
  const follower = new TabCoordinator('led', { locks, BroadcastChannel: Channel }, () => undefined, fail);
  follower.announce();
  expect(posted.map((m) => m.data)).toEqual(['hello', 1]);
  await follower.close();
});
