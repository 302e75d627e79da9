import { Observable } from 'rxjs';
import { CoreError, CoreErrorCode, toCoreError } from '../core-error.ts';
import type { ConfirmedEvent } from './confirmed-event.ts';
import { deadLetterId, snapshotError, type DeadLetter, type ErrorSnapshot } from './dead-letter.ts';
import type { Handler } from './define-handler.ts';
import type { Saga } from './define-saga.ts';
import { isoTime } from './emit-messages.ts';
import { CallContext } from './handler-lane.ts';
import type { ReactionStore, ReactionTransaction } from './reaction-store.ts';
import { eventTrigger, runCompensations, writeSagaPlan, type SagaTrigger } from './saga-plan.ts';
import type { Scheduler } from './scheduler.ts';

/** What became of a dead letter that was retried or replayed. */
export type DeadLetterOutcome =
  /** The handler succeeded: its emits are in the outbox, the letter is gone. */
  | { readonly id: string; readonly status: 'applied' }
  /** The handler had already applied the event (or its runner will): nothing ran twice, the letter is gone. */
  | { readonly id: string; readonly status: 'duplicate' }
  /** The handler failed again: the letter stays, with one more attempt and the new error. */
  | { readonly id: string; readonly status: 'failed'; readonly error: ErrorSnapshot }
  /** No such letter (discarded, or resolved by someone else meanwhile). */
  | { readonly id: string; readonly status: 'missing' }
  /** Another queue is retrying or replaying this letter right now (it holds the lease): nothing ran. */
  | { readonly id: string; readonly status: 'busy' };

/**
 * The dead-letter queue (DESIGN.md §7), over a {@link ReactionStore}: on the client and on the
 * hub alike. Retries and replays apply an event at most once per handler: a ledger of (handler,
 * event id) is written in the same transaction as what the handler emitted.
 */
export interface DeadLetterQueue {
  /** The letters now (oldest first), then after each change to them. */
  readonly deadLetters$: Observable<readonly DeadLetter[]>;
  list(): Promise<DeadLetter[]>;
  /** How many letters there are: the DLQ size metric. */
  size(): Promise<number>;
  /**
   * Runs the letter's handler once more on its event (a saga's letter: its compensations). Success
   * removes the letter. Throws `unknown-handler` when this queue does not know the handler.
   */
  retry(id: string): Promise<DeadLetterOutcome>;
  /** Retries every letter, oldest first, one at a time. */
  retryAll(): Promise<DeadLetterOutcome[]>;
  /**
   * Runs the letter's event through another handler (a fixed one, a fallback). Success removes the
   * letter; a handler that already applied the event (or whose runner will) is not run again.
   */
  replay(id: string, handler: Handler): Promise<DeadLetterOutcome>;
  /** Drops a letter for good; `false` if there was none. */
  discard(id: string): Promise<boolean>;
}

/** What {@link createDeadLetterQueue} takes. */
export interface DeadLetterQueueOptions {
  readonly store: ReactionStore;
  readonly scheduler: Scheduler;
  /** The handlers whose letters `retry` can run. */
  readonly handlers?: readonly Handler[];
  /** The sagas whose letters (failed compensations) `retry` can run. */
  readonly sagas?: readonly Saga[];
  /** Called after a retry or replay wrote to the outbox. */
  readonly outboxChanged?: () => void;
  /**
   * How long a retry or replay holds its letter: another queue on the same store finds it `busy`
   * meanwhile. Past it (a queue that crashed mid-retry) the letter is free again. Default 60 s.
   */
  readonly leaseMs?: number;
}

/**
 * Creates a dead-letter queue over a store. A runner has one (`runner.deadLetters`); create one
 * yourself to list and discard where no runner runs (a follower tab, an admin tool).
 *
 * @example
 * const dlq = createDeadLetterQueue({ store, scheduler, handlers: [sendInvoice] });
 * dlq.deadLetters$.subscribe(render);
 * await dlq.retry(letter.id);
 */
export function createDeadLetterQueue(options: DeadLetterQueueOptions): DeadLetterQueue {
  return new Queue(options);
}

class Queue implements DeadLetterQueue {
  readonly deadLetters$: Observable<readonly DeadLetter[]>;
  readonly #store: ReactionStore;
  readonly #scheduler: Scheduler;
  readonly #handlers: ReadonlyMap<string, Handler>;
  readonly #sagas: ReadonlyMap<string, Saga>;
  readonly #outboxChanged: () => void;
  readonly #leaseMs: number;
  /** Who this queue is, in the leases it takes. */
  readonly #token = `dlq-${Math.random().toString(36).slice(2, 10)}`;
  /** Retries, replays and discards run one at a time. */
  #serial: Promise<unknown> = Promise.resolve();

  constructor(options: DeadLetterQueueOptions) {
    this.#store = options.store;
    this.#scheduler = options.scheduler;
    this.#handlers = new Map((options.handlers ?? []).map((h) => [h.name, h]));
    this.#sagas = new Map((options.sagas ?? []).map((s) => [s.name, s]));
    this.#outboxChanged = options.outboxChanged ?? (() => undefined);
    this.#leaseMs = options.leaseMs ?? 60_000;
    this.deadLetters$ = new Observable<readonly DeadLetter[]>((subscriber) => {
      let closed = false;
      let chain: Promise<void> = Promise.resolve();
      const load = () => {
        chain = chain
          .then(async () => {
            if (closed) return;
            const letters = await this.list();
            if (!closed) subscriber.next(letters);
          })
          .catch((error: unknown) => {
            if (!closed) subscriber.error(toCoreError(error));
            closed = true;
          });
      };
      const unwatch = this.#store.watch((tables) => {
        if (tables.has('deadLetters')) load();
      });
      load();
      return () => {
        closed = true;
        unwatch();
      };
    });
  }

  list(): Promise<DeadLetter[]> {
    return this.#store.transaction((tx) => tx.listDeadLetters());
  }

  size(): Promise<number> {
    return this.#store.transaction((tx) => tx.countDeadLetters());
  }

  retry(id: string): Promise<DeadLetterOutcome> {
    return this.#exclusive(async () => {
      const letter = await this.#claim(id);
      if (typeof letter === 'string') return { id, status: letter };
      return this.#leased(letter, () => {
        if (letter.instance !== undefined) return this.#compensate(letter, letter.instance);
        const handler = this.#handlers.get(letter.handler);
        if (handler === undefined) {
          throw new CoreError(
            CoreErrorCode.unknownHandler,
            `no handler ${letter.handler} here to retry ${id}`,
          );
        }
        return this.#apply(letter, handler);
      });
    });
  }

  async retryAll(): Promise<DeadLetterOutcome[]> {
    const outcomes: DeadLetterOutcome[] = [];
    for (const letter of await this.list()) {
      try {
        outcomes.push(await this.retry(letter.id));
      } catch (error) {
        outcomes.push({ id: letter.id, status: 'failed', error: snapshotError(error) });
      }
    }
    return outcomes;
  }

  replay(id: string, handler: Handler): Promise<DeadLetterOutcome> {
    return this.#exclusive(async () => {
      const letter = await this.#claim(id);
      if (typeof letter === 'string') return { id, status: letter };
      return this.#leased(letter, () => this.#apply(letter, handler));
    });
  }

  discard(id: string): Promise<boolean> {
    return this.#exclusive(() => this.#store.transaction((tx) => tx.deleteDeadLetter(id)));
  }

  /** Takes the lease on a letter: the letter as it was, or why not. */
  #claim(id: string): Promise<DeadLetter | 'missing' | 'busy'> {
    const now = this.#scheduler.now();
    return this.#store.transaction(async (tx) => {
      const letter = await tx.getDeadLetter(id);
      if (letter === undefined) return 'missing';
      const { retrying } = letter;
      if (retrying !== undefined && retrying.by !== this.#token && Date.parse(retrying.until) > now)
        return 'busy';
      await tx.putDeadLetter({
        ...letter,
        retrying: { by: this.#token, until: isoTime(now + this.#leaseMs) },
      });
      return withoutLease(letter);
    });
  }

  /** Runs work under a letter's lease; if it throws, gives the lease back before passing the error on. */
  async #leased(letter: DeadLetter, work: () => Promise<DeadLetterOutcome>): Promise<DeadLetterOutcome> {
    try {
      return await work();
    } catch (error) {
      await this.#release(letter).catch(() => undefined);
      throw error;
    }
  }

  /** Gives the lease back, the letter unchanged. */
  #release(letter: DeadLetter): Promise<void> {
    return this.#store.transaction(async (tx) => {
      const current = await tx.getDeadLetter(letter.id);
      if (current?.retrying?.by === this.#token) await tx.putDeadLetter(withoutLease(current));
    });
  }

  /** Runs a handler once on a letter's event, unless it applied it already. */
  async #apply(letter: DeadLetter, handler: Handler): Promise<DeadLetterOutcome> {
    const { id } = letter;
    const event = confirmedEventOf(letter);
    const own = deadLetterId(handler.name, event.id);
    const resolve = async (tx: ReactionTransaction) => {
      await tx.deleteDeadLetter(id);
      if (own !== id) await tx.deleteDeadLetter(own);
    };
    const duplicate = await this.#store.transaction(async (tx) => {
      if (!(await applied(tx, handler, event))) return false;
      await resolve(tx);
      return true;
    });
    if (duplicate) return { id, status: 'duplicate' };
    const ctx = new CallContext(handler.name, letter.attempts + 1, event, this.#scheduler);
    try {
      await handler.handle(event, ctx);
    } catch (error) {
      ctx.close();
      return this.#failed(letter, error);
    }
    const messages = ctx.close() ?? [];
    const status = await this.#store.transaction(async (tx) => {
      // Checked again: another runtime on the same store may have applied it meanwhile.
      if (await applied(tx, handler, event)) {
        await resolve(tx);
        return 'duplicate' as const;
      }
      await tx.putApplied(handler.name, event.id);
      if (messages.length > 0) await tx.enqueue(messages);
      await resolve(tx);
      return 'applied' as const;
    });
    if (status === 'applied' && messages.length > 0) this.#outboxChanged();
    return { id, status };
  }

  /** Runs the compensations of a saga instance whose compensations had failed. */
  async #compensate(letter: DeadLetter, instanceId: string): Promise<DeadLetterOutcome> {
    const { id } = letter;
    const saga = this.#sagas.get(letter.handler);
    if (saga === undefined) {
      throw new CoreError(CoreErrorCode.unknownHandler, `no saga ${letter.handler} here to retry ${id}`);
    }
    const instance = await this.#store.transaction((tx) => tx.getSaga(instanceId));
    if (instance === undefined || instance.status !== 'failed') {
      await this.#store.transaction((tx) => tx.deleteDeadLetter(id));
      return { id, status: 'duplicate' };
    }
    const trigger: SagaTrigger =
      letter.event === undefined
        ? { id: `${saga.name}/retry:${id}`, trace: instance.trace, stream: instance.stream, step: '' }
        : eventTrigger(saga, letter.event);
    const now = this.#scheduler.now();
    let result: Awaited<ReturnType<typeof runCompensations>>;
    try {
      const reason = instance.failure?.reason ?? 'failed';
      result = await runCompensations(saga, instance, reason, trigger, letter.attempts + 1, now);
    } catch (error) {
      return this.#failed(letter, error);
    }
    const plan = {
      instance: {
        ...instance,
        status: 'compensated' as const,
        compensated: result.compensated,
        version: instance.version + 1,
        updatedAt: isoTime(now),
      },
      messages: result.messages,
      schedule: [],
      cancel: [],
      resolves: id,
    };
    await this.#store.transaction((tx) => writeSagaPlan(tx, plan));
    if (plan.messages.length > 0) this.#outboxChanged();
    return { id, status: 'applied' };
  }

  async #failed(letter: DeadLetter, error: unknown): Promise<DeadLetterOutcome> {
    const snapshot = snapshotError(error);
    const at = isoTime(this.#scheduler.now());
    await this.#store.transaction(async (tx) => {
      const current = await tx.getDeadLetter(letter.id);
      if (current === undefined) return;
      await tx.putDeadLetter({
        ...withoutLease(current),
        attempts: current.attempts + 1,
        error: snapshot,
        lastFailedAt: at,
      });
    });
    return { id: letter.id, status: 'failed', error: snapshot };
  }

  #exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#serial.then(work);
    this.#serial = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }
}

/**
 * Whether a handler has applied an event: a retry or replay applied it (the ledger), or its runner
 * handled it in order — its checkpoint saw it handled, or it takes the event and will reach it —
 * and it did not dead-letter it.
 */
async function applied(tx: ReactionTransaction, handler: Handler, event: ConfirmedEvent): Promise<boolean> {
  if (await tx.hasApplied(handler.name, event.id)) return true;
  if ((await tx.getDeadLetter(deadLetterId(handler.name, event.id))) !== undefined) return false;
  const checkpoint = await tx.getCheckpoint(handler.name);
  if (checkpoint === undefined) return false;
  return checkpoint.recentIds.includes(event.id) || handler.matches(event);
}

function withoutLease(letter: DeadLetter): DeadLetter {
  if (letter.retrying === undefined) return letter;
  const { retrying: _, ...rest } = letter;
  return rest;
}

function confirmedEventOf(letter: DeadLetter): ConfirmedEvent {
  const { event } = letter;
  if (event === undefined || typeof event.position !== 'number') {
    throw new CoreError(CoreErrorCode.invalid, `dead letter ${letter.id} holds no confirmed event to run`);
  }
  return event as ConfirmedEvent;
}
