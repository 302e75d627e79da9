import { describe, expect, it } from 'vitest';
import { CoreErrorCode } from '../core-error.ts';
import type { DeadLetter } from './dead-letter.ts';
import { createDeadLetterQueue } from './dead-letter-queue.ts';
import { defineHandler, type Handler } from './define-handler.ts';
import { createMemoryReactionStore } from './memory-reaction-store.ts';
import { createReactionRunner } from './reaction-runner.ts';
import { createFakeScheduler } from './testing/fake-scheduler.ts';
import { createMemoryEventLog } from './testing/memory-event-log.ts';
import { settle } from './testing/settle.ts';

type Events = { 'payment.requested': { id: string; amount: number } };

/** A handler that fails while `broken` says so, and records each success. */
function flaky(name: string, state: { broken: boolean; applied: string[] }): Handler {
  return defineHandler<Events>({
    name,
    on: 'payment.requested',
    retry: { attempts: 3, backoff: { initialMs: 10, factor: 2, maxMs: 1000 } },
    handle: (e, ctx) => {
      if (state.broken) throw new Error(`gateway down for ${e.data.id}`);
      state.applied.push(`${name}:${e.data.id}`);
      ctx.emit({ type: 'payment.captured', data: { id: e.data.id, by: name } });
    },
  });
}

/** A runner whose handler dead-letters the first `letters` events, with the DLQ over its store. */
async function withLetters(letters: number, extraHandlers: readonly Handler[] = []) {
  const store = createMemoryReactionStore();
  const scheduler = createFakeScheduler();
  const log = createMemoryEventLog();
  const state = { broken: true, applied: [] as string[] };
  const handler = flaky('capture', state);
  const runner = createReactionRunner({
    store,
    scheduler,
    feed: log.feed,
    outbox: log.relay,
    handlers: [handler, ...extraHandlers],
  });
  await runner.start();
  const events = log.append(
    ...Array.from({ length: letters }, (_, i) => ({
      type: 'payment.requested',
      data: { id: `p${i + 1}`, amount: 10 * (i + 1) },
      stream: `payment:p${i + 1}`,
    })),
  );
  const done = runner.settled(log.head);
  for (let i = 0; i < letters * 2; i++) await scheduler.next();
  await done;
  return { store, scheduler, log, state, handler, runner, events, dlq: runner.deadLetters };
}

const captured = (log: ReturnType<typeof createMemoryEventLog>) =>
  log.events.filter((e) => e.type === 'payment.captured').map((e) => e.data);

describe('the dead-letter queue', () => {
  it('lists the letters and their count, and emits the list on deadLetters$ after each change', async () => {
    const { dlq, events } = await withLetters(2);
    const lists: (readonly DeadLetter[])[] = [];
    const subscription = dlq.deadLetters$.subscribe((l) => lists.push(l));
    const letters = await dlq.list();
    expect(letters.map((l) => l.event?.id)).toEqual(events.map((e) => e.id));
    expect(letters.map((l) => l.attempts)).toEqual([3, 3]);
    expect(await dlq.size()).toBe(2);
    expect(await dlq.discard(letters[0]!.id)).toBe(true);
    expect(await dlq.discard(letters[0]!.id)).toBe(false);
    expect(await dlq.size()).toBe(1);
    await Promise.resolve();
    expect(lists.map((l) => l.length)).toEqual([2, 1]);
    subscription.unsubscribe();
  });

  it('retries a letter: success applies it once, emits once and removes the letter', async () => {
    const { dlq, state, log, runner } = await withLetters(1);
    const [letter] = await dlq.list();
    state.broken = false;
    expect(await dlq.retry(letter!.id)).toEqual({ id: letter!.id, status: 'applied' });
    await settle(runner, () => log.head);
    expect(state.applied).toEqual(['capture:p1']);
    expect(captured(log)).toEqual([{ id: 'p1', by: 'capture' }]);
    const [emitted] = log.events.filter((e) => e.type === 'payment.captured');
    expect(emitted!.meta).toEqual({ correlationId: letter!.event!.id, causationId: letter!.event!.id });
    expect(await dlq.size()).toBe(0);
    expect(await dlq.retry(letter!.id)).toEqual({ id: letter!.id, status: 'missing' });
    expect(state.applied).toEqual(['capture:p1']);
    await runner.stop();
  });

  it('keeps a letter whose retry fails, one attempt more, with the new error and time', async () => {
    const { dlq, scheduler, runner } = await withLetters(1);
    const [letter] = await dlq.list();
    await scheduler.advance(5_000);
    const outcome = await dlq.retry(letter!.id);
    expect(outcome).toMatchObject({ status: 'failed', error: { message: 'gateway down for p1' } });
    const [after] = await dlq.list();
    expect(after).toEqual({
      ...letter,
      attempts: 4,
      lastFailedAt: new Date(scheduler.now()).toISOString(),
      error: expect.objectContaining({ message: 'gateway down for p1' }),
    });
    await runner.stop();
  });

  it('retries all letters, oldest first', async () => {
    const { dlq, state, runner } = await withLetters(3);
    state.broken = false;
    const outcomes = await dlq.retryAll();
    expect(outcomes.map((o) => o.status)).toEqual(['applied', 'applied', 'applied']);
    expect(state.applied).toEqual(['capture:p1', 'capture:p2', 'capture:p3']);
    expect(await dlq.retryAll()).toEqual([]);
    await runner.stop();
  });

  it('replays a letter into another handler once, however often and from however many queues it is asked', async () => {
    const { dlq, store, scheduler, log, runner } = await withLetters(1);
    const [letter] = await dlq.list();
    const fallback = { broken: false, applied: [] as string[] };
    const manual = flaky('manual-capture', fallback);
    const otherTab = createDeadLetterQueue({ store, scheduler });
    const outcomes = await Promise.all([
      dlq.replay(letter!.id, manual),
      otherTab.replay(letter!.id, manual),
      dlq.replay(letter!.id, manual),
    ]);
    const statuses = outcomes.map((o) => o.status);
    expect(statuses.filter((s) => s === 'applied')).toHaveLength(1);
    expect(statuses.filter((s) => s !== 'applied').every((s) => s === 'busy' || s === 'missing')).toBe(true);
    await settle(runner, () => log.head);
    expect(fallback.applied).toEqual(['manual-capture:p1']);
    expect(captured(log)).toEqual([{ id: 'p1', by: 'manual-capture' }]);
    expect(await dlq.size()).toBe(0);
    await runner.stop();
  });

  it('does not replay into a handler that applied the event in order, nor into one whose runner will', async () => {
    const audit = { broken: false, applied: [] as string[] };
    const auditor = flaky('audit', audit);
    const { dlq, runner } = await withLetters(1, [auditor]);
    expect(audit.applied).toEqual(['audit:p1']);
    const [letter] = await dlq.list();
    expect(await dlq.replay(letter!.id, auditor)).toEqual({ id: letter!.id, status: 'duplicate' });
    expect(audit.applied).toEqual(['audit:p1']);
    expect(await dlq.size()).toBe(0);
    await runner.stop();
  });

  it('does not apply a retried event twice when a stale queue replays it into the same handler', async () => {
    const { dlq, state, store, scheduler, handler, runner } = await withLetters(1);
    const [letter] = await dlq.list();
    state.broken = false;
    await dlq.retry(letter!.id);
    // A second queue re-creates the letter from an old copy (a tab that missed the retry) and replays it.
    await store.transaction((tx) => tx.putDeadLetter({ ...letter!, id: 'stale', handler: 'elsewhere' }));
    const stale = createDeadLetterQueue({ store, scheduler });
    expect(await stale.replay('stale', handler)).toEqual({ id: 'stale', status: 'duplicate' });
    expect(state.applied).toEqual(['capture:p1']);
    await runner.stop();
  });

  it('lets one queue at a time run a letter (a lease), and frees it when that queue dies mid-retry', async () => {
    const { store, scheduler, dlq, runner, log } = await withLetters(1);
    const [letter] = await dlq.list();
    let entered!: () => void;
    const inside = new Promise<void>((resolve) => {
      entered = resolve;
    });
    const stuck = defineHandler({
      name: 'stuck',
      on: 'payment.requested',
      handle: () => {
        entered();
        return new Promise<void>(() => undefined); // its tab is closed mid-call
      },
    });
    const abandoned = dlq.replay(letter!.id, stuck);
    await inside;
    const [leased] = await dlq.list();
    expect(leased!.retrying).toEqual({
      by: expect.any(String),
      until: new Date(scheduler.now() + 60_000).toISOString(),
    });
    const other = createDeadLetterQueue({
      store,
      scheduler,
      handlers: [flaky('capture', { broken: false, applied: [] })],
    });
    expect(await other.retry(letter!.id)).toEqual({ id: letter!.id, status: 'busy' });
    await scheduler.advance(60_001);
    expect(await other.retry(letter!.id)).toEqual({ id: letter!.id, status: 'applied' });
    await settle(runner, () => log.head);
    expect(captured(log)).toEqual([{ id: 'p1', by: 'capture' }]);
    void abandoned;
    await runner.stop();
  });

  it('cannot retry a letter whose handler it does not know', async () => {
    const { store, scheduler, runner } = await withLetters(1);
    const bare = createDeadLetterQueue({ store, scheduler });
    const [letter] = await bare.list();
    await expect(bare.retry(letter!.id)).rejects.toMatchObject({ code: CoreErrorCode.unknownHandler });
    expect(await bare.retryAll()).toEqual([
      { id: letter!.id, status: 'failed', error: expect.objectContaining({ code: 'unknown-handler' }) },
    ]);
    await runner.stop();
  });
});
