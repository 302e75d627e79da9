import { firstValueFrom } from 'rxjs';
import { expect, it } from 'vitest';
import { TodoAdded, todoCount } from '@eventloom/client/testing';
import { browserSyncFixtures, waitFor } from './sync-harness.browser.ts';
import { syncPortOf } from '@eventloom/client/testing';

// A hub runs in Node for the browser project (sync-hub.global-setup.node.ts): the page syncs with it
// over a real WebSocket, from Chromium's IndexedDB.
const fixtures = browserSyncFixtures();
const open = (name: string, subscriptions: readonly string[], noChannel = false) =>
  fixtures.open(name, subscriptions, [todoCount], noChannel);

it('syncs a client in Chromium with a hub: push, ack, confirm, and another client sees it', async () => {
  const stream = `browser:${Date.now()}-${Math.random().toString(36).slice(2)}`;
  const a = await open(`sync-a-${stream}`, [stream]);
  const b = await open(`sync-b-${stream}`, [stream]);
  await waitFor(a.sync.syncState$, (s) => s === 'live');
  const event = await a.loom.append(stream, TodoAdded.create({ id: 'x', title: 'from Chromium', tags: [] }));
  await a.sync.flushed();
  await waitFor(b.loom.confirmedProjection$(todoCount), (n) => n === 1);
  const [seen] = await b.loom.readEvents({ stream });
  expect(seen).toMatchObject({ id: event.id, clientId: a.loom.clientId, stream });
  expect(await syncPortOf(a.loom).readOutbox()).toEqual([]);
  const metrics = await waitFor(a.sync.metrics$, (m) => m.lag === 0 && m.outbox === 0);
  expect(metrics.state).toBe('live');
});

it('lets a second tab on the same database follow the leader’s sync and flush through it', async () => {
  const stream = `tabs:${Date.now()}-${Math.random().toString(36).slice(2)}`;
  const name = `sync-tabs-${stream}`;
  const leader = await open(name, [stream]);
  await waitFor(leader.sync.syncState$, (s) => s === 'live');
  const follower = await open(name, [stream]);
  expect(await firstValueFrom(follower.loom.leader$)).toBe(false);
  // The follower holds no socket: it mirrors the leader's state.
  await waitFor(follower.sync.syncState$, (s) => s === 'live');
  await follower.loom.append(stream, TodoAdded.create({ id: 'f', title: 'from the follower', tags: [] }));
  await follower.sync.flushed();
  const other = await open(`sync-other-${stream}`, [stream]);
  await waitFor(other.loom.confirmedProjection$(todoCount), (n) => n === 1);
});

it('answers a follower’s flushed() from the store when the tabs have no BroadcastChannel', async () => {
  const stream = `tabs-poll:${Date.now()}-${Math.random().toString(36).slice(2)}`;
  const name = `sync-tabs-poll-${stream}`;
  const leader = await open(name, [stream], true);
  await waitFor(leader.sync.syncState$, (s) => s === 'live');
  const follower = await open(name, [stream], true);
  expect(await firstValueFrom(follower.loom.leader$)).toBe(false);
  const event = await follower.loom.append(
    stream,
    TodoAdded.create({ id: 'f', title: 'from the follower', tags: [] }),
  );
  await follower.sync.flushed();
  // Flushed: the hub holds it (the leader pushed it, having read it from the store).
  const other = await open(`sync-other-${stream}`, [stream]);
  await waitFor(other.loom.confirmedProjection$(todoCount), (n) => n === 1);
  expect((await other.loom.readEvents({ stream })).map((e) => e.id)).toEqual([event.id]);
});
