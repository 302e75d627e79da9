import { describe, expect, it } from 'vitest';
import type { Handler } from '../define-handler.ts';
import { createMemoryReactionStore, type MemoryReactionStore } from '../memory-reaction-store.ts';
import { createReactionRunner, type ReactionRunner } from '../reaction-runner.ts';
import { createFakeScheduler } from '../testing/fake-scheduler.ts';
import { createMemoryEventLog, type MemoryEventLog } from '../testing/memory-event-log.ts';
import { billing, payments, warehouse } from './choreography.ts';

const FLOW = ['order.placed', 'invoice.issued', 'payment.received', 'order.shipped', 'invoice.closed'];

/** Waits until no runner has anything left to do: the head stays put across all of them. */
async function quiet(runners: readonly ReactionRunner[], log: MemoryEventLog): Promise<void> {
  for (;;) {
    const head = log.head;
    for (const runner of runners) await runner.settled(head);
    if (log.head === head) return;
  }
}

describe('choreography: services reacting to each other, no coordinator', () => {
  const service = async (
    log: MemoryEventLog,
    handlers: readonly Handler[],
    store = createMemoryReactionStore(),
  ) => {
    const runner = createReactionRunner({
      store,
      feed: log.feed,
      scheduler: createFakeScheduler(),
      outbox: log.relay,
      handlers,
    });
    await runner.start();
    return { runner, store };
  };

  it('carries each order through the flow, each event once, all correlated to the order', async () => {
    const log = createMemoryEventLog();
    const services = await Promise.all([billing, payments, warehouse].map((h) => service(log, h)));
    const orders = log.append(
      { type: 'order.placed', data: { orderId: 'o1', total: 30 }, stream: 'order:o1' },
      { type: 'order.placed', data: { orderId: 'o2', total: 12 }, stream: 'order:o2' },
    );
    const runners = services.map((s) => s.runner);
    await quiet(runners, log);
    for (const order of orders) {
      const chain = log.events.filter((e) => e.id === order.id || e.meta.correlationId === order.id);
      expect(chain.map((e) => e.type)).toEqual(FLOW);
      for (let i = 1; i < chain.length; i++) expect(chain[i]!.meta.causationId).toBe(chain[i - 1]!.id);
    }
    expect(log.events).toHaveLength(2 * FLOW.length);
    await Promise.all(runners.map((r) => r.stop()));
  });

  it('goes on where it stopped when one service is down for a while, without repeating anything', async () => {
    const log = createMemoryEventLog();
    const billingService = await service(log, billing);
    const paymentsService = await service(log, payments);
    let warehouseStore: MemoryReactionStore = createMemoryReactionStore();
    const first = await service(log, warehouse, warehouseStore);
    log.append({ type: 'order.placed', data: { orderId: 'o1', total: 30 }, stream: 'order:o1' });
    await quiet([billingService.runner, paymentsService.runner, first.runner], log);
    await first.runner.stop();
    log.append({ type: 'order.placed', data: { orderId: 'o2', total: 12 }, stream: 'order:o2' });
    await quiet([billingService.runner, paymentsService.runner], log);
    expect(log.events.filter((e) => e.type === 'order.shipped')).toHaveLength(1);
    warehouseStore = warehouseStore.reopen();
    const again = await service(log, warehouse, warehouseStore);
    await quiet([billingService.runner, paymentsService.runner, again.runner], log);
    expect(
      log.events.map((e) => e.type).filter((t) => t === 'order.shipped' || t === 'invoice.closed'),
    ).toEqual(['order.shipped', 'invoice.closed', 'order.shipped', 'invoice.closed']);
    await Promise.all([billingService, paymentsService, again].map((s) => s.runner.stop()));
  });
});
