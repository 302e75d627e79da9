import { concat, firstValueFrom, from, NEVER, Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { CoreError, CoreErrorCode } from '../core-error.ts';
import { defineDecider, reject } from '../decider.ts';
import type { FoldableEvent } from '../foldable-event.ts';
import type { EventFeed } from '../reactions/event-feed.ts';
import { createMemoryReactionStore, type MemoryReactionStore } from '../reactions/memory-reaction-store.ts';
import type { OutboxRelay } from '../reactions/outbox-message.ts';
import { createReactionRunner, type ReactionRunnerOptions } from '../reactions/reaction-runner.ts';
import { createFakeScheduler } from '../reactions/testing/fake-scheduler.ts';
import { createMemoryEventLog, type MemoryEventLog } from '../reactions/testing/memory-event-log.ts';
import { settle } from '../reactions/testing/settle.ts';
import { awaitReply } from './await-reply.ts';
import { snapshotDefinitions } from '../registry-snapshot.ts';
import { commandRejectedEvent, rejectedTypeOf } from './command-rejected-event.ts';
import { commandTargetOf, commandTo, HUB_TARGET } from './command-target.ts';
import { defineCommandHandler } from './define-command-handler.ts';
import { replyOf } from './reply-meta.ts';
import { isCommandHandler, routeCommands } from './route-commands.ts';

type Book = { seat: string; by: string };
type SeatEvents = { 'seat.booked': Book; 'seat.released': { seat: string } };

const seats = defineDecider<ReadonlySet<string>, Book, SeatEvents, 'seat-taken'>({
  name: 'seats',
  initial: new Set(),
  evolve: (taken, e) => {
    if (e.type === 'seat.booked') return new Set(taken).add(e.data.seat);
    if (e.type === 'seat.released') {
      const next = new Set(taken);
      next.delete(e.data.seat);
      return next;
    }
    return taken;
  },
  decide: (cmd, taken) =>
    taken.has(cmd.seat)
      ? reject('seat-taken', `seat ${cmd.seat} is sold`, { seat: cmd.seat })
      : [
          { type: 'seat.booked', data: cmd },
          { type: 'seat.released', data: { seat: `${cmd.seat}-hold` } },
        ],
});

/** The stream's events as the hub's store reads them. */
const loadFrom = (log: MemoryEventLog) => (stream: string) => log.events.filter((e) => e.stream === stream);

const bookSeat = (log: MemoryEventLog, more: { name?: string; target?: string } = {}) =>
  defineCommandHandler({
    name: more.name ?? 'book-seat',
    command: 'seat.book',
    decider: seats,
    load: loadFrom(log),
    retry: { attempts: 3, backoff: { initialMs: 100, factor: 2, maxMs: 1000 } },
    ...(more.target === undefined ? {} : { target: more.target }),
  });

function book(log: MemoryEventLog, seat: string, target?: string, by = 'ann') {
  const draft = { type: 'seat.book', data: { seat, by }, stream: 'show:42' };
  return log.append(target === undefined ? { ...draft, kind: 'command' } : commandTo(target, draft))[0]!;
}

function setup(log = createMemoryEventLog(), store: MemoryReactionStore = createMemoryReactionStore()) {
  const scheduler = createFakeScheduler();
  const runner = (options: Partial<ReactionRunnerOptions>) =>
    createReactionRunner({ store, feed: log.feed, scheduler, outbox: log.relay, ...options });
  return { log, store, scheduler, runner };
}

const replies = (log: MemoryEventLog, commandId: string) =>
  log.events.filter((e) => replyOf(e)?.to === commandId);

describe('commandTo and commandTargetOf', () => {
  it('addresses a command, and a command without a target goes to the hub', () => {
    const draft = commandTo('client-a', { type: 'seat.book', data: {}, meta: { correlationId: 'c1' } });
    expect(draft).toEqual({
      type: 'seat.book',
      data: {},
      kind: 'command',
      meta: { correlationId: 'c1', target: 'client-a' },
    });
    expect(commandTargetOf(draft)).toBe('client-a');
    expect(commandTargetOf({ meta: {} })).toBe(HUB_TARGET);
    expect(commandTargetOf({ meta: { target: 7 } })).toBe(HUB_TARGET);
    expect(() => commandTo('', { type: 'x', data: {} })).toThrow(TypeError);
  });
});

describe('a command handler in a runner', () => {
  it('decides its commands and emits the events, correlated to the command and stamped as its reply', async () => {
    const { log, runner } = setup();
    const r = runner({ handlers: routeCommands([bookSeat(log)]) });
    await r.start();
    const command = book(log, 'A1');
    await settle(r, () => log.head);
    const reply = replies(log, command.id);
    expect(reply.map((e) => [e.type, e.kind, e.stream, e.data, e.meta])).toEqual([
      [
        'seat.booked',
        'domain',
        'show:42',
        { seat: 'A1', by: 'ann' },
        { correlationId: command.id, causationId: command.id, reply: { to: command.id, count: 2 } },
      ],
      [
        'seat.released',
        'domain',
        'show:42',
        { seat: 'A1-hold' },
        { correlationId: command.id, causationId: command.id, reply: { to: command.id, count: 2 } },
      ],
    ]);
    expect(log.events).toHaveLength(3);
    await r.stop();
  });

  it('keeps the correlation of a command that is part of a longer conversation', async () => {
    const { log, runner } = setup();
    const r = runner({ handlers: [bookSeat(log)] });
    await r.start();
    const [command] = log.append(
      commandTo('hub', {
        type: 'seat.book',
        data: { seat: 'A1', by: 'ann' },
        stream: 'show:42',
        meta: { correlationId: 'checkout-7' },
      }),
    );
    await settle(r, () => log.head);
    expect(replies(log, command!.id).map((e) => e.meta.correlationId)).toEqual(['checkout-7', 'checkout-7']);
    await r.stop();
  });

  it('takes only command-kind events of its type addressed to its target', async () => {
    const { log, runner } = setup();
    const r = runner({ handlers: [bookSeat(log)] });
    await r.start();
    log.append({ type: 'seat.book', data: { seat: 'A1', by: 'ann' }, stream: 'show:42' }); // a domain event
    const other = book(log, 'A2', 'client-a');
    log.append(commandTo('hub', { type: 'seat.cancel', data: { seat: 'A3' }, stream: 'show:42' }));
    const mine = book(log, 'A4', 'hub');
    await settle(r, () => log.head);
    expect(replies(log, other.id)).toEqual([]);
    expect(replies(log, mine.id).map((e) => e.type)).toEqual(['seat.booked', 'seat.released']);
    expect(log.events).toHaveLength(6);
    await r.stop();
  });

  it('answers a refused command with a rejection event instead of dead-lettering it', async () => {
    const { log, runner } = setup();
    const r = runner({ handlers: [bookSeat(log)] });
    await r.start();
    book(log, 'A1');
    await settle(r, () => log.head);
    const second = book(log, 'A1', undefined, 'bob');
    await settle(r, () => log.head);
    expect(replies(log, second.id).map((e) => [e.type, e.stream, e.data, e.meta])).toEqual([
      [
        'seat.book.rejected',
        'show:42',
        { code: 'seat-taken', message: 'seat A1 is sold', details: { seat: 'A1' } },
        {
          correlationId: second.id,
          causationId: second.id,
          reply: { to: second.id, count: 1, rejected: true },
        },
      ],
    ]);
    expect(await r.deadLetters.list()).toEqual([]);
    await r.stop();
  });

  it('treats a thrown rejection as a rejection, and anything else thrown as a failure to retry and dead-letter', async () => {
    const { log, runner, scheduler } = setup();
    const strict = defineDecider<null, { seat: string }>({
      name: 'strict',
      initial: null,
      evolve: (s) => s,
      decide: (cmd) => {
        if (cmd.seat === 'bug') throw new TypeError('decide crashed');
        throw reject('closed', 'the box office is closed');
      },
    });
    const handler = defineCommandHandler({
      name: 'strict',
      command: 'seat.book',
      decider: strict,
      load: loadFrom(log),
      retry: { attempts: 3, backoff: { initialMs: 100, factor: 2, maxMs: 1000 } },
    });
    const r = runner({ handlers: [handler] });
    await r.start();
    const refused = book(log, 'A1');
    const buggy = book(log, 'bug');
    const done = r.settled(log.head);
    await scheduler.next();
    await scheduler.next();
    await done;
    await settle(r, () => log.head);
    expect(replies(log, refused.id).map((e) => [e.type, e.data])).toEqual([
      ['seat.book.rejected', { code: 'closed', message: 'the box office is closed' }],
    ]);
    expect(replies(log, buggy.id)).toEqual([]);
    const letters = await r.deadLetters.list();
    expect(letters.map((l) => [l.handler, l.event?.id, l.attempts, l.error.message])).toEqual([
      ['strict', buggy.id, 3, 'decide crashed'],
    ]);
    expect(scheduler.delays).toEqual([100, 200]);
    await r.stop();
  });

  it('decides commands in a row on each other’s outcome before the outbox has delivered', async () => {
    const log = createMemoryEventLog();
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const held: OutboxRelay = {
      deliver: async (messages) => {
        await gate;
        await log.relay.deliver(messages);
      },
    };
    const { runner } = setup(log);
    const r = runner({ handlers: [bookSeat(log)], outbox: held });
    const first = book(log, 'A1');
    const second = book(log, 'A1', undefined, 'bob');
    const third = book(log, 'A1-hold', undefined, 'cy'); // released by the first: free
    await r.start();
    const settled = r.settled(log.head);
    release();
    await settled;
    await settle(r, () => log.head);
    expect(replies(log, first.id).map((e) => e.type)).toEqual(['seat.booked', 'seat.released']);
    expect(replies(log, second.id).map((e) => e.type)).toEqual(['seat.book.rejected']);
    expect(replies(log, third.id).map((e) => e.type)).toEqual(['seat.booked', 'seat.released']);
    const fourth = book(log, 'A1', undefined, 'dee');
    await settle(r, () => log.head);
    expect(replies(log, fourth.id).map((e) => e.type)).toEqual(['seat.book.rejected']);
    await r.stop();
  });
});

describe('command idempotence', () => {
  /** A feed that gives every page twice, as a flaky transport would. */
  const twice = (feed: EventFeed): EventFeed => ({
    async *read(after) {
      for await (const page of feed.read(after)) {
        yield page;
        yield page;
      }
    },
  });

  it('answers a command delivered twice once', async () => {
    const { log, runner } = setup();
    const r = runner({ handlers: [bookSeat(log)], feed: twice(log.feed) });
    await r.start();
    const a = book(log, 'A1');
    const b = book(log, 'B1');
    await settle(r, () => log.head);
    expect(replies(log, a.id)).toHaveLength(2);
    expect(replies(log, b.id)).toHaveLength(2);
    expect(log.events).toHaveLength(6);
    await r.stop();
  });

  it('answers once across a restart, a crash before the outbox delivered, and a lost reaction store', async () => {
    const log = createMemoryEventLog();
    const store = createMemoryReactionStore();
    const blocked: OutboxRelay = { deliver: () => Promise.reject(new Error('hub unreachable')) };
    const crashed = setup(log, store).runner({ handlers: [bookSeat(log)], outbox: blocked });
    await crashed.start();
    const a = book(log, 'A1');
    await crashed.settled(log.head);
    expect(replies(log, a.id)).toEqual([]); // decided and stored in the outbox, not delivered
    store.close(); // the process dies

    const restarted = setup(log, store.reopen()).runner({ handlers: [bookSeat(log)] });
    await restarted.start();
    const b = book(log, 'B1');
    await settle(restarted, () => log.head);
    expect(replies(log, a.id)).toHaveLength(2);
    expect(replies(log, b.id)).toHaveLength(2);
    await restarted.stop();

    // Every checkpoint lost, and a relay that no longer knows the message ids it took: each command
    // is read again, and its reply in the stream says it was answered.
    const forgetful: OutboxRelay = {
      deliver: async (messages) => {
        for (const message of messages) log.append(message.draft);
      },
    };
    const fresh = setup(log).runner({ handlers: [bookSeat(log)], outbox: forgetful });
    await fresh.start();
    await settle(fresh, () => log.head);
    expect(replies(log, a.id)).toHaveLength(2);
    expect(replies(log, b.id)).toHaveLength(2);
    expect(log.events.filter((e) => e.type === 'seat.book.rejected')).toEqual([]);
    expect(log.events).toHaveLength(6);
    await fresh.stop();
  });
});

describe('exactly one handler per command', () => {
  it('refuses two handlers for the same command and target in one runtime', () => {
    const log = createMemoryEventLog();
    expect(() => routeCommands([bookSeat(log), bookSeat(log, { name: 'book-seat-2' })])).toThrow(
      expect.objectContaining({
        code: CoreErrorCode.invalidDefinition,
        message: expect.stringContaining('two handlers, book-seat and book-seat-2'),
      }),
    );
    const ok = routeCommands([bookSeat(log), bookSeat(log, { name: 'for-a', target: 'client-a' })]);
    expect(ok.map((h) => [h.name, isCommandHandler(h) && h.target])).toEqual([
      ['book-seat', 'hub'],
      ['for-a', 'client-a'],
    ]);
  });

  it('delivers a command to the named client only, with two clients online', async () => {
    const log = createMemoryEventLog();
    const loads: string[] = [];
    const client = (clientId: string) =>
      defineCommandHandler({
        name: 'book-seat',
        command: 'seat.book',
        target: clientId,
        decider: seats,
        load: (stream) => {
          loads.push(clientId);
          return loadFrom(log)(stream);
        },
      });
    const runners = ['client-a', 'client-b'].map((id) => setup(log).runner({ handlers: [client(id)] }));
    await Promise.all(runners.map((r) => r.start()));
    const toA = book(log, 'A1', 'client-a');
    const toHub = book(log, 'A2', 'hub');
    for (;;) {
      const head = log.head;
      for (const r of runners) await r.settled(head);
      if (log.head === head) break;
    }
    expect(loads).toEqual(['client-a']);
    expect(replies(log, toA.id)).toHaveLength(2);
    expect(replies(log, toHub.id)).toEqual([]);
    await Promise.all(runners.map((r) => r.stop()));
  });
});

describe('awaitReply', () => {
  it('resolves with the whole reply of a decided command, from the log', async () => {
    const { log, runner } = setup();
    const r = runner({ handlers: [bookSeat(log)] });
    await r.start();
    const command = book(log, 'A1');
    await settle(r, () => log.head);
    const events$ = concat(from(log.events), NEVER);
    const reply = await firstValueFrom(awaitReply(events$, command.id));
    expect(reply.ok && reply.events.map((e) => e.type)).toEqual(['seat.booked', 'seat.released']);
    const refused = book(log, 'A1', undefined, 'bob');
    await settle(r, () => log.head);
    const rejection = await firstValueFrom(awaitReply(concat(from([log.events]), NEVER), refused.id));
    expect(rejection).toEqual({
      ok: false,
      rejection: { rejected: true, code: 'seat-taken', message: 'seat A1 is sold', details: { seat: 'A1' } },
      event: replies(log, refused.id)[0],
    });
    await r.stop();
  });

  it('waits for every event of the reply, ignores others and repeats', () => {
    const scheduler = createFakeScheduler();
    const events$ = new Subject<FoldableEvent | readonly FoldableEvent[]>();
    const seen: unknown[] = [];
    const sub = awaitReply(events$, 'cmd-1', { scheduler }).subscribe({
      next: (r) => seen.push(r),
      complete: () => seen.push('complete'),
    });
    const event = (id: string, to: string, position: number) =>
      ({
        id,
        type: 't',
        stream: 's',
        data: {},
        meta: { reply: { to, count: 2 } },
        position,
      }) as unknown as FoldableEvent;
    const [e1, e2, other] = [event('e1', 'cmd-1', 1), event('e2', 'cmd-1', 2), event('x', 'cmd-0', 3)];
    events$.next(e2);
    events$.next([other, e2]);
    expect(seen).toEqual([]);
    expect(scheduler.pending).toHaveLength(1);
    events$.next(e1);
    expect(seen).toEqual([{ ok: true, events: [e1, e2] }, 'complete']);
    expect(scheduler.pending).toEqual([]);
    sub.unsubscribe();
  });

  it('errors with a timeout when the reply does not come in time', async () => {
    const scheduler = createFakeScheduler();
    const failure = firstValueFrom(awaitReply(NEVER, 'cmd-1', { timeoutMs: 5_000, scheduler }));
    const timer = await scheduler.next();
    expect(timer.delay).toBe(5_000);
    const error = await failure.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CoreError);
    expect(error).toMatchObject({ code: CoreErrorCode.timeout });
  });
});

describe('commandRejectedEvent', () => {
  it('defines the rejection event type for registries', () => {
    const definition = commandRejectedEvent('seat.book');
    expect(definition.type).toBe('seat.book.rejected');
    expect(definition.create({ code: 'seat-taken', message: 'sold', details: { seat: 'A1' } }).data).toEqual({
      code: 'seat-taken',
      message: 'sold',
      details: { seat: 'A1' },
    });
    expect(() => definition.create({ code: '', message: 'x' })).toThrow(CoreError);
    const snapshot = snapshotDefinitions([definition]);
    expect(Object.keys(snapshot.events)).toEqual(['seat.book.rejected']);
    expect(() => rejectedTypeOf('x'.repeat(120))).toThrow(
      expect.objectContaining({ code: 'invalid-definition' }),
    );
  });
});
