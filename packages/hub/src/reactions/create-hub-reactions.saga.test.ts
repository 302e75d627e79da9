import type { LiveEvents } from '@eventloom/protocol';
import { describe, expect, it } from 'vitest';
import { collect, until } from '../hub/test-kit.ts';
import { type Kind, hubReactionsTestKit, typesOf } from './create-hub-reactions.test-kit.ts';
import { COMPLETED_ORDER, orderSaga, orderServices } from './order-flow.test-fixture.ts';

const { scope, rig } = hubReactionsTestKit();

describe.each<Kind>(['memory', 'sqlite'])(
  'a three-step saga with compensations on the hub (%s stores)',
  (kind) => {
    it('completes: each step once, what it emitted in the log and broadcast to subscribers', async () => {
      const r = await rig(kind, { handlers: orderServices(), sagas: [orderSaga] });
      const { socket: watcher } = await scope.client(r.hub.url, 'watcher', 'watcher', ['orders']);
      const live = collect<LiveEvents>(watcher, 'events');
      await r.push('order.placed', { orderId: 'o1' });
      await r.reactions.settled();
      const log = await r.log();
      expect(typesOf(log, 'o1')).toEqual([...COMPLETED_ORDER]);
      const emitted = log.filter((e) => e.clientId === 'eventloom-hub');
      expect(emitted).toHaveLength(COMPLETED_ORDER.length - 1);
      // Traced to the order, stamped with the hub's principal, kinds kept.
      const placed = log[0]!;
      for (const event of emitted) {
        expect(event.meta.correlationId).toBe(placed.id);
        expect(event.meta.principal).toEqual({ sub: 'eventloom-hub', iss: 'eventloom-hub' });
      }
      expect(emitted.find((e) => e.type === 'stock.reserve')?.kind).toBe('command');
      expect(emitted.map((e) => e.clientSeq)).toEqual(emitted.map((_, i) => i + 1));
      await until(() => live.flatMap((m) => m.events).length === log.length, 'live events');
      expect(live.flatMap((m) => m.events).map((e) => e.id)).toEqual(log.map((e) => e.id));
      const [instance] = await r.reactions.runner.sagaInstances({ saga: 'order' });
      expect(instance).toMatchObject({ status: 'done', state: { steps: 4 } });
    });

    it.each([
      ['stock', ['order.cancelled']],
      ['payment', ['stock.release', 'order.cancelled']],
      ['shipment', ['payment.refund', 'stock.release', 'order.cancelled']],
    ] as const)(
      'fails at %s: the compensations of the completed steps run once, in reverse',
      async (failAt, undo) => {
        const r = await rig(kind, { handlers: orderServices(), sagas: [orderSaga] });
        await r.push('order.placed', { orderId: 'o2', failAt });
        await r.reactions.settled();
        const types = typesOf(await r.log(), 'o2');
        const failedAt = types.indexOf(`${failAt}.failed`);
        expect(failedAt).toBeGreaterThan(0);
        expect(types.slice(failedAt + 1)).toEqual(undo);
        for (const type of undo) expect(types.filter((t) => t === type)).toHaveLength(1);
        expect(types).not.toContain('order.completed');
        const [instance] = await r.reactions.runner.sagaInstances({ saga: 'order' });
        expect(instance).toMatchObject({ status: 'compensated', failure: { reason: expect.any(String) } });
        // Nothing more happens later: a second settle finds the same log.
        await r.reactions.settled();
        expect(typesOf(await r.log(), 'o2')).toEqual(types);
      },
    );
  },
);
