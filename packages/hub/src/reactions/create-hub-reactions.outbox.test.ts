import { createMemoryReactionStore, type OutboxMessage } from '@eventloom/core';
import { UUID_V7_PATTERN } from '@eventloom/protocol';
import { describe, expect, it } from 'vitest';
import { silentLogger, startTestHub, type TestHub } from '../hub/test-kit.ts';
import { hubReactionsTestKit, readAll } from './create-hub-reactions.test-kit.ts';
import { createHubOutboxRelay, type HubOutboxRelayOptions } from './hub-outbox-relay.ts';

const { scope } = hubReactionsTestKit();

describe('hub reactions: the outbox relay', () => {
  function message(n: number, type = 'order.noted'): OutboxMessage {
    return {
      id: `emitter/e1/${n}`,
      source: 'emitter',
      draft: {
        type,
        data: { n },
        stream: 'orders',
        kind: 'domain',
        meta: { correlationId: 'c1', causationId: 'e1' },
      },
      createdAt: '2026-11-27T10:00:00.000Z',
    };
  }

  /** The relay of the hub's own client, appending through `hub`, with a memory reaction store. */
  async function relayOf({ hub, store }: TestHub, onRefused?: HubOutboxRelayOptions['onRefused']) {
    return createHubOutboxRelay({
      store,
      append: (items) => hub.append(items),
      reactionStore: createMemoryReactionStore(),
      hubId: await store.hubId(),
      clientId: 'eventloom-hub',
      principal: { sub: 'eventloom-hub', iss: 'eventloom-hub' },
      maxEventBytes: hub.limits.maxEventBytes,
      logger: silentLogger,
      ...(onRefused === undefined ? {} : { onRefused }),
    });
  }

  it('makes one event of a message delivered twice, a batch delivered again with more included', async () => {
    const started = await scope.startHub();
    const { store } = started;
    const relay = await relayOf(started);
    await relay.deliver([message(0), message(1)]);
    // The outbox delete was lost (a crash): the same batch comes again, now with a third message.
    await relay.deliver([message(0), message(1), message(2)]);
    await relay.deliver([message(2)]);
    const log = await readAll(store);
    expect(log.map((e) => (e.data as { n: number }).n)).toEqual([0, 1, 2]);
    expect(log.map((e) => e.clientSeq)).toEqual([1, 2, 3]);
    expect(new Set(log.map((e) => e.id)).size).toBe(3);
    for (const event of log) expect(event.id).toMatch(UUID_V7_PATTERN);
  });

  it('refuses a draft that is no valid event for good, under its seq, and appends the others', async () => {
    const started = await scope.startHub();
    const { store } = started;
    const refused: string[] = [];
    const relay = await relayOf(started, (m, result) => refused.push(`${m.id} ${result.code}`));
    await relay.deliver([message(0, 'not a type!'), message(1)]);
    await relay.deliver([message(0, 'not a type!'), message(1)]);
    expect((await readAll(store)).map((e) => (e.data as { n: number }).n)).toEqual([1]);
    expect(refused).toEqual(['emitter/e1/0 invalid', 'emitter/e1/0 invalid']);
    expect(await store.client('eventloom-hub')).toMatchObject({ lastClientSeq: 2 });
  });

  it('fails a delivery the hub cannot take (closing), so the outbox keeps it', async () => {
    const started = await startTestHub();
    const relay = await relayOf(started);
    await started.hub.close();
    await expect(relay.deliver([message(0)])).rejects.toMatchObject({ code: 'store' });
  });
});
