import {
  createDeadLetterQueue,
  createReactionRunner,
  observableFeed,
  type DeadLetterQueue,
  type Handler,
  type ReactionRunner,
  type ReactionStore,
  type Saga,
  type Scheduler,
} from '@eventloom/core';
import type { FoldableEvent } from '@eventloom/core';
import { BehaviorSubject, distinctUntilChanged, Subject, type Observable, type Subscription } from 'rxjs';
import { ClientError, ClientErrorCode, toClientError } from '../client-error.ts';
import { DexieClientStore, type IndexedDbDeps } from '../dexie-client-store.ts';
import type { EventFilter } from '../event-filter.ts';
import type { AnyDecider } from '../sync/sync-types.ts';
import { routeDeadLetters, type DeadLetterTarget } from './client-dead-letter-queue.ts';
import { DexieReactionStore } from './dexie-reaction-store.ts';
import { queueHistory, startFromNow, startOf, type HandlerStarts } from './history-runner.ts';
import { loomOutboxRelay, type RelayTarget } from './loom-outbox-relay.ts';
import { timerScheduler } from './timer-scheduler.ts';

/** Options of {@link createReactions}. */
export interface ReactionsOptions {
  readonly handlers?: readonly Handler[];
  readonly sagas?: readonly Saga[];
  /**
   * Where checkpoints, saga state, timeouts, dead letters and the reaction outbox are kept: by
   * default the Eventloom's own IndexedDB database (the global IndexedDB); in Node, the IndexedDB
   * implementation the Eventloom was given; or a ready store (e.g. `createMemoryReactionStore()`
   * for an Eventloom on a `MemoryClientStore`).
   */
  readonly storage?: IndexedDbDeps | { readonly store: ReactionStore };
  /** The deciders whose refused commands a dead-letter retry decides again (as `createSync` takes them). */
  readonly deciders?: readonly AnyDecider[];
  /** Time and timers; `timerScheduler()` (the wall clock and `setTimeout`) by default. */
  readonly scheduler?: Scheduler;
  /** For backoff jitter. Default `Math.random`. */
  readonly random?: () => number;
  /** How many handled event ids each checkpoint keeps for dedupe. Default 256. */
  readonly dedupeWindow?: number;
  /**
   * Per handler name, where it starts and whether history stored later below its checkpoint runs
   * through it: `from-the-beginning` (the default) or `from-now` (see {@link HandlerStart}).
   */
  readonly starts?: HandlerStarts;
}

/** What {@link createReactions} needs of an Eventloom. */
export interface ReactionsTarget extends RelayTarget, DeadLetterTarget {
  readonly name: string;
  /** The IndexedDB the Eventloom was opened with, if not the global one: the reactions open it too. */
  readonly indexedDb?: IndexedDbDeps | undefined;
  readonly leader$: Observable<boolean>;
  events$(filter?: EventFilter): Observable<FoldableEvent>;
  /** History stored below the position: run through `from-the-beginning` handlers (an Eventloom has it). */
  readonly history$?: Observable<readonly FoldableEvent[]>;
  /** The last confirmed position, where a `from-now` handler starts (an Eventloom has it). */
  lastPosition?(): Promise<number>;
}

/** Handlers and sagas running on this device: see {@link createReactions}. */
export interface Reactions {
  /**
   * The dead-letter queue of the whole database: the handlers' and sagas' letters and the pushes
   * the hub refused (`handler` `eventloom.sync`), each retried in its own way (see
   * `routeDeadLetters`). Works in every tab, leader or not.
   */
  readonly deadLetters: DeadLetterQueue;
  /** Whether the handlers and sagas run in this tab (it leads, and they started): now, and on change. */
  readonly running$: Observable<boolean>;
  /** Failures with no caller to throw to: a feed, store or outbox-relay error (the runtime retries). */
  readonly errors$: Observable<ClientError>;
  /**
   * Resolves once every handler and saga has stored a checkpoint at or past `position` and what
   * they emitted is in the Eventloom's outbox. Rejects with `not-ready` in a tab that does not lead.
   */
  settled(position: number): Promise<void>;
  /** The stored checkpoint position of each handler and saga (empty in a tab that does not lead). */
  checkpoints(): ReadonlyMap<string, number>;
  /** Stops the handlers and sagas (waiting for those in progress) and lets go of the database. */
  stop(): Promise<void>;
}

/**
 * Runs handlers and sagas (`defineHandler`, `defineSaga` of `@eventloom/core`) over the
 * Eventloom's confirmed events, in position order, in the leader tab only: they start when this
 * tab gets the lead and stop when it loses it, so that they run once per device (DESIGN.md §7).
 * Checkpoints, saga state, timeouts and dead letters live in the Eventloom's IndexedDB database;
 * what handlers and sagas emit goes to the Eventloom's outbox, exactly once, and syncs to the hub.
 *
 * @example
 * const loom = await createEventloom({ name: 'shop', registry });
 * const reactions = createReactions(loom, { handlers: [sendInvoice], sagas: [checkout] });
 * reactions.deadLetters.deadLetters$.subscribe(render);
 * await reactions.deadLetters.retry(letter.id);
 */
export function createReactions(loom: ReactionsTarget, options: ReactionsOptions = {}): Reactions {
  return new ClientReactions(loom, options);
}

class ClientReactions implements Reactions {
  readonly deadLetters: DeadLetterQueue;
  readonly running$: Observable<boolean>;
  readonly errors$: Observable<ClientError>;
  readonly #loom: ReactionsTarget;
  readonly #options: ReactionsOptions;
  readonly #store: ReactionStore;
  readonly #scheduler: Scheduler;
  readonly #errors = new Subject<ClientError>();
  readonly #running = new BehaviorSubject(false);
  readonly #close: () => void;
  readonly #leader: Subscription;
  readonly #history: Subscription | undefined;
  /** Lead changes, applied one after the other. */
  #chain: Promise<void> = Promise.resolve();
  #runner: ReactionRunner | undefined;
  #stopped = false;

  constructor(loom: ReactionsTarget, options: ReactionsOptions) {
    this.#loom = loom;
    this.#options = options;
    this.#scheduler = options.scheduler ?? timerScheduler();
    this.errors$ = this.#errors.asObservable();
    this.running$ = this.#running.pipe(distinctUntilChanged());
    const storage = options.storage ?? loom.indexedDb;
    if (storage !== undefined && 'store' in storage) {
      this.#store = storage.store;
      this.#close = () => undefined;
    } else {
      if (storage === undefined && typeof indexedDB === 'undefined') {
        throw new ClientError(
          ClientErrorCode.invalid,
          'no IndexedDB here: pass storage: { indexedDB, IDBKeyRange } (e.g. from fake-indexeddb in Node), or { store }',
        );
      }
      // A connection of its own on the Eventloom's database: the same schema, the same tables.
      const client = new DexieClientStore({
        name: loom.name,
        ...(storage === undefined ? {} : { indexedDB: storage }),
        onClosed: (error) => this.#errors.next(error),
      });
      const opened = client.open();
      opened.catch((error: unknown) => this.#errors.next(toClientError(error)));
      const dexie = new DexieReactionStore(client);
      this.#store = {
        transaction: async (fn) => {
          await opened;
          return dexie.transaction(fn);
        },
        watch: (listener) => dexie.watch(listener),
      };
      this.#close = () => client.close();
    }
    const { handlers = [], sagas = [] } = options;
    for (const handler of handlers) {
      if (startOf(options.starts, handler.name) === 'from-now' && loom.lastPosition === undefined) {
        throw new ClientError(
          ClientErrorCode.invalid,
          `handler ${handler.name} starts from-now: the target has no lastPosition()`,
        );
      }
    }
    this.deadLetters = routeDeadLetters({
      queue: createDeadLetterQueue({ store: this.#store, scheduler: this.#scheduler, handlers, sagas }),
      store: this.#store,
      loom,
      ...(options.deciders === undefined ? {} : { deciders: options.deciders }),
      now: () => this.#scheduler.now(),
    });
    this.#history = loom.history$?.subscribe((events) => this.#enqueue(() => this.#runHistory(events)));
    this.#leader = loom.leader$.pipe(distinctUntilChanged()).subscribe({
      next: (leads) => this.#enqueue(() => (leads ? this.#start() : this.#halt())),
      complete: () => this.#enqueue(() => this.#halt()),
    });
  }

  async settled(position: number): Promise<void> {
    await this.#chain;
    const runner = this.#runner;
    if (runner === undefined) {
      throw new ClientError(
        ClientErrorCode.notReady,
        this.#stopped
          ? 'the reactions are stopped'
          : 'the reactions run in the leader tab, and this tab does not lead',
      );
    }
    try {
      await runner.settled(position);
    } catch (error) {
      throw toClientError(error);
    }
  }

  checkpoints(): ReadonlyMap<string, number> {
    return this.#runner?.checkpoints() ?? new Map();
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#leader.unsubscribe();
    this.#history?.unsubscribe();
    this.#enqueue(() => this.#halt());
    await this.#chain;
    this.#close();
    this.#running.complete();
    this.#errors.complete();
  }

  #enqueue(change: () => Promise<void>): void {
    this.#chain = this.#chain.then(change).catch((error: unknown) => this.#errors.next(toClientError(error)));
  }

  async #start(): Promise<void> {
    if (this.#stopped || this.#runner !== undefined) return;
    const { handlers, sagas, random, dedupeWindow } = this.#options;
    if (handlers !== undefined && this.#loom.lastPosition !== undefined) {
      await startFromNow(this.#store, handlers, this.#options.starts, await this.#loom.lastPosition());
    }
    const runner = createReactionRunner({
      store: this.#store,
      feed: observableFeed((after) => this.#loom.events$({ from: after })),
      scheduler: this.#scheduler,
      outbox: loomOutboxRelay(this.#loom),
      ...(handlers === undefined ? {} : { handlers }),
      ...(sagas === undefined ? {} : { sagas }),
      ...(random === undefined ? {} : { random }),
      ...(dedupeWindow === undefined ? {} : { dedupeWindow }),
    });
    runner.errors$.subscribe((error) => this.#errors.next(toClientError(error)));
    this.#runner = runner;
    try {
      await runner.start();
    } catch (error) {
      this.#runner = undefined;
      await runner.stop();
      throw error;
    }
    this.#running.next(true);
  }

  /**
   * History was stored below the log's position: the runner starts again (its feeds read from the
   * checkpoints, so they take what lies above them), and what `from-the-beginning` handlers had
   * passed is run through them once each, from their dead-letter queue.
   */
  async #runHistory(events: readonly FoldableEvent[]): Promise<void> {
    if (this.#stopped || events.length === 0) return;
    const running = this.#runner !== undefined;
    await this.#halt();
    const ids = await queueHistory(
      this.#store,
      this.#options.handlers ?? [],
      this.#options.starts,
      events,
      this.#scheduler.now(),
    );
    if (running) await this.#start();
    for (const id of ids) await this.deadLetters.retry(id);
  }

  async #halt(): Promise<void> {
    const runner = this.#runner;
    if (runner === undefined) return;
    this.#runner = undefined;
    this.#running.next(false);
    await runner.stop();
  }
}
