import {
  createReactionRunner,
  defineHandler,
  defineSaga,
  observableFeed,
  type EventFeed,
  type OutboxMessage,
} from '@eventloom/core';
import { createFakeScheduler } from '@eventloom/core/testing';
import { IDBKeyRange, indexedDB } from 'fake-indexeddb';
import { filter, firstValueFrom } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { DexieClientStore } from '../dexie-client-store.ts';
import { createEventloom, type Eventloom } from '../eventloom.ts';
import { confirmAll, TodoAdded, todoDecider, todoRegistry, type TodoEvents } from '../testing/todo-model.ts';
import { createReactions, type Reactions } from './create-reactions.ts';
import { DexieReactionStore } from './dexie-reaction-store.ts';
import { loomOutboxRelay } from './loom-outbox-relay.ts';
import { syncPortOf } from '../sync-port-access.ts';

/** The one event type these handlers take: their events' `data` is typed by it. */
type Added = Pick<TodoEvents, 'todo.added'>;

const storage = { indexedDB, IDBKeyRange };
const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function open(name: string): Promise<Eventloom<typeof TodoAdded>> {
  const loom = await createEventloom({ name, registry: todoRegistry, storage });
  cleanup.push(() => loom.close());
  return loom as unknown as Eventloom<typeof TodoAdded>;
}

function react(loom: Eventloom, options: Parameters<typeof createReactions>[1]): Reactions {
  const reactions = createReactions(loom, { storage, ...options });
  cleanup.push(() => reactions.stop());
  return reactions;
}

const add = (id: string) => TodoAdded.create({ id, title: id, tags: [] });

describe('createReactions on the client database', () => {
  it('retries a failing handler with backoff, dead-letters it, retries it from the queue; a replay does not apply twice', async () => {
    const loom = await open(`reactions-dlq-${crypto.randomUUID()}`);
    const scheduler = createFakeScheduler();
    let broken = true;
    const attempts: number[] = [];
    const applied: string[] = [];
    const notify = defineHandler<Added>({
      name: 'notify',
      on: 'todo.added',
      retry: { attempts: 3, backoff: { initialMs: 100, factor: 2, maxMs: 1_000 } },
      handle: (e, ctx) => {
        if (e.data.id === 'bad' && broken) {
          attempts.push(ctx.attempt);
          throw new Error('mail server down');
        }
        applied.push(`notify:${e.data.id}`);
        ctx.emit({ type: 'todo.done', data: { id: e.data.id } });
      },
    });
    // A second handler that fails on the same event, so that its letter can be replayed into `notify`.
    const audit = defineHandler<Added>({
      name: 'audit',
      on: 'todo.added',
      retry: { attempts: 1, backoff: { initialMs: 100, factor: 2, maxMs: 1_000 } },
      handle: (e) => {
        if (e.data.id === 'bad') throw new Error('audit log full');
      },
    });
    await loom.append('list:1', add('bad'));
    await loom.append('list:1', add('ok'));
    const head = await confirmAll(loom);
    const reactions = react(loom, { handlers: [notify, audit], scheduler });
    const done = reactions.settled(head);
    await scheduler.next();
    await scheduler.next();
    await done;

    expect(scheduler.delays).toEqual([100, 200]);
    expect(attempts).toEqual([1, 2, 3]);
    expect(applied).toEqual(['notify:ok']);
    const [bad] = await loom.readEvents({ type: 'todo.added' });
    const letters = await reactions.deadLetters.list();
    expect(letters.map((l) => [l.id, l.handler, l.attempts, l.error.message, l.event?.id])).toEqual([
      [`notify/${bad!.id}`, 'notify', 3, 'mail server down', bad!.id],
      [`audit/${bad!.id}`, 'audit', 1, 'audit log full', bad!.id],
    ]);
    expect(await firstValueFrom(reactions.deadLetters.deadLetters$)).toHaveLength(2);

    broken = false;
    expect(await reactions.deadLetters.retry(`notify/${bad!.id}`)).toEqual({
      id: `notify/${bad!.id}`,
      status: 'applied',
    });
    // The audit letter replayed into `notify`, which applied the event already: it does not run again.
    expect(await reactions.deadLetters.replay(`audit/${bad!.id}`, notify)).toEqual({
      id: `audit/${bad!.id}`,
      status: 'duplicate',
    });
    await reactions.settled(head);
    expect(applied).toEqual(['notify:ok', 'notify:bad']);
    expect(await reactions.deadLetters.list()).toEqual([]);
    // What the handler emitted is in the device's outbox, once each, traced from its trigger.
    const emitted = (await syncPortOf(loom).readOutbox()).map((r) => r.event);
    expect(emitted.map((e) => [e.type, e.data, e.meta.causationId])).toEqual([
      ['todo.done', { id: 'ok' }, expect.any(String)],
      ['todo.done', { id: 'bad' }, bad!.id],
    ]);
  });

  it('applies each event once across restarts of the database, and emits once under duplicate delivery', async () => {
    const name = `reactions-restart-${crypto.randomUUID()}`;
    const seen: string[] = [];
    const count = defineHandler<Added>({
      name: 'count',
      on: 'todo.added',
      checkpointEvery: 1,
      handle: (e, ctx) => {
        seen.push(e.data.id);
        ctx.emit({ type: 'todo.done', data: { id: e.data.id } });
      },
    });

    const first = await open(name);
    for (const id of ['a', 'b', 'c']) await first.append('list:1', add(id));
    let head = await confirmAll(first);
    const one = react(first, { handlers: [count] });
    await one.settled(head);
    await one.stop();
    await first.close();

    // The app restarts: the same database, a new Eventloom and runtime.
    const second = await open(name);
    await second.append('list:1', add('d'));
    head = await confirmAll(second);
    const two = react(second, { handlers: [count] });
    await two.settled(head);
    expect(seen).toEqual(['a', 'b', 'c', 'd']);
    expect(two.checkpoints()).toEqual(new Map([['count', head]]));
    await two.stop();

    // Every page delivered twice: the dedupe by event id (kept with the checkpoint) skips the repeats.
    const client = new DexieClientStore({ name, indexedDB: storage });
    cleanup.push(() => client.close());
    await client.open();
    await second.append('list:1', add('e'));
    head = await confirmAll(second);
    const inner = observableFeed((after) => second.events$({ from: after }));
    const twice: EventFeed = {
      async *read(after) {
        for await (const page of inner.read(after)) {
          yield page;
          yield page;
        }
      },
    };
    const runner = createReactionRunner({
      store: new DexieReactionStore(client),
      feed: twice,
      scheduler: createFakeScheduler(),
      handlers: [count],
      outbox: loomOutboxRelay(second),
    });
    await runner.start();
    await runner.settled(head);
    await runner.stop();
    expect(seen).toEqual(['a', 'b', 'c', 'd', 'e']);
    // What it emitted, confirmed since (the hub stand-in confirmed the outbox) or still pending.
    const emitted = [
      ...(await second.readEvents({ type: 'todo.done' })),
      ...(await syncPortOf(second).readOutbox()).map((r) => r.event),
    ];
    expect(emitted.map((e) => e.data)).toEqual(['a', 'b', 'c', 'd', 'e'].map((id) => ({ id })));
  });

  it('puts what a saga emits in the outbox exactly once when the tab dies between deliver and delete', async () => {
    const name = `reactions-crash-${crypto.randomUUID()}`;
    const finish = defineSaga<{ readonly title: string }, Added>({
      name: 'finish',
      startedBy: ['todo.added'],
      correlate: (e) => e.data.id,
      initial: { title: '' },
      on: {
        'todo.added': (_, e) => ({
          state: { title: e.data.title },
          emit: [{ type: 'todo.done', data: { id: e.data.id } }],
          done: true,
        }),
      },
    });
    const loom = await open(name);
    await loom.append('list:1', add('a'));
    const head = await confirmAll(loom);
    const [added] = await loom.readEvents();

    // The runner of the first life: its relay appends, then the tab dies before the outbox delete.
    const client = new DexieClientStore({ name, indexedDB: storage });
    await client.open();
    let crashed!: () => void;
    const died = new Promise<void>((resolve) => (crashed = resolve));
    const relay = loomOutboxRelay(loom);
    const runner = createReactionRunner({
      store: new DexieReactionStore(client),
      feed: observableFeed((after) => loom.events$({ from: after })),
      scheduler: createFakeScheduler(),
      sagas: [finish],
      outbox: {
        async deliver(messages: readonly OutboxMessage[]) {
          await relay.deliver(messages);
          client.close();
          crashed();
        },
      },
    });
    await runner.start();
    await died;
    await runner.stop();
    expect((await syncPortOf(loom).readOutbox()).map((r) => r.event.type)).toEqual(['todo.done']);
    await loom.close();

    // The next life finds the message still in the reaction outbox and delivers it again.
    const again = await open(name);
    const reactions = react(again, { sagas: [finish] });
    await reactions.settled(head);
    const rows = await syncPortOf(again).readOutbox();
    expect(rows.map((r) => [r.event.type, r.event.data, r.event.meta])).toEqual([
      ['todo.done', { id: 'a' }, { correlationId: added!.id, causationId: added!.id }],
    ]);
    const check = new DexieClientStore({ name, indexedDB: storage });
    cleanup.push(() => check.close());
    await check.open();
    const store = new DexieReactionStore(check);
    expect(await store.transaction((tx) => tx.readOutbox())).toEqual([]);
    expect((await store.transaction((tx) => tx.listSagas())).map((s) => [s.id, s.status])).toEqual([
      ['finish/a', 'done'],
    ]);
  });

  it('lists the pushes the hub refused in the same queue, and retries them by appending again', async () => {
    const loom = await open(`reactions-sync-dlq-${crypto.randomUUID()}`);
    const reactions = react(loom, { deciders: [todoDecider] });
    // One refused plain append, one refused decision.
    const plain = await loom.append('list:1', add('x'));
    const decided = await loom.execute(todoDecider, { type: 'add', list: 'list:2', id: 'y', title: 'y' });
    if (!decided.ok) throw new Error('the decider refused');
    await syncPortOf(loom).markRejected([
      { id: plain.id, code: 'invalid', message: 'no' },
      { id: decided.events[0]!.id, code: 'unauthorized', message: 'not yours' },
    ]);
    const letters = await firstValueFrom(
      reactions.deadLetters.deadLetters$.pipe(filter((list) => list.length === 2)),
    );
    expect(letters.map((l) => [l.handler, l.event?.id])).toEqual([
      ['eventloom.sync', plain.id],
      ['eventloom.sync', decided.events[0]!.id],
    ]);
    expect(await reactions.deadLetters.size()).toBe(2);
    await expect(
      reactions.deadLetters.replay(
        letters[0]!.id,
        defineHandler({ name: 'h', on: () => true, handle: () => undefined }),
      ),
    ).rejects.toMatchObject({ code: 'invalid' });

    const outcomes = await reactions.deadLetters.retryAll();
    expect(outcomes.map((o) => o.status)).toEqual(['applied', 'applied']);
    expect(await reactions.deadLetters.list()).toEqual([]);
    expect(await loom.readDeadLetters()).toEqual([]);
    const pending = (await syncPortOf(loom).readOutbox()).map((r) => r.event);
    expect(pending.map((e) => [e.stream, e.type, e.data, e.expectedVersion])).toEqual([
      ['list:1', 'todo.added', { id: 'x', title: 'x', tags: [] }, undefined],
      ['list:2', 'todo.added', { id: 'y', title: 'y', tags: [] }, 0],
    ]);
    expect(pending.every((e) => e.id !== plain.id && e.id !== decided.events[0]!.id)).toBe(true);
  });

  it('runs only in the tab that leads, and moves with the lead (two tabs on one database)', async () => {
    const name = `reactions-tabs-${crypto.randomUUID()}`;
    const tabs = { locks: exclusiveLocks(), BroadcastChannel };
    const a = await createEventloom({ name, registry: todoRegistry, storage, tabs });
    cleanup.push(() => a.close());
    const b = await createEventloom({ name, registry: todoRegistry, storage, tabs });
    cleanup.push(() => b.close());
    const ran: string[] = [];
    const who = (tab: string) =>
      defineHandler<Added>({
        name: 'who',
        on: 'todo.added',
        checkpointEvery: 1,
        handle: (e) => {
          ran.push(`${tab}:${e.data.id}`);
        },
      });
    const inA = react(a, { handlers: [who('a')] });
    const inB = react(b, { handlers: [who('b')] });
    await firstValueFrom(inA.running$.pipe(filter(Boolean)));
    await a.append('list:1', add('x'));
    let head = await confirmAll(a);
    await inA.settled(head);
    expect(ran).toEqual(['a:x']);
    expect(await firstValueFrom(inB.running$)).toBe(false);
    await expect(inB.settled(head)).rejects.toMatchObject({ code: 'not-ready' });

    await a.close();
    await firstValueFrom(inB.running$.pipe(filter(Boolean)));
    await b.append('list:1', add('y'));
    head = await confirmAll(b);
    await inB.settled(head);
    expect(ran).toEqual(['a:x', 'b:y']);
  });
});

/**
 * Exclusive Web Locks for two Eventlooms in one Node process (Node 20 has none), enough for the
 * leader election: requests for a name are granted one at a time, in order; an aborted request
 * that waits is dropped.
 */
function exclusiveLocks(): LockManager {
  const tails = new Map<string, Promise<void>>();
  const request = (
    name: string,
    options: { readonly signal?: AbortSignal },
    whenGranted: (lock: { name: string }) => unknown,
  ): Promise<unknown> => {
    const previous = tails.get(name) ?? Promise.resolve();
    let release!: () => void;
    tails.set(
      name,
      previous.then(() => new Promise<void>((resolve) => (release = resolve))),
    );
    const granted = previous.then(async () => {
      try {
        if (options.signal?.aborted) throw options.signal.reason;
        return await whenGranted({ name });
      } finally {
        release();
      }
    });
    const signal = options.signal;
    if (signal === undefined) return granted;
    // An abort while waiting rejects at once, as Web Locks do; the queue still moves on.
    return Promise.race([
      granted,
      new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
    ]);
  };
  return { request, query: async () => ({ held: [], pending: [] }) } as unknown as LockManager;
}
