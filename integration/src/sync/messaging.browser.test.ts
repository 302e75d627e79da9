import { firstValueFrom } from 'rxjs';
import { expect, it } from 'vitest';
import { createMessaging, type Messaging } from '@eventloom/client';
import { browserSyncFixtures, waitFor, type BrowserDevice } from './sync-harness.browser.ts';

// Notifications and queries from a tab that does not hold the socket: they go out through the
// leader tab of the same database, and what the leader receives is passed on (BroadcastChannel).
const fixtures = browserSyncFixtures();

/** A tab subscribed to `stream`, live, with messaging over its sync. */
async function open(name: string, stream: string): Promise<BrowserDevice & { messaging: Messaging }> {
  const device = await fixtures.open(name, [stream]);
  await waitFor(device.sync.syncState$, (s) => s === 'live');
  return { ...device, messaging: createMessaging(device.sync) };
}

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
