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
  // `a` hears the hello (no read: it tells of no write) and answers with its change: `b` reads the
  // store after that answer, so it finds a's write.
  deliver();
  expect(heard).toEqual({ a: 0, b: 0 });
  expect(posted.map((m) => m.data)).toEqual(['hello', 'hello', 1]);
  // `b` hears of `a` for the first time and tells it of its own write made before.
  deliver();
  expect(heard).toEqual({ a: 0, b: 1 });
  deliver();
  expect(heard).toEqual({ a: 1, b: 1 });
  deliver();
  expect(heard).toEqual({ a: 1, b: 1 });

  // From now on each change is announced at once.
  a.announce();
  b.announce();
  deliver();
  expect(heard).toEqual({ a: 2, b: 2 });
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

/** Web Locks granted one at a time in the order asked for, as a browser does. */
function queuedLocks(): LockManager {
  type Request = { grant: () => Promise<void> | undefined; done: () => void };
  const waiting: Request[] = [];
  let held = false;
  const serve = async (request: Request) => {
    held = true;
    await request.grant();
    held = false;
    request.done();
    const following = waiting.shift();
    if (following) void serve(following);
  };
  return {
    request: (_name: string, options: { signal: AbortSignal }, grant: () => Promise<void> | undefined) =>
      new Promise<void>((resolve, reject) => {
        const request = { grant, done: resolve };
        options.signal.addEventListener('abort', () => {
          const at = waiting.indexOf(request);
          if (at < 0) return;
          waiting.splice(at, 1);
          reject(new DOMException('aborted', 'AbortError'));
        });
        if (held) waiting.push(request);
        else void serve(request);
      }),
  } as unknown as LockManager;
}

/** Instances of database `name` with FIFO locks and held channels; `reads[i]` counts instance i's reads. */
function lockedTabs(name: string) {
  const { Channel, posted, deliver } = heldChannels();
  const env: TabEnvironment = { locks: queuedLocks(), BroadcastChannel: Channel };
  const reads = [0, 0, 0];
  const open = (i: number) => new TabCoordinator(name, env, () => reads[i]!++, fail);
  return { posted, deliver, reads, open };
}

it('opening a tab makes no other tab read, and costs only its hello when no tab has a write to tell', async () => {
  const { posted, deliver, reads, open: open3 } = lockedTabs('three');
  const a = open3(0);
  deliver();
  const b = open3(1);
  deliver();
  const c = open3(2);
  deliver();
  deliver();
  expect([a.isLeader, b.isLeader, c.isLeader]).toEqual([true, false, false]);
  // Each says hello; no one answers, no one reads.
  expect(posted.map((m) => m.data)).toEqual(['hello', 'hello', 'hello']);
  expect(reads).toEqual([0, 0, 0]);

  // The leader heard of the others: each write is announced, and each other tab reads it once.
  a.announce();
  deliver();
  expect(reads).toEqual([0, 1, 1]);
  // The next leader heard the younger tab's hello: it announces its writes too.
  await a.close();
  await Promise.resolve();
  expect(b.isLeader).toBe(true);
  b.announce();
  deliver();
  expect(reads).toEqual([0, 1, 2]);
  await Promise.all([b.close(), c.close()]);
});

it('a leader that kept a write to itself answers the first hello, and only it', async () => {
  const { posted, deliver, reads, open: open3 } = lockedTabs('answer');
  const a = open3(0);
  deliver();
  a.announce();
  const b = open3(1);
  const c = open3(2);
  deliver();
  // `a` answers the first hello it hears with its change: both newcomers read after their hello.
  expect(posted.map((m) => m.data)).toEqual(['hello', 'hello', 'hello', 1]);
  deliver();
  expect(reads).toEqual([0, 1, 1]);
  deliver();
  expect(posted).toHaveLength(4);
  await Promise.all([a.close(), b.close(), c.close()]);
});

it('in single-tab mode, answers a hello with "here" so that the newcomer, which leads too, tells of its writes', async () => {
  const { Channel, posted, deliver } = heldChannels();
  const env: TabEnvironment = { locks: null, BroadcastChannel: Channel };
  const reads = [0, 0];
  const a = new TabCoordinator('here', env, () => reads[0]!++, fail);
  deliver();
  const b = new TabCoordinator('here', env, () => reads[1]!++, fail);
  deliver();
  deliver();
  expect(posted.map((m) => m.data)).toEqual(['hello', 'hello', 'here']);
  expect(reads).toEqual([0, 0]);
  b.announce();
  deliver();
  expect(reads).toEqual([1, 0]);
  await Promise.all([a.close(), b.close()]);
});

it('a tab that joins after the lead changed hands hears of the new leader’s write made before its hello arrived', async () => {
  const { deliver, reads, open: open3 } = lockedTabs('handover');
  const a = open3(0);
  deliver();
  const b = open3(1);
  deliver();
  await a.close();
  await Promise.resolve();
  expect(b.isLeader).toBe(true);
  const c = open3(2);
  // `b` heard no one (no one answered its hello): its write waits for the newcomer's hello.
  b.announce();
  deliver();
  deliver();
  expect(reads).toEqual([0, 0, 1]);
  // From then on `b` announces at once.
  b.announce();
  deliver();
  expect(reads).toEqual([0, 0, 2]);
  await Promise.all([b.close(), c.close()]);
});
