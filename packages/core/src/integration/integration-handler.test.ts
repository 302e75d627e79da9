import { describe, expect, it } from 'vitest';
import { createMemoryReactionStore } from '../reactions/memory-reaction-store.ts';
import { createReactionRunner } from '../reactions/reaction-runner.ts';
import { createFakeScheduler } from '../reactions/testing/fake-scheduler.ts';
import { createMemoryEventLog } from '../reactions/testing/memory-event-log.ts';
import { settle } from '../reactions/testing/settle.ts';
import type { CloudEvent } from './cloud-event.ts';
import { integrationHandler } from './integration-handler.ts';
import type { IntegrationRelay } from './integration-relay.ts';

function setup(relay: IntegrationRelay, types?: readonly string[]) {
  const log = createMemoryEventLog();
  const scheduler = createFakeScheduler();
  const handler = integrationHandler(relay, {
    name: 'erp',
    source: '/shop',
    retry: { attempts: 3, backoff: { initialMs: 1000, factor: 2, maxMs: 10_000 } },
    ...(types === undefined ? {} : { types }),
  });
  const runner = createReactionRunner({
    store: createMemoryReactionStore(),
    feed: log.feed,
    scheduler,
    outbox: log.relay,
    handlers: [handler],
  });
  return { log, scheduler, runner };
}

describe('integrationHandler', () => {
  it('publishes the integration events only, in position order, as CloudEvents', async () => {
    const published: CloudEvent[][] = [];
    const { log, runner } = setup({ publish: async (events) => void published.push([...events]) });
    await runner.start();
    log.append(
      { type: 'order.shipped', data: { n: 1 }, stream: 'order:o1', kind: 'integration' },
      { type: 'order.placed', data: { n: 2 }, stream: 'order:o2' },
      { type: 'order.shipped', data: { n: 3 }, stream: 'order:o3', kind: 'integration' },
      { type: 'ship.order', data: { n: 4 }, stream: 'order:o4', kind: 'command' },
    );
    await settle(runner, () => log.head);
    expect(published.map((batch) => batch.map((e) => [e.id, e.source, e.subject, e.position]))).toEqual([
      [[log.events[0]!.id, '/shop', 'order:o1', '1']],
      [[log.events[2]!.id, '/shop', 'order:o3', '3']],
    ]);
    await runner.stop();
  });

  it('retries a failing publish with backoff with the same CloudEvent, then dead-letters it and goes on', async () => {
    const calls: string[] = [];
    const { log, runner, scheduler } = setup(
      {
        publish: async ([event]) => {
          calls.push(event!.id);
          if ((event!.data as { n: number }).n === 1) throw new Error('503 from the ERP');
        },
      },
      ['order.shipped'],
    );
    await runner.start();
    const [bad, good] = log.append(
      { type: 'order.shipped', data: { n: 1 }, stream: 'order:o1', kind: 'integration' },
      { type: 'order.shipped', data: { n: 2 }, stream: 'order:o2', kind: 'integration' },
      { type: 'order.refunded', data: { n: 3 }, stream: 'order:o3', kind: 'integration' },
    );
    const done = runner.settled(log.head);
    await scheduler.next();
    await scheduler.next();
    await done;
    expect(scheduler.delays).toEqual([1000, 2000]);
    expect(calls).toEqual([bad!.id, bad!.id, bad!.id, good!.id]);
    const [letter] = await runner.deadLetters.list();
    expect([letter?.handler, letter?.event?.id, letter?.attempts, letter?.error.message]).toEqual([
      'erp',
      bad!.id,
      3,
      '503 from the ERP',
    ]);
    await runner.stop();
  });
});
