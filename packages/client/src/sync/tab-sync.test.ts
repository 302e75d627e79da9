import { afterEach, describe, expect, it } from 'vitest';
import { STATUS_EVERY_MS, TabSync, type TabStatus, type TabSyncHandlers } from './tab-sync.ts';

const base: TabStatus = {
  state: 'live',
  outbox: 0,
  acked: 0,
  position: 0,
  head: 0,
  pushedPerSecond: 0,
  pulledPerSecond: 0,
  pushed: 0,
  pulled: 0,
  repaired: 0,
  lostElsewhere: 0,
  lastError: undefined,
};

const opened: TabSync[] = [];
afterEach(() => {
  for (const tab of opened.splice(0)) tab.close();
});

/** A tab of database `name`: leader or follower, recording the statuses it is told. */
function tab(name: string, leader: { value: boolean }, seen: TabStatus[] = []): TabSync {
  const handlers: TabSyncHandlers = {
    isLeader: () => leader.value,
    status: (status) => seen.push(status),
    currentStatus: () => ({ ...base, position: -1 }),
    flush: () => undefined,
    command: () => undefined,
  };
  const sync = new TabSync(name, BroadcastChannel, handlers);
  opened.push(sync);
  return sync;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('TabSync status', () => {
  it('posts the first status at once, then the latest of a burst once the window ends', async () => {
    const name = `burst-${Math.random()}`;
    const leader = tab(name, { value: true });
    const seen: TabStatus[] = [];
    tab(name, { value: false }, seen);
    for (let position = 1; position <= 20; position++) leader.publish({ ...base, position });
    await sleep(STATUS_EVERY_MS * 3);
    expect(seen.map((s) => s.position)).toEqual([1, 20]);
  });

  it('posts a change of state at once, with the counts it carries', async () => {
    const name = `state-${Math.random()}`;
    const leader = tab(name, { value: true });
    const seen: TabStatus[] = [];
    tab(name, { value: false }, seen);
    leader.publish({ ...base, state: 'catching-up', position: 1 });
    leader.publish({ ...base, state: 'catching-up', position: 2 });
    leader.publish({ ...base, state: 'live', position: 3 });
    await sleep(STATUS_EVERY_MS * 3);
    expect(seen.map((s) => [s.state, s.position])).toEqual([
      ['catching-up', 1],
      ['live', 3],
    ]);
  });

  it('answers a follower that asks at once, and a tab that lost the lead posts nothing more', async () => {
    const name = `ask-${Math.random()}`;
    const lead = { value: true };
    const leader = tab(name, lead);
    const seen: TabStatus[] = [];
    const follower = tab(name, { value: false }, seen);
    leader.publish({ ...base, position: 1 });
    leader.publish({ ...base, position: 2 });
    follower.ask();
    await sleep(STATUS_EVERY_MS / 5);
    lead.value = false;
    await sleep(STATUS_EVERY_MS * 3);
    expect(seen.map((s) => s.position)).toEqual([1, -1]);
  });
});
