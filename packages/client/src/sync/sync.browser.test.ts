import { filter, firstValueFrom, timeout, type Observable } from 'rxjs';
import { afterEach, expect, inject, it } from 'vitest';
import { createEventloom, type Eventloom } from '../eventloom.ts';
import { TodoAdded, todoCount, todoRegistry } from '../testing/todo-model.ts';
import type { BrowserHubKey } from './sync-hub.global-setup.node.ts';
import { createSync, type Sync } from './create-sync.ts';

// A hub runs in Node for the browser project (sync-hub.global-setup.node.ts): the page syncs with it
// over a real WebSocket, from Chromium's IndexedDB.
const key: BrowserHubKey = 'eventloomHubUrl';
const url = inject(key);

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function open(
  name: string,
  subscriptions: readonly string[],
): Promise<{ loom: Eventloom; sync: Sync }> {
  const loom = await createEventloom({ name, registry: todoRegistry, projections: [todoCount] });
  const sync = createSync(loom, { url, subscriptions, backoff: { initialMs: 20, maxMs: 500 } });
  cleanup.push(
    () => loom.close(),
    () => sync.close(),
  );
  return { loom, sync };
}

const until = <T>(source: Observable<T>, ok: (value: T) => boolean): Promise<T> =>
  firstValueFrom(source.pipe(filter(ok), timeout({ first: 20_000 })));

it('syncs a client in Chromium with a hub: push, ack, confirm, and another client sees it', async () => {
  const stream = `browser:${Date.now()}-${Math.random().toString(36).slice(2)}`;
  const a = await open(`sync-a-${stream}`, [stream]);
  const b = await open(`sync-b-${stream}`, [stream]);
  await until(a.sync.syncState$, (s) => s === 'live');
  const event = await a.loom.append(stream, TodoAdded.create({ id: 'x', title: 'from Chromium', tags: [] }));
  await a.sync.flushed();
  await until(b.loom.confirmedProjection$(todoCount), (n) => n === 1);
  const [seen] = await b.loom.readEvents({ stream });
  expect(seen).toMatchObject({ id: event.id, clientId: a.loom.clientId, stream });
  expect(await a.loom.sync.readOutbox()).toEqual([]);
  const metrics = await until(a.sync.metrics$, (m) => m.lag === 0 && m.outbox === 0);
  expect(metrics.state).toBe('live');
});

it('lets a second tab on the same database follow the leader’s sync and flush through it', async () => {
  const stream = `tabs:${Date.now()}-${Math.random().toString(36).slice(2)}`;
  const name = `sync-tabs-${stream}`;
  const leader = await open(name, [stream]);
  await until(leader.sync.syncState$, (s) => s === 'live');
  const follower = await open(name, [stream]);
  expect(await firstValueFrom(follower.loom.leader$)).toBe(false);
  // The follower holds no socket: it mirrors the leader's state.
  await until(follower.sync.syncState$, (s) => s === 'live');
  await follower.loom.append(stream, TodoAdded.create({ id: 'f', title: 'from the follower', tags: [] }));
  await follower.sync.flushed();
  const other = await open(`sync-other-${stream}`, [stream]);
  await until(other.loom.confirmedProjection$(todoCount), (n) => n === 1);
});
