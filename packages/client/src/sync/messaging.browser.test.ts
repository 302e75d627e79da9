import { filter, firstValueFrom, timeout, type Observable } from 'rxjs';
import { afterEach, expect, inject, it } from 'vitest';
import { createEventloom, type Eventloom } from '../eventloom.ts';
import { todoRegistry } from '../testing/todo-model.ts';
import type { BrowserHubKey } from './sync-hub.global-setup.node.ts';
import { createSync, type Sync } from './create-sync.ts';
import { createMessaging, type Messaging } from './messaging.ts';

// Notifications and queries from a tab that does not hold the socket: they go out through the
// leader tab of the same database, and what the leader receives is passed on (BroadcastChannel).
const key: BrowserHubKey = 'eventloomHubUrl';
const url = inject(key);

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function open(
  name: string,
  stream: string,
): Promise<{ loom: Eventloom; sync: Sync; messaging: Messaging }> {
  const loom = await createEventloom({ name, registry: todoRegistry });
  const sync = createSync(loom, { url, subscriptions: [stream], backoff: { initialMs: 20, maxMs: 500 } });
  cleanup.push(
    () => loom.close(),
    () => sync.close(),
  );
  await until(sync.syncState$, (s) => s === 'live');
  return { loom, sync, messaging: createMessaging(sync) };
}

const until = <T>(source: Observable<T>, ok: (value: T) => boolean): Promise<T> =>
  firstValueFrom(source.pipe(filter(ok), timeout({ first: 20_000 })));

it('sends, receives, asks and answers from a follower tab, through the leader', async () => {
  const stream = `room:${Date.now()}-${Math.random().toString(36).slice(2)}`;
  const name = `ephemeral-${stream}`;
  const leader = await open(name, stream);
  const follower = await open(name, stream);
  expect(await firstValueFrom(follower.loom.leader$)).toBe(false);
  const other = await open(`ephemeral-other-${stream}`, stream);

  const inOther = firstValueFrom(other.messaging.notifications$(stream));
  expect(follower.messaging.notify(stream, 'user.typing', { who: 'follower' })).toBe(true);
  expect(await inOther).toMatchObject({ data: { who: 'follower' }, from: leader.loom.clientId });

  const inFollower = firstValueFrom(follower.messaging.notifications$(stream));
  expect(other.messaging.notify(stream, 'user.typing', { who: 'other' })).toBe(true);
  expect(await inFollower).toMatchObject({ data: { who: 'other' }, from: other.loom.clientId });

  other.messaging.answerQueries('todo.count', () => 7);
  expect(await follower.messaging.query(stream, 'todo.count', null)).toEqual({
    data: 7,
    from: other.loom.clientId,
    local: false,
  });

  follower.messaging.answerQueries('user.here', (query) => ({ here: true, asked: query.data }));
  expect(await other.messaging.query(stream, 'user.here', 'who?')).toEqual({
    data: { here: true, asked: 'who?' },
    from: leader.loom.clientId,
    local: false,
  });
});
