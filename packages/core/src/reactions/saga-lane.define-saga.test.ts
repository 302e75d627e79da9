import type { CommittedEvent } from '@eventloom/protocol';
import { describe, expect, it } from 'vitest';
import { defineSaga } from './define-saga.ts';
import { createMemoryReactionStore } from './memory-reaction-store.ts';
import { createReactionRunner } from './reaction-runner.ts';
import { createFakeScheduler } from './testing/fake-scheduler.ts';
import { createMemoryEventLog } from './testing/memory-event-log.ts';
import { settle } from './testing/settle.ts';

describe('defineSaga', () => {
  it('checks its definition', () => {
    const base = { name: 's', correlate: () => 'k', initial: {}, on: { a: () => ({}) } };
    expect(() => defineSaga({ ...base, startedBy: [] })).toThrow(/startedBy/);
    // @ts-expect-error -- a start type without a reaction is a type error, and checked at runtime
    expect(() => defineSaga({ ...base, startedBy: ['b'] })).toThrow(/no reaction/);
    expect(() => defineSaga({ ...base, startedBy: ['a'], timeout: { afterMs: -1, on: () => ({}) } })).toThrow(
      RangeError,
    );
  });

  it('fails a reaction that schedules a timeout with no timeout.on, and one whose state JSON cannot hold', async () => {
    const log = createMemoryEventLog();
    const scheduler = createFakeScheduler();
    const store = createMemoryReactionStore();
    const saga = defineSaga<unknown, { go: { id: string; bad: 'timer' | 'state' } }>({
      name: 'strict',
      startedBy: ['go'],
      correlate: (e) => e.data.id,
      initial: {},
      retry: { attempts: 1, backoff: { initialMs: 0, factor: 1, maxMs: 0 } },
      on: {
        go: (_s, e) =>
          e.data.bad === 'timer' ? { schedule: [{ name: 't', afterMs: 1 }] } : { state: { at: new Map() } },
      },
    });
    const runner = createReactionRunner({ store, scheduler, feed: log.feed, sagas: [saga] });
    await runner.start();
    log.append(
      { type: 'go', data: { id: '1', bad: 'timer' }, stream: 's' },
      { type: 'go', data: { id: '2', bad: 'state' }, stream: 's' },
    );
    await runner.settled(2);
    const instances = await runner.sagaInstances();
    expect(instances.map((s) => [s.status, s.failure?.error?.code])).toEqual([
      ['compensated', 'invalid-reaction'],
      ['compensated', 'invalid-reaction'],
    ]);
    expect(instances[1]!.failure?.reason).toMatch(/state\.at is not a plain object/);
    await runner.stop();
  });

  it('dead-letters a saga whose compensations keep failing, and runs them again from the queue', async () => {
    const log = createMemoryEventLog();
    const scheduler = createFakeScheduler();
    const store = createMemoryReactionStore();
    let broken = true;
    const saga = defineSaga<unknown, { start: { id: string }; stop: { id: string } }>({
      name: 'fragile',
      startedBy: ['start'],
      correlate: (e) => e.data.id,
      initial: {},
      retry: { attempts: 2, backoff: { initialMs: 100, factor: 1, maxMs: 100 } },
      on: { start: () => ({}), stop: () => ({ fail: 'stopped' }) },
      compensate: {
        start: (_s, ctx) => {
          if (broken) throw new Error('undo service down');
          return { emit: [{ type: 'undone', data: { id: ctx.key } }] };
        },
      },
    });
    const runner = createReactionRunner({
      store,
      scheduler,
      feed: log.feed,
      outbox: log.relay,
      sagas: [saga],
    });
    await runner.start();
    const [, stop] = log.append(
      { type: 'start', data: { id: 'x' }, stream: 's' },
      { type: 'stop', data: { id: 'x' }, stream: 's' },
    );
    const done = runner.settled(2);
    await scheduler.next();
    await done;
    const [letter] = await runner.deadLetters.list();
    expect(letter).toMatchObject({
      id: 'fragile/fragile/x',
      handler: 'fragile',
      instance: 'fragile/x',
      event: { id: stop!.id },
      attempts: 2,
      error: { message: 'undo service down' },
    });
    expect((await runner.sagaInstances())[0]).toMatchObject({
      status: 'failed',
      failure: { reason: 'stopped' },
    });
    broken = false;
    expect(await runner.deadLetters.retry(letter!.id)).toEqual({ id: letter!.id, status: 'applied' });
    await settle(runner, () => log.head);
    expect(log.events.map((e: CommittedEvent) => e.type)).toEqual(['start', 'stop', 'undone']);
    expect((await runner.sagaInstances())[0]).toMatchObject({
      status: 'compensated',
      compensated: ['start'],
    });
    expect(await runner.deadLetters.retry(letter!.id)).toEqual({ id: letter!.id, status: 'missing' });
    await runner.stop();
  });
});
