/**
 * Choreography (DESIGN.md §7): services that react to each other's events with no coordinator.
 * Each service runs its own handlers, on its own runtime and store (a client, a hub, another
 * hub), and knows only the events it consumes and the ones it emits. The flow — order placed →
 * invoice issued → payment received → order shipped → invoice closed — exists only as the sum of
 * these reactions; compare the checkout saga in `saga-lane.test.ts`, where one process manager
 * holds the flow and its compensations.
 *
 * @example
 * for (const handlers of [billing, payments, warehouse]) {
 *   await createReactionRunner({ store: ownStore(), feed: hubFeed, scheduler, handlers, outbox: hubRelay }).start();
 * }
 */
import { defineHandler, type Handler } from '../define-handler.ts';

/** The events of the flow, by type. */
export interface ShopEvents {
  'order.placed': { orderId: string; total: number };
  'invoice.issued': { orderId: string; invoiceId: string; amount: number };
  'payment.received': { orderId: string; invoiceId: string; amount: number };
  'order.shipped': { orderId: string };
  'invoice.closed': { invoiceId: string };
}

/** Billing issues an invoice for each order, and closes it once the order has shipped. */
export const billing: readonly Handler[] = [
  defineHandler<Pick<ShopEvents, 'order.placed'>>({
    name: 'billing.issue-invoice',
    on: 'order.placed',
    handle: (e, ctx) =>
      ctx.emit({
        type: 'invoice.issued',
        data: { orderId: e.data.orderId, invoiceId: `inv-${e.data.orderId}`, amount: e.data.total },
        stream: `invoice:inv-${e.data.orderId}`,
      }),
  }),
  defineHandler<Pick<ShopEvents, 'order.shipped'>>({
    name: 'billing.close-invoice',
    on: 'order.shipped',
    handle: (e, ctx) =>
      ctx.emit({
        type: 'invoice.closed',
        data: { invoiceId: `inv-${e.data.orderId}` },
        stream: `invoice:inv-${e.data.orderId}`,
      }),
  }),
];

/** Payments collects each invoice (here at once; in life, through a payment provider keyed by event id). */
export const payments: readonly Handler[] = [
  defineHandler<Pick<ShopEvents, 'invoice.issued'>>({
    name: 'payments.collect',
    on: 'invoice.issued',
    handle: (e, ctx) =>
      ctx.emit({
        type: 'payment.received',
        data: { orderId: e.data.orderId, invoiceId: e.data.invoiceId, amount: e.data.amount },
        stream: `payment:${e.data.invoiceId}`,
      }),
  }),
];

/** The warehouse ships what is paid for. */
export const warehouse: readonly Handler[] = [
  defineHandler<Pick<ShopEvents, 'payment.received'>>({
    name: 'warehouse.ship-paid-order',
    on: 'payment.received',
    handle: (e, ctx) =>
      ctx.emit({
        type: 'order.shipped',
        data: { orderId: e.data.orderId },
        stream: `order:${e.data.orderId}`,
      }),
  }),
];
