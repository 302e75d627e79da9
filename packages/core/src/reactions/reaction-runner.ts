import { Observable, Subject } from 'rxjs';
import { CoreError, CoreErrorCode, toCoreError } from '../core-error.ts';
import { createDeadLetterQueue, type DeadLetterQueue } from './dead-letter-queue.ts';
import type { Handler } from './define-handler.ts';
import type { Saga } from './define-saga.ts';
import type { EventFeed } from './event-feed.ts';
import { HandlerLane } from './handler-lane.ts';
import type { Lane } from './lane.ts';
import { OutboxDrainer } from './outbox-drainer.ts';
import type { OutboxRelay } from './outbox-message.ts';
import type { ReactionStore } from './reaction-store.ts';
import type { Runtime } from './runtime.ts';
import { SagaLane } from './saga-lane.ts';
import type { SagaInstance, SagaStatus } from './saga-instance.ts';
import type { Scheduler } from './scheduler.ts';

/** What {@link createReactionRunner} takes. */
export interface ReactionRunnerOptions {
  /** Checkpoints, dead letters, saga instances, timeouts and the outbox. */
  readonly store: ReactionStore;
  /** Confirmed events, read once per handler and saga from its checkpoint. */
  readonly feed: EventFeed;
  /** Time and timers: backoff delays and saga timeouts. */
  readonly scheduler: Scheduler;
  readonly handlers?: readonly Handler[];
  readonly sagas?: readonly Saga[];
  /** Where the outbox goes; none when the store writes emitted events into the log itself. */
  readonly outbox?: OutboxRelay;
  /** For backoff jitter. Default `Math.random`. */
  readonly random?: () => number;
  /** How many handled event ids each checkpoint keeps for dedupe. Default 256. */
  readonly dedupeWindow?: number;
}

/**
 * Runs handlers and sagas over confirmed events: each from its own checkpoint, in position order,
 * deduped by event id, with retries, dead letters, durable saga timeouts and the outbox.
 *
 * Run exactly one runner per store, in exactly one place: on the client, in the leader tab (start
 * it when `leader$` turns true, stop it when it turns false); on the hub, in one process (with
 * several hub nodes, the one that holds a lock). Two runners on one store would react twice
 * (saga writes would then fail with `conflict` and be redone, but handler side effects would not).
 */
export interface ReactionRunner {
  readonly deadLetters: DeadLetterQueue;
  /** Failures with no caller to throw to: a feed or store error (the lane then reads again from its checkpoint). */
  readonly errors$: Observable<CoreError>;
  /** Loads the checkpoints, arms the stored saga timeouts, drains the outbox, and starts reading. */
  start(): Promise<void>;
  /** Stops reading, waits for the reactions in progress, stores the progress and disarms timers. */
  stop(): Promise<void>;
  /**
   * Resolves once every handler and saga has stored a checkpoint at or past `position` and the
   * outbox drain in progress (if any) is done; rejects if the runner stops or its store closes.
   */
  settled(position: number): Promise<void>;
  /** The stored checkpoint position of each handler and saga: with the log head, the lag metric. */
  checkpoints(): ReadonlyMap<string, number>;
  /** Saga instances in the store, by saga and status: for the saga count metric. */
  sagaInstances(query?: { readonly saga?: string; readonly status?: SagaStatus }): Promise<SagaInstance[]>;
}

/** The default of {@link ReactionRunnerOptions.dedupeWindow}. */
export const DEFAULT_DEDUPE_WINDOW = 256;

/**
 * Creates a runner for handlers and sagas. Nothing runs until `start()`.
 *
 * @example
 * const runner = createReactionRunner({
 *   store,                                                  // Dexie on the client, SQLite on the hub
 *   feed: observableFeed((after) => loom.events$({ from: after })),
 *   scheduler: { now: Date.now, schedule: (ms, task) => { const t = setTimeout(task, ms); return () => clearTimeout(t); } },
 *   handlers: [sendInvoice],
 *   sagas: [checkout],
 *   outbox: { deliver: (messages) => appendOnce(messages) },
 * });
 * await runner.start();
 * runner.deadLetters.deadLetters$.subscribe(render);
 */
export function createReactionRunner(options: ReactionRunnerOptions): ReactionRunner {
  return new Runner(options);
}

class Runner implements ReactionRunner {
  readonly deadLetters: DeadLetterQueue;
  readonly errors$: Observable<CoreError>;
  readonly #errors = new Subject<CoreError>();
  readonly #lanes: Lane[];
  readonly #drainer: OutboxDrainer;
  readonly #store: ReactionStore;
  #state: 'new' | 'started' | 'stopped' = 'new';
  #unwatch: () => void = () => undefined;

  constructor(options: ReactionRunnerOptions) {
    const { store, feed, scheduler, handlers = [], sagas = [], outbox } = options;
    const random = options.random ?? Math.random;
    const dedupeWindow = options.dedupeWindow ?? DEFAULT_DEDUPE_WINDOW;
    if (!Number.isSafeInteger(dedupeWindow) || dedupeWindow < 0) {
      throw new RangeError(`dedupeWindow must be an integer ≥ 0, got ${dedupeWindow}`);
    }
    const names = new Set<string>();
    for (const { name } of [...handlers, ...sagas]) {
      if (names.has(name)) {
        throw new CoreError(
          CoreErrorCode.invalidDefinition,
          `two handlers or sagas are named ${name} in one runner`,
        );
      }
      names.add(name);
    }
    this.#store = store;
    this.errors$ = this.#errors.asObservable();
    const report = (error: unknown) => this.#errors.next(toCoreError(error));
    this.#drainer = new OutboxDrainer({ store, relay: outbox, scheduler, random, report });
    const rt: Runtime = {
      store,
      scheduler,
      random,
      dedupeWindow,
      report,
      outboxChanged: () => this.#drainer.kick(),
    };
    this.#lanes = [
      ...handlers.map((handler) => new HandlerLane(handler, feed, rt)),
      ...sagas.map((saga) => new SagaLane(saga, feed, rt)),
    ];
    this.deadLetters = createDeadLetterQueue({
      store,
      scheduler,
      handlers,
      sagas,
      outboxChanged: () => this.#drainer.kick(),
    });
  }

  async start(): Promise<void> {
    if (this.#state !== 'new') {
      throw new CoreError(
        CoreErrorCode.invalidState,
        `the runner was ${this.#state} already; create a new one`,
      );
    }
    this.#state = 'started';
    // Whoever wrote to the outbox (a lane, a dead-letter queue in another tab), it is drained.
    this.#unwatch = this.#store.watch((tables) => {
      if (tables.has('outbox')) this.#drainer.kick();
    });
    await Promise.all(this.#lanes.map((lane) => lane.start()));
    this.#drainer.kick();
  }

  async stop(): Promise<void> {
    if (this.#state === 'stopped') return;
    this.#state = 'stopped';
    this.#unwatch();
    await Promise.all(this.#lanes.map((lane) => lane.stop()));
    await this.#drainer.stop();
    this.#errors.complete();
  }

  async settled(position: number): Promise<void> {
    if (this.#state !== 'started') {
      throw new CoreError(CoreErrorCode.invalidState, `the runner is ${this.#state}, not started`);
    }
    await Promise.all(this.#lanes.map((lane) => lane.settled(position)));
    await this.#drainer.idle();
  }

  checkpoints(): ReadonlyMap<string, number> {
    return new Map(this.#lanes.map((lane) => [lane.name, lane.checkpoint]));
  }

  sagaInstances(
    query: { readonly saga?: string; readonly status?: SagaStatus } = {},
  ): Promise<SagaInstance[]> {
    return this.#store.transaction((tx) => tx.listSagas(query));
  }
}
