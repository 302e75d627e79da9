import { CoreError, CoreErrorCode, toCoreError } from '../core-error.ts';
import type { ConfirmedEvent } from './confirmed-event.ts';
import type { Saga, SagaReaction } from './define-saga.ts';
import type { EventFeed } from './event-feed.ts';
import { ignore, Lane, STOPPED } from './lane.ts';
import { backoffDelay } from './retry-policy.ts';
import type { Runtime } from './runtime.ts';
import {
  applyReaction,
  checkReaction,
  compensatedPlan,
  eventTrigger,
  runCompensations,
  sagaContext,
  startInstance,
  timeoutTrigger,
  writeSagaPlan,
  type Attempted,
  type ReactionOutcome,
  type SagaPlan,
  type SagaTrigger,
} from './saga-plan.ts';
import { sagaInstanceId, type SagaInstance, type SagaTimeoutRecord } from './saga-instance.ts';
import { MAX_TIMER_DELAY_MS } from './scheduler.ts';

/** Events a saga ignores are checkpointed in batches of at most this many. */
const CHECKPOINT_EVERY = 100;
/** A timeout whose run failed on the store is tried again this much later. */
const RETRY_TIMEOUT_AFTER_MS = 1_000;

/**
 * Runs one saga over the feed, and its timeouts. Each event the saga reacts to is one transaction:
 * instance, checkpoint, outbox and timeouts together. Reactions and timeouts of the saga run one
 * at a time (a mutex), so an instance never sees two at once.
 */
export class SagaLane extends Lane {
  readonly saga: Saga;
  #dirty = 0;
  #mutex: Promise<unknown> = Promise.resolve();
  readonly #timers = new Map<string, { readonly dueAt: number; readonly cancel: () => void }>();

  constructor(saga: Saga, feed: EventFeed, rt: Runtime) {
    super(saga.name, feed, rt);
    this.saga = saga;
  }

  /** Also disarms the timers, and waits for a timeout that is running. */
  override async stop(): Promise<void> {
    const stopping = super.stop();
    this.#disarmAll();
    await stopping;
    this.#disarmAll();
    await this.#quiet();
  }

  protected reset(): void {
    this.#dirty = 0;
  }

  /** Also waits for the timeouts that went off and are running. */
  override async settled(position: number): Promise<void> {
    await super.settled(position);
    await this.#quiet();
  }

  /** Resolves when no reaction or timeout is running. */
  async #quiet(): Promise<void> {
    let tail: Promise<unknown>;
    do {
      tail = this.#mutex;
      await tail;
    } while (tail !== this.#mutex);
  }

  /** (Re)arms every stored timeout of this saga: this is how timeouts survive a restart. */
  protected override async afterLoad(): Promise<void> {
    const timeouts = await this.rt.store.transaction((tx) => tx.listTimeouts({ saga: this.saga.name }));
    for (const timeout of timeouts) this.#arm(timeout);
  }

  protected async processPage(page: readonly ConfirmedEvent[]): Promise<void> {
    const { saga } = this;
    for (let i = 0; i < page.length; i++) {
      if (this.stopped) break;
      const event = page[i]!;
      if (event.position <= this.position) continue;
      if (saga.on.has(event.type) && !this.window.has(event.id)) {
        if (!(await this.#exclusive(() => this.#react(event)))) return;
      }
      this.position = event.position;
      if (++this.#dirty >= CHECKPOINT_EVERY) await this.flush();
    }
    await this.flush();
  }

  protected async flush(): Promise<void> {
    this.#dirty = 0;
    if (this.position === this.committed) return;
    const checkpoint = this.progress();
    await this.rt.store.transaction((tx) => tx.putCheckpoint(this.name, checkpoint));
    this.committedTo(checkpoint);
  }

  /** Reacts to one event; `false` if the lane stopped meanwhile. */
  async #react(event: ConfirmedEvent): Promise<boolean> {
    const { saga } = this;
    let key: string | undefined;
    try {
      key = saga.correlate(event);
    } catch (error) {
      this.rt.report(
        new CoreError(CoreErrorCode.invalidReaction, `saga ${saga.name}: correlate threw on ${event.id}`, {
          cause: error,
        }),
      );
      return true;
    }
    if (key === undefined) return true;
    const id = sagaInstanceId(saga.name, key);
    const stored = await this.rt.store.transaction((tx) => tx.getSaga(id));
    if (stored === undefined && !saga.startedBy.has(event.type)) return true;
    if (stored !== undefined && stored.status !== 'active') return true;
    const instance = stored ?? startInstance(saga, key, event, this.rt.scheduler.now());
    const trigger = eventTrigger(saga, event);
    const step = saga.on.get(event.type)!;
    const outcome = await this.#retrying(
      async (attempt) =>
        checkReaction(saga, await step(instance.state, event, this.#context(instance, trigger, attempt))),
      true,
    );
    if (outcome === STOPPED) return false;
    const plan = await this.#plan(
      applyReaction(saga, instance, outcome, trigger, this.rt.scheduler.now()),
      trigger,
      true,
    );
    if (plan === STOPPED) return false;
    this.window.add(event.id);
    const checkpoint = { position: event.position, recentIds: this.window.toArray() };
    await this.#write(plan, { consumer: this.name, checkpoint });
    this.position = event.position;
    this.committedTo(checkpoint);
    return true;
  }

  /** Adds the compensations to a failed reaction's plan. */
  async #plan(
    outcome: ReactionOutcome,
    trigger: SagaTrigger,
    flush: boolean,
  ): Promise<SagaPlan | typeof STOPPED> {
    const { failure, instance } = outcome;
    if (failure === undefined) {
      return { instance, messages: outcome.messages, schedule: outcome.schedule, cancel: outcome.cancel };
    }
    const compensations = await this.#retrying(
      (attempt) =>
        runCompensations(this.saga, instance, failure.reason, trigger, attempt, this.rt.scheduler.now()),
      flush,
    );
    if (compensations === STOPPED) return STOPPED;
    return compensatedPlan(outcome, compensations, trigger);
  }

  async #write(plan: SagaPlan, checkpoint?: Parameters<typeof writeSagaPlan>[2]): Promise<void> {
    const deleted = await this.rt.store.transaction((tx) => writeSagaPlan(tx, plan, checkpoint));
    for (const id of deleted) this.#disarm(id);
    if (plan.instance.status === 'active') for (const timeout of plan.schedule) this.#arm(timeout);
    if (plan.messages.length > 0) this.rt.outboxChanged();
  }

  #context(instance: SagaInstance, trigger: SagaTrigger, attempt: number) {
    return sagaContext(this.saga, instance, trigger, attempt, this.rt.scheduler.now());
  }

  /**
   * Runs user code until it succeeds or runs out of attempts, with backoff between. `flush` stores
   * the progress before the event first (event processing only: a timeout must not write the
   * checkpoint, which the page loop owns).
   */
  async #retrying<T>(
    run: (attempt: number) => Promise<T>,
    flush: boolean,
  ): Promise<Attempted<T> | typeof STOPPED> {
    const { retry } = this.saga;
    const { scheduler } = this.rt;
    let firstFailedAt: number | undefined;
    for (let attempt = 1; ; attempt++) {
      try {
        return { ok: true, value: await run(attempt) };
      } catch (error) {
        const now = scheduler.now();
        firstFailedAt ??= now;
        if (attempt >= retry.attempts)
          return { ok: false, error, attempts: attempt, firstFailedAt, lastFailedAt: now };
        if (flush && attempt === 1) await this.flush();
        if (!(await this.sleep(backoffDelay(retry.backoff, attempt, this.rt.random)))) return STOPPED;
      }
    }
  }

  #exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#mutex.then(work);
    this.#mutex = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /** Arms a timer for a stored timeout, due at its deadline (or after `delayMs`, to try again). */
  #arm(timeout: SagaTimeoutRecord, delayMs = timeout.dueAt - this.rt.scheduler.now()): void {
    if (this.stopped) return;
    this.#disarm(timeout.id);
    const delay = Math.max(0, Math.min(delayMs, MAX_TIMER_DELAY_MS));
    const cancel = this.rt.scheduler.schedule(delay, () => this.#fire(timeout));
    this.#timers.set(timeout.id, { dueAt: timeout.dueAt, cancel });
  }

  #disarm(id: string): void {
    const timer = this.#timers.get(id);
    if (timer === undefined) return;
    this.#timers.delete(id);
    timer.cancel();
  }

  #disarmAll(): void {
    for (const id of this.#timers.keys()) this.#disarm(id);
  }

  /** A timer went off: runs the timeout (unless it is not due yet, or was replaced). */
  #fire(timeout: SagaTimeoutRecord): void {
    const timer = this.#timers.get(timeout.id);
    if (timer?.dueAt !== timeout.dueAt || this.stopped) return;
    this.#timers.delete(timeout.id);
    if (this.rt.scheduler.now() < timeout.dueAt) {
      this.#arm(timeout); // a wait longer than a timer allows, in several
      return;
    }
    ignore(
      this.#exclusive(() => this.#onTimeout(timeout)).then(
        () => undefined,
        (error: unknown) => {
          if (error instanceof CoreError && error.code === CoreErrorCode.storeClosed) return;
          this.rt.report(toCoreError(error));
          // Still stored: try again after a pause rather than lose it.
          if (!this.stopped) this.#arm(timeout, RETRY_TIMEOUT_AFTER_MS);
        },
      ),
    );
  }

  async #onTimeout(record: SagaTimeoutRecord): Promise<void> {
    if (this.stopped) return;
    const { saga } = this;
    const [timeout, instance] = await this.rt.store.transaction(
      async (tx) => [await tx.getTimeout(record.id), await tx.getSaga(record.instance)] as const,
    );
    // Replaced or cancelled meanwhile: the timer of the new deadline (if any) is armed.
    if (timeout === undefined || timeout.dueAt !== record.dueAt) return;
    if (instance === undefined || instance.status !== 'active' || saga.timeout === undefined) {
      if (saga.timeout === undefined) {
        this.rt.report(
          new CoreError(
            CoreErrorCode.invalidReaction,
            `saga ${saga.name}: timeout ${timeout.name} but no timeout.on`,
          ),
        );
      }
      await this.rt.store.transaction((tx) => tx.deleteTimeout(timeout.id));
      return;
    }
    const on = saga.timeout.on;
    const trigger = timeoutTrigger(instance, timeout);
    const outcome = await this.#retrying(
      async (attempt): Promise<SagaReaction<unknown>> =>
        checkReaction(
          saga,
          await on(
            instance.state,
            { name: timeout.name, dueAt: timeout.dueAt },
            this.#context(instance, trigger, attempt),
          ),
        ),
      false,
    );
    if (outcome === STOPPED) return;
    const applied = applyReaction(saga, instance, outcome, trigger, this.rt.scheduler.now());
    const plan = await this.#plan({ ...applied, cancel: [timeout.id, ...applied.cancel] }, trigger, false);
    if (plan === STOPPED) return;
    await this.#write(plan);
  }
}
