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
