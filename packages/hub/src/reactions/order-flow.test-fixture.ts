/**
 * Test fixture: a three-step order saga (reserve stock, charge payment, schedule shipment) with a
 * compensation for each step, and the hub-side handlers that play the stock, payment and shipping
 * services. An order fails at the step named in its `failAt`. Exported by `@eventloom/hub/testing`,
 * for tests of a hub in-process and of `eventloom-hub --reactions` in a child process alike.
 */
import { defineHandler, defineSaga, type Handler, type Saga } from '@eventloom/core';

type Step = 'stock' | 'payment' | 'shipment';

interface OrderData {
  readonly orderId: string;
  readonly failAt?: Step;
}

type OrderEvents = {
  'order.placed': OrderData;
  'stock.reserved': OrderData;
  'stock.failed': OrderData;
  'payment.charged': OrderData;
  'payment.failed': OrderData;
  'shipment.scheduled': OrderData;
  'shipment.failed': OrderData;
};

/** The order saga: each step's command, and the compensation of each completed step. */
export const orderSaga: Saga = defineSaga<{ readonly steps: number }, OrderEvents>({
  name: 'order',
  startedBy: ['order.placed'],
  correlate: (e) => e.data.orderId,
  initial: { steps: 0 },
  on: {
    'order.placed': (s, e) => ({
      state: { steps: s.steps + 1 },
      commands: [{ type: 'stock.reserve', data: e.data }],
    }),
    'stock.reserved': (s, e) => ({
      state: { steps: s.steps + 1 },
      commands: [{ type: 'payment.charge', data: e.data }],
    }),
    'payment.charged': (s, e) => ({
      state: { steps: s.steps + 1 },
      commands: [{ type: 'shipment.schedule', data: e.data }],
    }),
    'shipment.scheduled': (s, e) => ({
      state: { steps: s.steps + 1 },
      emit: [{ type: 'order.completed', data: { orderId: e.data.orderId } }],
      done: true,
    }),
    'stock.failed': () => ({ fail: 'out of stock', step: false }),
    'payment.failed': () => ({ fail: 'payment declined', step: false }),
    'shipment.failed': () => ({ fail: 'no carrier', step: false }),
  },
  compensate: {
    'order.placed': (_s, ctx) => ({ emit: [{ type: 'order.cancelled', data: { orderId: ctx.key } }] }),
    'stock.reserved': (_s, ctx) => ({ commands: [{ type: 'stock.release', data: { orderId: ctx.key } }] }),
    'payment.charged': (_s, ctx) => ({ commands: [{ type: 'payment.refund', data: { orderId: ctx.key } }] }),
  },
});

/** Options of {@link orderServices}. */
export interface OrderServicesOptions {
  /** The shipping service never answers: a saga stays in its middle (for a hub to be killed there). */
  readonly holdShipment?: boolean;
}

/**
 * The services the saga's commands reach, as hub handlers.
 *
 * @example
 * const reactions = await createHubReactions({ hub, reactionStore, handlers: orderServices(), sagas: [orderSaga] });
 */
export function orderServices(options: OrderServicesOptions = {}): readonly Handler[] {
  const service = (name: string, command: string, step: Step, done: string, failed: string): Handler =>
    defineHandler<Record<string, OrderData>>({
      name,
      on: command,
      async handle(event, ctx) {
        if (step === 'shipment' && options.holdShipment === true) await new Promise<never>(() => undefined);
        ctx.emit({ type: event.data.failAt === step ? failed : done, data: event.data });
      },
    });
  return [
    service('stock-service', 'stock.reserve', 'stock', 'stock.reserved', 'stock.failed'),
    service('payment-service', 'payment.charge', 'payment', 'payment.charged', 'payment.failed'),
    service('shipment-service', 'shipment.schedule', 'shipment', 'shipment.scheduled', 'shipment.failed'),
  ];
}

/** The event types a completed order leaves in the log, in order. */
export const COMPLETED_ORDER = [
  'order.placed',
  'stock.reserve',
  'stock.reserved',
  'payment.charge',
  'payment.charged',
  'shipment.schedule',
  'shipment.scheduled',
  'order.completed',
] as const;
