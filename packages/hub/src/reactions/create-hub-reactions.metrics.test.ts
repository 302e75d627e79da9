import { createMemoryReactionStore, defineHandler } from '@eventloom/core';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../hub/test-kit.ts';
import { hubReactionsTestKit } from './create-hub-reactions.test-kit.ts';
import { createHubReactions } from './create-hub-reactions.ts';
import { orderSaga, orderServices } from './order-flow.test-fixture.ts';

const { scope, rig } = hubReactionsTestKit();

describe('hub reactions: metrics', () => {
  it('reports handler lag, dead letters and saga instances by status on /metrics', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const slow = defineHandler({
      name: 'slow',
      on: 'order.placed',
      checkpointEvery: 1,
      async handle() {
        await gate;
      },
    });
    const broken = defineHandler({
      name: 'broken',
      on: (e) => e.type === 'order.placed' && (e.data as { orderId: string }).orderId === 'o1',
      retry: { attempts: 1, backoff: { initialMs: 0, factor: 1, maxMs: 0 } },
      handle() {
        throw new Error('broken');
      },
    });
    const r = await rig('sqlite', { handlers: [slow, broken, ...orderServices()], sagas: [orderSaga] });
    scope.defer(() => release());
    await r.push('order.placed', { orderId: 'o1' });
    await r.push('order.placed', { orderId: 'o2', failAt: 'payment' });
    // Everything but `slow` catches up: both sagas end, every other reaction reaches the head.
    for (;;) {
      const head = await r.store.head();
      const types = (await r.log()).map((e) => e.type);
      const others = [...r.reactions.runner.checkpoints()].filter(([name]) => name !== 'slow');
      if (
        types.includes('order.completed') &&
        types.includes('order.cancelled') &&
        others.every(([, p]) => p === head)
      )
        break;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const scrape = async () => {
      const response = await fetch(`${r.hub.url}/metrics`);
      return response.text();
    };
    let text = await scrape();
    expect(text).toContain('eventloom_hub_dead_letters 1');
    const head = await r.store.head();
    expect(text).toMatch(new RegExp(`eventloom_hub_reaction_lag_events\\{reaction="slow"\\} ${head}\\b`));
    release();
    await r.reactions.settled();
    text = await scrape();
    expect(text).toContain('eventloom_hub_reaction_lag_events{reaction="slow"} 0');
    expect(text).toContain('eventloom_hub_reaction_lag_events{reaction="order"} 0');
    expect(text).toContain('eventloom_hub_saga_instances{saga="order",status="done"} 1');
    expect(text).toContain('eventloom_hub_saga_instances{saga="order",status="compensated"} 1');
    expect(text).toContain('eventloom_hub_saga_instances{saga="order",status="active"} 0');
    // One reaction runtime per hub.
    await expect(
      createHubReactions({ hub: r.hub, reactionStore: createMemoryReactionStore(), logger: silentLogger }),
    ).rejects.toMatchObject({
      code: 'config',
    });
  });
});
