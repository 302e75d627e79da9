import { describe, expect, it } from 'vitest';
import { CoreErrorCode } from '../core-error.ts';
import { defineHandler } from './define-handler.ts';
import { defineSaga } from './define-saga.ts';
import type { EventFeed } from './event-feed.ts';
import { createMemoryReactionStore, type MemoryReactionStore } from './memory-reaction-store.ts';
import type { OutboxRelay } from './outbox-message.ts';
import { createReactionRunner, type ReactionRunner } from './reaction-runner.ts';
import { createFakeScheduler, type FakeScheduler } from './testing/fake-scheduler.ts';
import { createMemoryEventLog, type MemoryEventLog } from './testing/memory-event-log.ts';
import { settle } from './testing/settle.ts';

type Step = 'stock' | 'payment' | 'shipping';

interface CheckoutEvents {
  'order.placed': { orderId: string };
  'stock.reserved': { orderId: string };
  'stock.rejected': { orderId: string; reason: string };
  'payment.charged': { orderId: string; amount: number };
  'payment.declined': { orderId: string; reason: string };
  'shipment.created': { orderId: string };
  'shipment.failed': { orderId: string; reason: string };
}

interface CheckoutState {
  readonly stage: 'reserving' | 'charging' | 'shipping' | 'completed';
  readonly charged?: number;
}

/** What the shop's world does: which step refuses, which reactions blow up, and crash points. */
interface World {
  refuse?: Step;
  /** The saga's reaction to this event type throws (every attempt). */
  sagaThrowsOn?: keyof CheckoutEvents;
  /** The payment service never answers. */
  paymentSilent?: boolean;
  /** Called at the named point; a test crashes the runtime there. */
  at?: (point: 'service' | 'saga' | 'relay') => void;
}

/**
 * A three-step checkout saga: reserve stock, charge payment, create the shipment, each step a
 * command answered by a service (a handler) with a correlated event, and each completed step
 * compensated in reverse when a later one fails. The payment step has a durable timeout.
 */
function checkout(world: World) {
  const maybeThrow = (type: keyof CheckoutEvents) => {
    if (world.sagaThrowsOn === type) throw new Error(`the saga cannot make sense of ${type}`);
    world.at?.('saga');
  };
  const data = (orderId: string) => ({ orderId });
  return defineSaga<CheckoutState, CheckoutEvents>({
    name: 'checkout',
    startedBy: ['order.placed'],
    correlate: (e) => e.data.orderId,
    initial: { stage: 'reserving' },
    retry: { attempts: 3, backoff: { initialMs: 1_000, factor: 2, maxMs: 10_000 } },
    on: {
      'order.placed': (state, e) => {
        maybeThrow(e.type);
        return { state, commands: [{ type: 'stock.reserve', data: data(e.data.orderId) }] };
      },
      'stock.reserved': (_s, e) => {
        maybeThrow(e.type);
        return {
          state: { stage: 'charging' },
          commands: [{ type: 'payment.charge', data: { ...data(e.data.orderId), amount: 42 } }],
          schedule: [{ name: 'payment', afterMs: 30_000 }],
        };
      },
      'stock.rejected': (state, e) => ({ state, fail: e.data.reason }),
      'payment.charged': (_s, e) => {
        maybeThrow(e.type);
        return {
          state: { stage: 'shipping', charged: e.data.amount },
          commands: [{ type: 'shipment.create', data: data(e.data.orderId) }],
          cancel: ['payment'],
        };
      },
      'payment.declined': (state, e) => ({ state, fail: e.data.reason }),
      'shipment.created': (state, e) => {
        maybeThrow(e.type);
        return {
          state: { ...state, stage: 'completed' },
          emit: [{ type: 'order.completed', data: data(e.data.orderId) }],
          done: true,
        };
      },
      'shipment.failed': (state, e) => ({ state, fail: e.data.reason }),
    },
    compensate: {
      'order.placed': (_s, ctx) => ({
        commands: [{ type: 'order.cancel', data: { orderId: ctx.key, reason: ctx.reason } }],
      }),
      'stock.reserved': (_s, ctx) => ({ commands: [{ type: 'stock.release', data: data(ctx.key) }] }),
      'payment.charged': (s, ctx) => ({
        commands: [{ type: 'payment.refund', data: { ...data(ctx.key), amount: s.charged ?? 0 } }],
      }),
    },
    timeout: { on: (state, t) => ({ state, fail: `${t.name} timed out` }) },
  });
}

/** The services: each answers its command with a correlated event, or refuses. */
function services(world: World) {
  const service = (command: string, step: Step, ok: string, refused: string) =>
    defineHandler({
      name: `${step}-service`,
      on: command,
      handle: (e, ctx) => {
        const { orderId } = e.data as { orderId: string };
        if (step === 'payment' && world.paymentSilent) return;
        world.at?.('service');
        ctx.emit(
          world.refuse === step
            ? { type: refused, data: { orderId, reason: `${step} refused` } }
            : { type: ok, data: step === 'payment' ? { orderId, amount: 42 } : { orderId } },
        );
      },
    });
  return [
    service('stock.reserve', 'stock', 'stock.reserved', 'stock.rejected'),
    service('payment.charge', 'payment', 'payment.charged', 'payment.declined'),
    service('shipment.create', 'shipping', 'shipment.created', 'shipment.failed'),
  ];
}

/** A feed a test can cut, as a killed process stops reading. */
function killable(feed: EventFeed): { feed: EventFeed; kill: () => void } {
  let kill!: () => void;
  const killed = new Promise<IteratorResult<never>>((resolve) => {
    kill = () => resolve({ done: true, value: undefined });
  });
  return {
    kill,
    feed: {
      read(after) {
        const iterator = feed.read(after)[Symbol.asyncIterator]();
        return {
          [Symbol.asyncIterator]: () => ({
            next: () => Promise.race([iterator.next(), killed]),
            return: () => iterator.return?.() ?? Promise.resolve({ done: true, value: undefined }),
          }),
        };
      },
    },
  };
}

/** One runtime of the shop (the hub, or the leader tab): a runner over a store handle. */
interface Incarnation {
  readonly runner: ReactionRunner;
  readonly store: MemoryReactionStore;
  readonly scheduler: FakeScheduler;
  /** Kills it: the store handle fails from now on, the feed stops, its timers are forgotten. */
  crash(): void;
}

function shop(world: World = {}) {
  const log = createMemoryEventLog();
  let storage = createMemoryReactionStore();
  let now: number | undefined;
  const incarnate = async (): Promise<Incarnation> => {
    const store = storage.reopen();
    storage = store;
    const scheduler = createFakeScheduler(now === undefined ? {} : { now });
    const cut = killable(log.feed);
    const relay: OutboxRelay = {
      deliver: async (messages) => {
        await log.relay.deliver(messages);
        world.at?.('relay');
      },
    };
    const runner = createReactionRunner({
      store,
      scheduler,
      feed: cut.feed,
      outbox: relay,
      handlers: services(world),
      sagas: [checkout(world)],
    });
    await runner.start();
    return {
      runner,
      store,
      scheduler,
      crash() {
        store.close();
        cut.kill();
        now = scheduler.now();
      },
    };
  };
  const place = (orderId: string) =>
    log.append({ type: 'order.placed', data: { orderId }, stream: `order:${orderId}` })[0]!;
  return { log, incarnate, place, world };
}

const types = (log: MemoryEventLog) => log.events.map((e) => e.type);

const HAPPY = [
  'order.placed',
  'stock.reserve',
  'stock.reserved',
  'payment.charge',
  'payment.charged',
  'shipment.create',
  'shipment.created',
  'order.completed',
];

describe('a three-step saga with compensations', () => {
  it('completes: each command once, each answer correlated, the instance done with its steps', async () => {
    const { log, incarnate, place } = shop();
    const { runner, store } = await incarnate();
    const placed = place('o1');
    await settle(runner, () => log.head);
    expect(types(log)).toEqual(HAPPY);
    for (const event of log.events.slice(1)) expect(event.meta.correlationId).toBe(placed.id);
    const causes = log.events.slice(1).map((e) => log.events.find((c) => c.id === e.meta.causationId)?.type);
    expect(causes).toEqual(HAPPY.slice(0, -1));
    const [instance] = await runner.sagaInstances();
    expect(instance).toMatchObject({
      id: 'checkout/o1',
      status: 'done',
      state: { stage: 'completed', charged: 42 },
      steps: ['order.placed', 'stock.reserved', 'payment.charged', 'shipment.created'],
      compensated: [],
      version: 4,
    });
    expect(await store.transaction((tx) => tx.listTimeouts())).toEqual([]);
    await runner.stop();
  });

  it.each([
    ['stock', 'stock.rejected', 2, ['order.cancel']],
    ['payment', 'payment.declined', 4, ['stock.release', 'order.cancel']],
    ['shipping', 'shipment.failed', 6, ['payment.refund', 'stock.release', 'order.cancel']],
  ] as const)(
    'compensates once, in reverse, when the %s step is refused',
    async (step, rejection, upTo, compensations) => {
      const { log, incarnate, place } = shop({ refuse: step });
      const { runner, scheduler } = await incarnate();
      const placed = place('o1');
      await settle(runner, () => log.head);
      expect(types(log)).toEqual([...HAPPY.slice(0, upTo), rejection, ...compensations]);
      const compensating = log.events.slice(-compensations.length);
      for (const event of compensating) {
        expect(event.kind).toBe('command');
        expect(event.meta.correlationId).toBe(placed.id);
        expect(event.meta.causationId).toBe(log.events[upTo]!.id);
      }
      expect(compensating[compensating.length - 1]!.data).toEqual({
        orderId: 'o1',
        reason: `${step} refused`,
      });
      const [instance] = await runner.sagaInstances();
      expect(instance).toMatchObject({ status: 'compensated', failure: { reason: `${step} refused` } });
      expect(instance!.compensated).toEqual(
        compensations.map(
          (c) =>
            ({
              'order.cancel': 'order.placed',
              'stock.release': 'stock.reserved',
              'payment.refund': 'payment.charged',
            })[c],
        ),
      );
      // The rejection again, and the timeout's deadline passing: nothing more is compensated.
      log.append({ type: rejection, data: { orderId: 'o1', reason: 'again' }, stream: 'order:o1' });
      await scheduler.advance(60_000);
      await settle(runner, () => log.head);
      expect(types(log).filter((t) => compensations.includes(t as never))).toEqual(compensations);
      expect(scheduler.pending).toEqual([]);
      await runner.stop();
    },
  );

  it.each([
    ['order.placed', ['order.cancel']],
    ['stock.reserved', ['stock.release', 'order.cancel']],
    ['payment.charged', ['payment.refund', 'stock.release', 'order.cancel']],
    ['shipment.created', ['payment.refund', 'stock.release', 'order.cancel']],
  ] as const)('compensates once when its reaction to %s keeps throwing', async (type, compensations) => {
    const { log, incarnate, place } = shop({ sagaThrowsOn: type });
    const { runner, scheduler } = await incarnate();
    place('o1');
    const done = settle(runner, () => log.head);
    await scheduler.next((t) => t.delay === 1_000);
    await scheduler.next((t) => t.delay === 2_000);
    await done;
    expect(scheduler.delays.filter((d) => d !== 30_000)).toEqual([1_000, 2_000]);
    const at = HAPPY.indexOf(type);
    expect(types(log)).toEqual([...HAPPY.slice(0, at + 1), ...compensations]);
    const [instance] = await runner.sagaInstances();
    expect(instance).toMatchObject({
      status: 'compensated',
      failure: { reason: `the saga cannot make sense of ${type}`, error: { name: 'Error' } },
    });
    expect(await runner.deadLetters.size()).toBe(0);
    await runner.stop();
  });

  it.each(['service', 'saga', 'relay'] as const)(
    'completes exactly once when its runtime is killed in a %s mid-saga and another one takes over the store',
    async (where) => {
      const { log, incarnate, place, world } = shop();
      let calls = 0;
      let first!: Incarnation;
      world.at = (point) => {
        // The second call at that point (in the middle of the saga) kills the runtime.
        if (point === where && ++calls === 2) first.crash();
      };
      first = await incarnate();
      place('o1');
      // The dead runtime's runner either fails on its closed store or ends with its feed.
      await settle(first.runner, () => log.head).catch((error: unknown) => {
        expect(error).toMatchObject({ code: CoreErrorCode.storeClosed });
      });
      expect(types(log).length).toBeLessThan(HAPPY.length);
      delete world.at;
      const second = await incarnate();
      await settle(second.runner, () => log.head);
      expect(types(log)).toEqual(HAPPY);
      const [instance] = await second.runner.sagaInstances();
      expect(instance).toMatchObject({ status: 'done', version: 4 });
      await second.runner.stop();
    },
  );

  it('keeps its timeouts across a restart: re-armed from the store, fired once, compensated once', async () => {
    const { log, incarnate, place } = shop({ paymentSilent: true });
    const first = await incarnate();
    place('o1');
    await settle(first.runner, () => log.head);
    expect(first.scheduler.pending.map((t) => t.delay)).toEqual([30_000]);
    const [stored] = await first.store.transaction((tx) => tx.listTimeouts());
    expect(stored).toMatchObject({
      id: 'checkout/o1/payment',
      name: 'payment',
      dueAt: first.scheduler.now() + 30_000,
    });
    await first.scheduler.advance(10_000);
    first.crash();

    const second = await incarnate();
    expect(second.scheduler.pending.map((t) => t.delay)).toEqual([20_000]);
    await second.scheduler.next();
    await settle(second.runner, () => log.head);
    expect(types(log)).toEqual([...HAPPY.slice(0, 4), 'stock.release', 'order.cancel']);
    const cancel = log.events[log.events.length - 1]!;
    expect(cancel.data).toEqual({ orderId: 'o1', reason: 'payment timed out' });
    expect(log.events.find((e) => e.id === cancel.meta.causationId)?.type).toBe('stock.reserved');
    expect(await second.store.transaction((tx) => tx.listTimeouts())).toEqual([]);
    second.crash();

    const third = await incarnate();
    expect(third.scheduler.pending).toEqual([]);
    await third.runner.stop();
  });

  it('fires at once a timeout that fell due while no runtime ran', async () => {
    const { log, incarnate, place } = shop({ paymentSilent: true });
    const first = await incarnate();
    place('o1');
    await settle(first.runner, () => log.head);
    await first.runner.stop();
    first.crash();
    await first.scheduler.advance(0);
    const second = await incarnate();
    await second.scheduler.advance(0);
    expect(second.scheduler.pending.map((t) => t.delay)).toEqual([30_000]);
    second.crash();
    // Down for an hour: the deadline passed meanwhile.
    const later = createFakeScheduler({ now: second.scheduler.now() + 3_600_000 });
    const runner = createReactionRunner({
      store: second.store.reopen(),
      scheduler: later,
      feed: log.feed,
      outbox: log.relay,
      sagas: [checkout({ paymentSilent: true })],
    });
    await runner.start();
    expect(later.pending.map((t) => t.delay)).toEqual([0]);
    await later.next();
    await settle(runner, () => log.head);
    expect(types(log).slice(-2)).toEqual(['stock.release', 'order.cancel']);
    await runner.stop();
  });

  it('cancels a timeout when the step it guards completes', async () => {
    const { log, incarnate, place } = shop();
    const { runner, scheduler, store } = await incarnate();
    place('o1');
    place('o2');
    await settle(runner, () => log.head);
    expect(scheduler.pending).toEqual([]);
    expect(await store.transaction((tx) => tx.listTimeouts())).toEqual([]);
    expect((await runner.sagaInstances()).map((s) => s.status)).toEqual(['done', 'done']);
    await runner.stop();
  });

  it('runs each correlation key once: a start event seen again does not start it again', async () => {
    const { log, incarnate, place } = shop();
    const { runner } = await incarnate();
    place('o1');
    await settle(runner, () => log.head);
    place('o1');
    await settle(runner, () => log.head);
    expect(types(log)).toEqual([...HAPPY, 'order.placed']);
    await runner.stop();
  });
});
