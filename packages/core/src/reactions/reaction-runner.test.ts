import { describe, expect, it } from 'vitest';
import { CoreError, CoreErrorCode } from '../core-error.ts';
import type { ConfirmedEvent } from './confirmed-event.ts';
import { defineHandler, type HandlerContext } from './define-handler.ts';
import type { EventFeed } from './event-feed.ts';
import { createMemoryReactionStore } from './memory-reaction-store.ts';
import { createReactionRunner, type ReactionRunnerOptions } from './reaction-runner.ts';
import { createFakeScheduler } from './testing/fake-scheduler.ts';
import { createMemoryEventLog, type MemoryEventLog } from './testing/memory-event-log.ts';
import { settle } from './testing/settle.ts';

const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

function setup(overrides: Partial<ReactionRunnerOptions> = {}, log = createMemoryEventLog()) {
  const store = createMemoryReactionStore();
  const scheduler = createFakeScheduler();
  const runner = (more: Partial<ReactionRunnerOptions> = {}) =>
    createReactionRunner({ store, feed: log.feed, scheduler, outbox: log.relay, ...overrides, ...more });
  return { store, scheduler, log, runner };
}

function appendOrders(log: MemoryEventLog, n: number, from = 1) {
  return log.append(
    ...Array.from({ length: n }, (_, i) => ({
      type: (from + i) % 3 === 0 ? 'order.viewed' : 'order.placed',
      data: { orderId: `o${from + i}` },
      stream: `order:o${from + i}`,
    })),
  );
}

describe('a handler in a runner', () => {
  it('handles the confirmed events it takes, once, in position order, and checkpoints past the rest', async () => {
    const { log, runner } = setup();
    appendOrders(log, 5);
    const seen: number[] = [];
    const handler = defineHandler<{ 'order.placed': { orderId: string } }>({
      name: 'count',
      on: 'order.placed',
      handle: (e) => {
        seen.push(e.position);
      },
    });
    const r = runner({ handlers: [handler] });
    await r.start();
    await settle(r, () => log.head);
    appendOrders(log, 3, 6);
    await settle(r, () => log.head);
    expect(seen).toEqual([1, 2, 4, 5, 7, 8]);
    expect(r.checkpoints()).toEqual(new Map([['count', 8]]));
    await r.stop();
  });

  it('emits events traced from the trigger, written with its checkpoint and delivered once', async () => {
    const { log, runner, store } = setup();
    const [placed] = log.append({
      type: 'order.placed',
      data: { orderId: 'o1' },
      stream: 'order:o1',
      meta: { correlationId: 'checkout-7', traceparent: TRACEPARENT },
    });
    const [plain] = log.append({ type: 'order.placed', data: { orderId: 'o2' }, stream: 'order:o2' });
    const handler = defineHandler({
      name: 'invoice',
      on: ['order.placed'],
      handle: (e, ctx) => {
        ctx.emit({ type: 'invoice.created', data: e.data });
        ctx.command({ type: 'mail.send', data: e.data, stream: 'mail' });
      },
    });
    const r = runner({ handlers: [handler] });
    await r.start();
    await settle(r, () => log.head);
    const emitted = log.events.slice(2);
    expect(emitted.map((e) => [e.type, e.kind, e.stream, e.meta])).toEqual([
      [
        'invoice.created',
        'domain',
        'order:o1',
        { correlationId: 'checkout-7', causationId: placed!.id, traceparent: TRACEPARENT },
      ],
      [
        'mail.send',
        'command',
        'mail',
        { correlationId: 'checkout-7', causationId: placed!.id, traceparent: TRACEPARENT },
      ],
      ['invoice.created', 'domain', 'order:o2', { correlationId: plain!.id, causationId: plain!.id }],
      ['mail.send', 'command', 'mail', { correlationId: plain!.id, causationId: plain!.id }],
    ]);
    expect(log.fromMessage(`invoice/${placed!.id}/0`)).toBe(emitted[0]);
    expect(await store.transaction((tx) => tx.readOutbox())).toEqual([]);
    await r.stop();
  });

  it('retries a failing event with exponential backoff, dead-letters it after the last attempt and goes on', async () => {
    const { log, runner, scheduler } = setup();
    const [bad, good] = log.append(
      { type: 'order.placed', data: { orderId: 'bad' }, stream: 'order:bad' },
      { type: 'order.placed', data: { orderId: 'good' }, stream: 'order:good' },
    );
    const attempts: number[] = [];
    const handled: string[] = [];
    const handler = defineHandler<{ 'order.placed': { orderId: string } }>({
      name: 'ship',
      on: 'order.placed',
      retry: { attempts: 4, backoff: { initialMs: 100, factor: 2, maxMs: 250 } },
      handle: (e, ctx) => {
        if (e.data.orderId === 'bad') {
          attempts.push(ctx.attempt);
          ctx.emit({ type: 'never.written', data: {} });
          throw new CoreError(CoreErrorCode.internal, `cannot ship ${e.data.orderId}`);
        }
        handled.push(e.data.orderId);
      },
    });
    const r = runner({ handlers: [handler] });
    const t0 = scheduler.now();
    await r.start();
    const done = r.settled(log.head);
    for (let i = 0; i < 3; i++) await scheduler.next();
    await done;
    expect(scheduler.delays).toEqual([100, 200, 250]);
    expect(attempts).toEqual([1, 2, 3, 4]);
    expect(handled).toEqual(['good']);
    const [letter, ...others] = await r.deadLetters.list();
    expect(others).toEqual([]);
    expect(letter).toEqual({
      id: `ship/${bad!.id}`,
      handler: 'ship',
      event: bad,
      error: {
        name: 'CoreError',
        message: 'cannot ship bad',
        code: 'internal',
        stack: expect.stringContaining('cannot ship bad'),
      },
      attempts: 4,
      firstFailedAt: new Date(t0).toISOString(),
      lastFailedAt: new Date(t0 + 550).toISOString(),
    });
    expect(log.events.map((e) => e.type)).toEqual(['order.placed', 'order.placed']);
    expect(r.checkpoints().get('ship')).toBe(good!.position);
    await r.stop();
  });

  it('draws jittered delays below the backoff', async () => {
    const { log, runner, scheduler } = setup({ random: () => 0.5 });
    log.append({ type: 'x', data: {}, stream: 's' });
    const handler = defineHandler({
      name: 'jittery',
      on: 'x',
      retry: { attempts: 3, backoff: { initialMs: 100, factor: 3, maxMs: 10_000, jitter: 0.5 } },
      handle: () => {
        throw new Error('no');
      },
    });
    const r = runner({ handlers: [handler] });
    await r.start();
    await scheduler.next();
    await scheduler.next();
    await r.settled(1);
    expect(scheduler.delays).toEqual([75, 225]);
    await r.stop();
  });

  it('retries an async handler that rejects, and leaves the event unhandled when stopped during a backoff', async () => {
    const { log, runner, scheduler, store } = setup();
    log.append({ type: 'x', data: {}, stream: 's' });
    let calls = 0;
    let secondCall!: () => void;
    const called = new Promise<void>((resolve) => {
      secondCall = resolve;
    });
    const handler = defineHandler({
      name: 'async',
      on: 'x',
      handle: async () => {
        calls++;
        await Promise.resolve();
        if (calls === 2) secondCall();
        if (calls < 3) throw new Error(`call ${calls}`);
      },
    });
    const first = runner({ handlers: [handler] });
    await first.start();
    await scheduler.next();
    await called;
    await first.stop();
    expect(calls).toBe(2);
    expect(await store.transaction((tx) => tx.getCheckpoint('async'))).toBeUndefined();
    const second = runner({ handlers: [handler] });
    await second.start();
    await second.settled(1);
    expect(calls).toBe(3);
    expect(await second.deadLetters.size()).toBe(0);
    await second.stop();
  });

  it('starts where its checkpoint is after a restart', async () => {
    const { log, runner } = setup();
    appendOrders(log, 4);
    const seen: string[] = [];
    const handler = defineHandler<{ 'order.placed': { orderId: string } }>({
      name: 'resume',
      on: (e) => e.type === 'order.placed',
      handle: (e) => {
        seen.push((e as ConfirmedEvent<'order.placed', { orderId: string }>).data.orderId);
      },
    });
    const first = runner({ handlers: [handler] });
    await first.start();
    await first.settled(log.head);
    await first.stop();
    appendOrders(log, 2, 5);
    const second = runner({ handlers: [handler] });
    await second.start();
    await second.settled(log.head);
    expect(seen).toEqual(['o1', 'o2', 'o4', 'o5']);
    await second.stop();
  });

  it('skips events delivered again, under their position or another one within the dedupe window', async () => {
    const log = createMemoryEventLog();
    const events = appendOrders(log, 3);
    const twice: EventFeed = {
      async *read(after) {
        const fresh = events.filter((e) => e.position > after);
        yield fresh;
        yield fresh; // the same page again
        yield [{ ...events[0]!, position: 10 }]; // the first event again, moved
        yield [{ ...events[1]!, id: 'another-id', position: 11 }];
      },
    };
    const { runner } = setup({ feed: twice }, log);
    const seen: string[] = [];
    const handler = defineHandler({ name: 'once', on: 'order.placed', handle: (e) => void seen.push(e.id) });
    const r = runner({ handlers: [handler] });
    await r.start();
    await r.settled(11);
    expect(seen).toEqual([events[0]!.id, events[1]!.id, 'another-id']);
    await r.stop();
  });

  it('reports a failing feed on errors$ and reads again from its checkpoint', async () => {
    const log = createMemoryEventLog();
    appendOrders(log, 2);
    let reads = 0;
    const flaky: EventFeed = {
      read(after) {
        reads++;
        if (reads === 1) {
          return {
            [Symbol.asyncIterator]: () => ({
              next: () => Promise.reject(new Error('socket reset')),
            }),
          };
        }
        return log.feed.read(after);
      },
    };
    const { runner, scheduler } = setup({ feed: flaky }, log);
    const seen: number[] = [];
    const handler = defineHandler({
      name: 'h',
      on: 'order.placed',
      handle: (e) => void seen.push(e.position),
    });
    const r = runner({ handlers: [handler] });
    const errors: CoreError[] = [];
    r.errors$.subscribe((e) => errors.push(e));
    await r.start();
    await scheduler.next();
    await r.settled(2);
    expect(errors.map((e) => e.message)).toEqual(['socket reset']);
    expect(seen).toEqual([1, 2]);
    await r.stop();
  });

  it('refuses to emit once handle has returned', async () => {
    const { log, runner } = setup();
    log.append({ type: 'x', data: {}, stream: 's' });
    let late: HandlerContext | undefined;
    const handler = defineHandler({ name: 'leaky', on: 'x', handle: (_e, ctx) => void (late = ctx) });
    const r = runner({ handlers: [handler] });
    await r.start();
    await r.settled(1);
    expect(() => late!.emit({ type: 'y', data: {} })).toThrow(
      expect.objectContaining({ code: CoreErrorCode.invalidState }),
    );
    await r.stop();
  });

  it('checks its definitions', () => {
    const { runner } = setup();
    const h = defineHandler({ name: 'same', on: 'x', handle: () => undefined });
    expect(() => runner({ handlers: [h, h] })).toThrow(
      expect.objectContaining({ code: CoreErrorCode.invalidDefinition }),
    );
    expect(() =>
      defineHandler({
        name: 'bad',
        on: 'x',
        handle: () => undefined,
        retry: { attempts: 0, backoff: { initialMs: 1, factor: 2, maxMs: 2 } },
      }),
    ).toThrow(expect.objectContaining({ code: CoreErrorCode.invalidDefinition }));
    expect(() =>
      defineHandler({
        name: 'bad',
        on: 'x',
        handle: () => undefined,
        retry: { attempts: 2, backoff: { initialMs: 10, factor: 0.5, maxMs: 20 } },
      }),
    ).toThrow(/factor/);
    expect(() =>
      defineHandler({ name: 'bad', on: 'x', handle: () => undefined, checkpointEvery: 0 }),
    ).toThrow(RangeError);
  });
});
