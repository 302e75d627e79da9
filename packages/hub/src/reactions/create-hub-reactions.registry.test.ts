import { createMemoryReactionStore, createRegistry, defineHandler } from '@eventloom/core';
import { describe, expect, it } from 'vitest';
import { makeEvent, silentLogger } from '../hub/test-kit.ts';
import { hubReactionsTestKit, readAll } from './create-hub-reactions.test-kit.ts';
import { createHubReactions } from './create-hub-reactions.ts';
import type { ReactionRegistry } from './hub-outbox-relay.ts';

const { scope, rig } = hubReactionsTestKit();

describe('hub reactions: registry, principal', () => {
  it('upcasts stored events for handlers, writes emitted ones at the latest version, and lets the registry refuse them', async () => {
    // A core EventRegistry is a ReactionRegistry.
    const coreRegistry: ReactionRegistry = createRegistry([]);
    expect(coreRegistry.latestVersion?.('order.placed')).toBeUndefined();
    const registry: ReactionRegistry = {
      latestVersion: (type) => (type === 'order.noted' ? 3 : 1),
      validate: (event) =>
        event.type === 'order.noted' && (event.data as { bad?: boolean }).bad === true
          ? { ok: false, error: { code: 'invalid', message: 'bad note', path: 'data' } }
          : { ok: true, value: event },
      upcast: (event) =>
        event.type === 'order.placed' && event.version === 1
          ? { ok: true, value: { version: 2, data: { ...(event.data as object), upcast: true } } }
          : { ok: true, value: event },
    };
    const seen: unknown[] = [];
    const noter = defineHandler({
      name: 'noter',
      on: 'order.placed',
      handle(event, ctx) {
        seen.push({ version: event.version, data: event.data });
        ctx.emit({
          type: 'order.noted',
          data: { bad: (event.data as { orderId: string }).orderId === 'bad' },
        });
      },
    });
    const { hub, store } = await scope.startHub();
    const reactions = await createHubReactions({
      hub,
      reactionStore: createMemoryReactionStore(),
      handlers: [noter],
      registry,
      logger: silentLogger,
    });
    scope.defer(() => reactions.stop());
    await hub.append([
      { event: makeEvent('shop', 1, { type: 'order.placed', data: { orderId: 'good' } }) },
      { event: makeEvent('shop', 2, { type: 'order.placed', data: { orderId: 'bad' } }) },
    ]);
    await reactions.settled();
    expect(seen).toEqual([
      { version: 2, data: { orderId: 'good', upcast: true } },
      { version: 2, data: { orderId: 'bad', upcast: true } },
    ]);
    const noted = (await readAll(store)).filter((e) => e.type === 'order.noted');
    expect(noted.map((e) => [e.version, e.data])).toEqual([[3, { bad: false }]]);
    expect(await hub.metrics.registry.getSingleMetricAsString('eventloom_hub_rejections_total')).toContain(
      'eventloom_hub_rejections_total{code="invalid"} 1',
    );
  });

  it('keeps its client id to itself: a client cannot say hello as eventloom-hub', async () => {
    const r = await rig('memory');
    const { welcome } = await scope.client(r.hub.url, 'mallory', 'eventloom-hub');
    expect(welcome).toMatchObject({ error: { code: 'unauthorized' } });
  });
});
