import {
  createHlc,
  isRejection,
  type Decider,
  type EventDefinition,
  type EventRegistry,
  type FoldableEvent,
  type HybridLogicalClock,
  type Projection,
  type Rejection,
} from '@eventloom/core';
import {
  ErrorCode,
  eventMetaSchema,
  guardJson,
  Limits,
  STORED_EVENT_KINDS,
  streamSchema,
  type CommittedEvent,
  type EventEnvelope,
  type EventMeta,
  type JsonValue,
  type RejectionCode,
  type StoredEventKind,
} from '@eventloom/protocol';
import { distinctUntilChanged, map, Observable, startWith, Subject, type Subscription } from 'rxjs';
import { ClientError, ClientErrorCode, toClientError } from './client-error.ts';
import type {
  ClientMeta,
  ClientStore,
  DeadLetterRow,
  OutboxRow,
  PendingCommand,
  StoreChanges,
  StoreCursor,
} from './client-store.ts';
import { DexieClientStore, type IndexedDbDeps } from './dexie-client-store.ts';
import { ProjectionRuntime } from './projection-runtime.ts';
import { SerialQueue } from './serial-queue.ts';
import { defaultTabEnvironment, TabCoordinator, type TabEnvironment } from './tab-coordinator.ts';
import { createUuidV7 } from './uuid-v7.ts';

/**
 * Any projection, whatever its state and event types: what lists of projections hold. (A
 * `Projection<S, M>` is not assignable to `Projection<unknown>`, its reducers being contravariant.)
 */
export type AnyProjection = Pick<Projection<unknown>, 'id' | 'name' | 'version' | 'types' | 'initial'>;

/** Options of {@link createEventloom}. */
export interface EventloomOptions<D extends EventDefinition = EventDefinition> {
  /** The database name: tabs that use the same name share the log, the outbox and the leader. */
  readonly name: string;
  /** The event types the app knows: appends are validated with it, stored events upcast by it. */
  readonly registry: EventRegistry<D>;
  /** Projections to load right away and keep snapshotted; others load on their first `projection$`. */
  readonly projections?: readonly AnyProjection[];
  /**
   * Where to store. In a browser, nothing: the global IndexedDB. In Node, an IndexedDB
   * implementation, e.g. `import { indexedDB, IDBKeyRange } from 'fake-indexeddb'`. Or a ready
   * {@link ClientStore}.
   */
  readonly storage?: IndexedDbDeps | { readonly store: ClientStore };
  /** Snapshot a projection's confirmed state every this many confirmed events. Default 1,000; `Infinity`: never. */
  readonly snapshotEvery?: number;
  /** Web Locks and BroadcastChannel, each the environment's own unless given (`null`: none). */
  readonly tabs?: TabEnvironment;
  /** The physical clock for the HLC and event ids; `Date.now` by default. */
  readonly now?: () => number;
}

/**
 * An event to append: what `EventDefinition.create` returns, a decider's draft, or a plain object.
 * `version` defaults to the latest of the type, `kind` to the type's kind, `stream` to the stream
 * passed to `append`.
 */
export interface AppendInput<T extends string = string, I = unknown> {
  readonly type: T;
  readonly data: I;
  readonly version?: number;
  readonly kind?: StoredEventKind;
  readonly meta?: EventMeta;
  readonly stream?: string;
}

/** The {@link AppendInput}s a registry of definitions `D` accepts, typed by event type. */
export type AppendInputOf<D extends EventDefinition> =
  D extends EventDefinition<infer T, number, unknown, infer I> ? AppendInput<T, I> : never;

/** Options of `append` and `appendMany`. */
export interface AppendOptions {
  /**
   * Optimistic concurrency (DESIGN.md §4): the version of the stream the events were decided on.
   * The first event of the stream carries it, each further one of the same stream one more.
   */
  readonly expectedVersion?: number;
  /** Metadata merged under each event's own `meta`. */
  readonly meta?: EventMeta;
}

/** Options of `appendMany`. */
export interface AppendManyOptions extends AppendOptions {
  /**
   * Makes the append idempotent: the key is stored with the events, in the same transaction, and
   * a later append with the same key (from any tab, after any restart) stores nothing and
   * resolves with no events. Keys are kept for good.
   */
  readonly idempotencyKey?: string;
}

/** What `events$` and `readEvents` select. */
export interface EventFilter {
  /** Only this stream's events. */
  readonly stream?: string;
  /** Only events of these types (one or several). */
  readonly type?: string | readonly string[];
  /** Only events after this position (exclusive); 0 by default: from the start. */
  readonly from?: number;
}

/** What `execute` returns: the events appended, or the decider's rejection, with the state decided on. */
export type ExecuteResult<S, Code extends string = string> =
  | { readonly ok: true; readonly events: readonly EventEnvelope[]; readonly state: S }
  | { readonly ok: false; readonly rejection: Rejection<Code>; readonly state: S };

/** A hub ack of a pushed event, for {@link SyncPort.markAcked}. `streamVersion` is missing for a `duplicate`. */
export interface AckInput {
  readonly id: string;
  readonly position: number;
  readonly streamVersion?: number;
}

/** A hub rejection of a pushed event, for {@link SyncPort.markRejected}. */
export interface RejectInput {
  readonly id: string;
  readonly code: RejectionCode;
  readonly message: string;
  readonly currentVersion?: number;
  /** Forget the event instead of parking it in the dead letters. */
  readonly drop?: boolean;
}

/** One rejected decision to make again, for {@link SyncPort.redecide}. */
export interface RedecideInput {
  /** The ids of the decision's rejected events (outbox rows that carry the same `command`). */
  readonly ids: readonly string[];
  // oxlint-disable-next-line no-explicit-any -- any decider: its types are the app's
  readonly decider: Decider<any, any, any, any>;
  /** The stream's version the hub reported: the decision waits until the log has caught up with it. */
  readonly currentVersion?: number;
}

/**
 * What became of a decision made again: new events appended in place of the rejected ones; the
 * decider now refuses (the rejected events are parked in the dead letters with its reason); it
 * decides nothing now (they are dropped); the log has not caught up with `currentVersion` yet
 * (nothing done); or the events are no longer pending.
 */
export type RedecideOutcome =
  | { readonly kind: 'appended'; readonly events: readonly EventEnvelope[] }
  | {
      readonly kind: 'refused';
      readonly rejection: Rejection;
      readonly deadLetters: readonly DeadLetterRow[];
    }
  | { readonly kind: 'nothing' }
  | { readonly kind: 'stale'; readonly streamVersion: number }
  | { readonly kind: 'gone' };

/** What the sync engine keeps in the meta record. */
export interface SyncRecord {
  readonly position: number;
  /** The subscriptions the confirmed log covers up to `position`; undefined before the first sync. */
  readonly subscriptions: readonly string[] | undefined;
  /** The id of the hub log the positions come from. */
  readonly hubId: string | undefined;
}

/**
 * What the sync engine uses: the outbox to push, and where to put what the hub says. Every method
 * runs in the client's queue, so projections follow each change.
 */
export interface SyncPort {
  /** This device's id, for `hello`. */
  readonly clientId: string;
  /** The database name (tabs of one name share one sync). */
  readonly name: string;
  /**
   * Stores a page of confirmed events (position order) from a pull or a live `events` message:
   * events at or below the last confirmed position are ignored, the confirmed state folds the new
   * ones in position order, the pending events they confirm (same id) leave the outbox, and the
   * pending rest is rebased on top. `until`: the position a filtered page covers up to.
   */
  insertConfirmed(
    events: readonly CommittedEvent[],
    options?: { readonly until?: number },
  ): Promise<{ readonly inserted: number; readonly position: number }>;
  /**
   * Stores confirmed events at or below the last position that the log does not hold: the history
   * of streams subscribed later. Projections are rebuilt from the log (their snapshots dropped).
   * `subscriptions`: what the log covers from now on, recorded in the same transaction.
   */
  insertHistory(
    events: readonly CommittedEvent[],
    options?: { readonly subscriptions?: readonly string[] },
  ): Promise<{ readonly inserted: number; readonly position: number }>;
  /** The outbox in clientSeq order (the push order): rows above `afterSeq`, at most `limit`, optionally not yet acked. */
  readOutbox(query?: {
    readonly afterSeq?: number;
    readonly limit?: number;
    readonly unackedOnly?: boolean;
  }): Promise<OutboxRow[]>;
  /**
   * Records acks: the events stay pending until they come back confirmed, or until the position
   * passes them (a stream this device does not hold). Unknown ids are skipped.
   */
  markAcked(acks: readonly AckInput[]): Promise<void>;
  /** Moves rejected events out of the outbox (and the optimistic state) into the dead letters, or drops them. */
  markRejected(
    rejections: readonly RejectInput[],
  ): Promise<{ readonly deadLetters: readonly DeadLetterRow[]; readonly dropped: readonly OutboxRow[] }>;
  /**
   * Makes rejected decisions again, in order, each on the freshest state (confirmed events, then the
   * pending ones other than those being replaced), replacing their events in one transaction.
   */
  redecide(decisions: readonly RedecideInput[]): Promise<RedecideOutcome[]>;
  /** The events parked in the dead letters, with the reasons, in clientSeq order. */
  readDeadLetters(): Promise<DeadLetterRow[]>;
  /** Deletes dead letters by id. */
  discardDeadLetters(ids: readonly string[]): Promise<void>;
  /** The last confirmed position, for `hello` and `pull`. */
  lastPosition(): Promise<number>;
  /** The last `clientSeq` given out: every event appended from now on gets a higher one. */
  lastClientSeq(): Promise<number>;
  /** What the sync engine keeps in the meta. */
  readSyncRecord(): Promise<SyncRecord>;
  /** Records the subscriptions the log covers, or the hub's id. */
  writeSyncRecord(record: {
    readonly subscriptions?: readonly string[];
    readonly hubId?: string;
  }): Promise<void>;
}

/**
 * An open Eventloom client: the device's event log, outbox and live projections (DESIGN.md §3, §8).
 * Every write is one IndexedDB transaction, and the in-memory projections change only after it
 * committed: a failure leaves neither half-written rows nor a state that the rows do not back.
 */
export interface Eventloom<D extends EventDefinition = EventDefinition> {
  readonly name: string;
  /**
   * The IndexedDB implementation it was opened with (`storage`); undefined for the global one or
   * a store given directly. What else opens this database (`createReactions`) opens it there too.
   */
  readonly indexedDb: IndexedDbDeps | undefined;
  /** This device's id, persisted in the database. */
  readonly clientId: string;
  readonly registry: EventRegistry<D>;
  /**
   * Validates an event, gives it an id (UUIDv7), this device's next clientSeq and an hlc, and
   * stores it in the outbox; resolves with the stored envelope once committed. Throws a
   * {@link ClientError} (`invalid`, `unknown-event-version`, `too-large`, or a storage code) and
   * then stores nothing.
   */
  append(stream: string, event: AppendInputOf<D>, options?: AppendOptions): Promise<EventEnvelope>;
  /** Appends several events in one transaction: all of them, or none. */
  appendMany(
    stream: string,
    events: readonly AppendInputOf<D>[],
    options?: AppendManyOptions,
  ): Promise<EventEnvelope[]>;
  /**
   * Runs a decider: folds its stream's events (confirmed, then pending) with `evolve`, decides the
   * command, and appends the events with `expectedVersion`. A rejection is returned, not thrown.
   * The decider's name and the command (if it is JSON) are kept with the events, on the device
   * only, so that the sync engine can decide again if the hub rejects them (DESIGN.md §4).
   */
  execute<S, C, M extends object, Code extends string>(
    decider: Decider<S, C, M, Code>,
    command: C,
    options?: { readonly stream?: string; readonly meta?: EventMeta },
  ): Promise<ExecuteResult<S, Code>>;
  /** Confirmed events matching the filter, in position order, upcast: those stored now, then each new one. */
  events$(filter?: EventFilter): Observable<FoldableEvent>;
  /** Confirmed events matching the filter, in position order, upcast, as stored now. */
  readEvents(filter?: EventFilter): Promise<FoldableEvent[]>;
  /**
   * A projection's optimistic state (confirmed, then pending events on top), of `key` for a keyed
   * projection: emits the current state on subscribe and then each new one.
   */
  projection$<S>(projection: Projection<S>, key?: string): Observable<S>;
  /** Like `projection$`, from confirmed events only. */
  confirmedProjection$<S>(projection: Projection<S>, key?: string): Observable<S>;
  /** The pending events (the outbox), in clientSeq order: now, and after each change. */
  readonly pending$: Observable<readonly EventEnvelope[]>;
  /** Whether this tab leads (holds the Web Lock of the database): now, and after each change. */
  readonly leader$: Observable<boolean>;
  /** Failures that have no caller to throw to: a reducer that threw, the database closed under us. */
  readonly errors$: Observable<ClientError>;
  /** The sync engine's entry point. */
  readonly sync: SyncPort;
  /** Closes the database and completes every stream; gives up the lead. */
  close(): Promise<void>;
}

/**
 * Opens (creating on first use) the device's Eventloom database and loads the given projections.
 *
 * @example
 * const loom = await createEventloom({ name: 'todos', registry, projections: [todoList] });
 * await loom.append('list:1', TodoAdded.create({ id: 'a', title: 'milk' }));
 * loom.projection$(todoList).subscribe(render);
 *
 * @example
 * // Node: bring an IndexedDB implementation.
 * import { indexedDB, IDBKeyRange } from 'fake-indexeddb';
 * const loom = await createEventloom({ name: 'todos', registry, storage: { indexedDB, IDBKeyRange } });
 */
export async function createEventloom<D extends EventDefinition>(
  options: EventloomOptions<D>,
): Promise<Eventloom<D>> {
  if (typeof options.name !== 'string' || options.name.length === 0) {
    throw new ClientError(ClientErrorCode.invalid, 'createEventloom: name must be a non-empty string');
  }
  const snapshotEvery = options.snapshotEvery ?? 1000;
  if (!(snapshotEvery >= 1)) throw new ClientError(ClientErrorCode.invalid, 'snapshotEvery must be ≥ 1');
  const errors = new Subject<ClientError>();
  const storage = options.storage;
  let store: ClientStore;
  if (storage && 'store' in storage) store = storage.store;
  else {
    if (!storage && typeof indexedDB === 'undefined') {
      throw new ClientError(
        ClientErrorCode.invalid,
        'no IndexedDB here: pass storage: { indexedDB, IDBKeyRange } (e.g. from fake-indexeddb in Node)',
      );
    }
    store = new DexieClientStore({
      name: options.name,
      ...(storage ? { indexedDB: storage } : {}),
      onClosed: (error) => errors.next(error),
    });
  }
  const meta = await store.open();
  const loom = new EventloomClient<D>(options, store, meta, errors, snapshotEvery);
  try {
    await loom.start();
  } catch (thrown) {
    await loom.close();
    throw toClientError(thrown);
  }
  return loom;
}

interface PendingEntry {
  readonly row: OutboxRow;
  /** The event upcast for folding; undefined if the registry cannot read it (it still syncs). */
  readonly event: FoldableEvent | undefined;
}

interface LoadedProjection {
  readonly runtime: ProjectionRuntime<unknown>;
  readonly ready: Promise<ProjectionRuntime<unknown>>;
}

class EventloomClient<D extends EventDefinition> implements Eventloom<D> {
  readonly name: string;
  readonly indexedDb: IndexedDbDeps | undefined;
  readonly clientId: string;
  readonly registry: EventRegistry<D>;
  readonly pending$: Observable<readonly EventEnvelope[]>;
  readonly leader$: Observable<boolean>;
  readonly errors$: Observable<ClientError>;
  readonly sync: SyncPort;

  readonly #store: ClientStore;
  readonly #options: EventloomOptions<D>;
  readonly #snapshotEvery: number;
  readonly #queue = new SerialQueue();
  /** Tasks queued so far: an append group takes more appends only while it is the last one. */
  #tasksQueued = 0;
  /** The group of single appends queued last and not started yet. */
  #appendGroup: AppendGroup | undefined;
  readonly #errors: Subject<ClientError>;
  readonly #confirmed = new Subject<readonly CommittedEvent[]>();
  readonly #pendingChanged = new Subject<void>();
  /** Every projection asked for, loaded or loading. */
  readonly #loading = new Map<string, LoadedProjection>();
  /** The loaded projections, which every change folds into. */
  readonly #projections = new Map<string, ProjectionRuntime<unknown>>();
  readonly #reported = new Set<string>();
  readonly #nextId: () => string;
  readonly #now: () => number;
  readonly #tabs: TabCoordinator;
  #clock: HybridLogicalClock;
  #view: StoreCursor;
  #pending: PendingEntry[] = [];
  /** Set when the store's history moved under the view: the projections are rebuilt. */
  #historyMoved = false;
  #refreshQueued = false;
  #closed = false;

  constructor(
    options: EventloomOptions<D>,
    store: ClientStore,
    meta: ClientMeta,
    errors: Subject<ClientError>,
    snapshotEvery: number,
  ) {
    this.name = options.name;
    const storage = options.storage;
    this.indexedDb = storage === undefined || 'store' in storage ? undefined : storage;
    this.clientId = meta.clientId;
    this.registry = options.registry;
    this.#options = options;
    this.#store = store;
    this.#errors = errors;
    this.#snapshotEvery = snapshotEvery;
    this.#now = options.now ?? Date.now;
    this.#nextId = createUuidV7({ now: this.#now });
    this.#clock = createHlc({ node: meta.clientId, now: this.#now, ...(meta.hlc ? { last: meta.hlc } : {}) });
    this.#view = { position: meta.position, clientSeq: 0, epoch: meta.epoch, history: meta.history };
    this.errors$ = errors.asObservable();
    this.pending$ = this.#pendingChanged.pipe(
      startWith(undefined),
      map(() => this.#pending.map((p) => p.row.event)),
    );
    this.#tabs = new TabCoordinator(
      options.name,
      { ...defaultTabEnvironment(), ...options.tabs },
      () => this.#scheduleRefresh(),
      (e) => this.#report(toClientError(e)),
    );
    this.leader$ = this.#tabs.leader$;
    this.sync = {
      clientId: meta.clientId,
      name: options.name,
      insertConfirmed: (events, opts) => this.#run(() => this.#insertConfirmed(events, opts?.until)),
      insertHistory: (events, opts) => this.#run(() => this.#insertHistory(events, opts?.subscriptions)),
      readOutbox: (query) => this.#run(() => store.readPending(query)),
      markAcked: (acks) => this.#run(() => this.#markAcked(acks)),
      markRejected: (rejections) => this.#run(() => this.#markRejected(rejections)),
      redecide: (decisions) => this.#run(() => this.#redecide(decisions)),
      readDeadLetters: () => this.#run(() => store.readDeadLetters()),
      discardDeadLetters: (ids) => this.#run(() => store.deleteDeadLetters(ids)),
      lastPosition: () => this.#run(async () => (await store.readMeta()).position),
      lastClientSeq: () => this.#run(async () => (await store.readMeta()).clientSeq),
      readSyncRecord: () =>
        this.#run(async () => {
          const { position, subscriptions, hubId } = await store.readMeta();
          return { position, subscriptions, hubId };
        }),
      writeSyncRecord: (record) =>
        this.#run(async () => {
          await store.writeSyncState(record);
        }),
    };
  }

  /** Reads the outbox, then loads the projections given at creation (in the background). */
  async start(): Promise<void> {
    await this.#run(() => this.#refresh());
    for (const projection of this.#options.projections ?? []) {
      this.#load(projection as unknown as Projection<unknown>).ready.catch((e: unknown) =>
        this.#report(toClientError(e)),
      );
    }
  }

  append(stream: string, event: AppendInputOf<D>, options?: AppendOptions): Promise<EventEnvelope> {
    // Appends made while the queue is busy, with nothing else queued between them, share one
    // write transaction (group commit); each still resolves once its event is durable.
    if (this.#closed) return this.#run(() => Promise.reject(new Error('unreachable: closed')));
    const group = this.#appendGroup;
    if (
      group !== undefined &&
      group.queuedAt === this.#tasksQueued &&
      group.entries.length < MAX_APPEND_GROUP
    ) {
      return new Promise((resolve, reject) =>
        group.entries.push({ stream, event, options, resolve, reject }),
      );
    }
    let first!: AppendGroupEntry;
    const promise = new Promise<EventEnvelope>((resolve, reject) => {
      first = { stream, event, options, resolve, reject };
    });
    const opened: AppendGroup = { entries: [first], queuedAt: -1 };
    this.#run(async () => {
      if (this.#appendGroup === opened) this.#appendGroup = undefined;
      await this.#appendGrouped(opened.entries);
    }).catch((error: unknown) => {
      // Only a closed client fails the whole task: every entry gets its error.
      for (const entry of opened.entries) entry.reject(error);
    });
    opened.queuedAt = this.#tasksQueued;
    this.#appendGroup = opened;
    return promise;
  }

  appendMany(
    stream: string,
    events: readonly AppendInputOf<D>[],
    options?: AppendManyOptions,
  ): Promise<EventEnvelope[]> {
    return this.#run(() => this.#append(stream, events, options, true));
  }

  execute<S, C, M extends object, Code extends string>(
    decider: Decider<S, C, M, Code>,
    command: C,
    options: { readonly stream?: string; readonly meta?: EventMeta } = {},
  ): Promise<ExecuteResult<S, Code>> {
    return this.#run(async () => {
      const stream = options.stream ?? decider.stream?.(command);
      if (stream === undefined) {
        throw new ClientError(
          ClientErrorCode.invalid,
          `decider ${decider.name} has no stream(): pass options.stream`,
        );
      }
      // Kept only if it is JSON: a command that is not cannot be stored nor decided again.
      const json = guardJson(command, { maxBytes: Limits.maxEventBytes }).ok;
      const remembered: Omit<PendingCommand, 'first'> | undefined = json
        ? {
            decider: decider.name,
            command: command as JsonValue,
            attempt: 0,
            ...(options.stream === undefined ? {} : { stream: options.stream }),
            ...(options.meta === undefined ? {} : { meta: options.meta }),
          }
        : undefined;
      const decided = await this.#decide(decider, command, stream, new Set(), remembered, []);
      return decided.ok
        ? { ok: true, events: decided.events, state: decided.state }
        : { ok: false, rejection: decided.rejection, state: decided.state };
    });
  }

  // Decides a command on the freshest state this device has (other tabs may have stored events
  // since), leaving out the pending rows in `without` (a decision being made again), and appends
  // the events, replacing `replace`.
  async #decide<S, C, M extends object, Code extends string>(
    decider: Decider<S, C, M, Code>,
    command: C,
    stream: string,
    without: ReadonlySet<number>,
    remembered: Omit<PendingCommand, 'first'> | undefined,
    replace: readonly number[],
  ): Promise<
    | { ok: true; events: EventEnvelope[]; state: S; streamVersion: number }
    | { ok: false; rejection: Rejection<Code>; state: S; streamVersion: number }
  > {
    await this.#refresh();
    const confirmed = await this.#store.readConfirmed({ stream, until: this.#view.position });
    const pending = this.#pending.filter(
      (p) => p.row.event.stream === stream && !without.has(p.row.clientSeq),
    );
    let state = decider.initial;
    const evolve = decider.evolve as (state: S, event: FoldableEvent) => S;
    for (const event of [...confirmed, ...pending.map((p) => p.row.event)]) {
      state = evolve(state, this.#upcastOrThrow(event));
    }
    const streamVersion = confirmed.at(-1)?.streamVersion ?? 0;
    const decision = decider.decide(command, state);
    if (isRejection(decision)) return { ok: false, rejection: decision, state, streamVersion };
    if (decision.length === 0) return { ok: true, events: [], state, streamVersion };
    const expectedVersion = streamVersion + pending.length;
    const meta = remembered?.meta;
    const events = await this.#append(
      stream,
      decision as readonly AppendInput[],
      { expectedVersion, ...(meta ? { meta } : {}) },
      true,
      { ...(remembered ? { command: remembered } : {}), replace },
    );
    return { ok: true, events, state, streamVersion };
  }

  events$(filter: EventFilter = {}): Observable<FoldableEvent> {
    return new Observable<FoldableEvent>((subscriber) => {
      let live: Subscription | undefined;
      let closed = false;
      const matches = eventMatcher(filter);
      this.#run(async () => {
        const past = await this.#store.readConfirmed(this.#confirmedQuery(filter));
        if (closed) return;
        for (const e of past) {
          const event = this.#upcast(e);
          if (event) subscriber.next(event);
        }
        // Attached inside the queue task that read up to #view.position: the live events start
        // right after it, so nothing is missed or seen twice.
        let last = Math.max(this.#view.position, filter.from ?? 0);
        live = this.#confirmed.subscribe({
          next: (batch) => {
            for (const e of batch) {
              if (e.position <= last) continue;
              last = e.position;
              if (!matches(e)) continue;
              const event = this.#upcast(e);
              if (event) subscriber.next(event);
            }
          },
          complete: () => subscriber.complete(),
        });
      }).catch((e: unknown) => subscriber.error(toClientError(e)));
      return () => {
        closed = true;
        live?.unsubscribe();
      };
    });
  }

  readEvents(filter: EventFilter = {}): Promise<FoldableEvent[]> {
    return this.#run(async () => {
      const events = await this.#store.readConfirmed(this.#confirmedQuery(filter));
      return events.map((e) => this.#upcast(e)).filter((e): e is FoldableEvent => e !== undefined);
    });
  }

  projection$<S>(projection: Projection<S>, key?: string): Observable<S> {
    return this.#watch(projection, key, false);
  }

  confirmedProjection$<S>(projection: Projection<S>, key?: string): Observable<S> {
    return this.#watch(projection, key, true);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#tabs.close();
    await this.#queue.drain();
    this.#store.close();
    for (const runtime of this.#projections.values()) runtime.changes.complete();
    this.#confirmed.complete();
    this.#pendingChanged.complete();
    this.#errors.complete();
  }

  // ---- the work, always inside the queue ----

  #run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#closed) {
      return Promise.reject(
        new ClientError(ClientErrorCode.databaseClosed, `eventloom ${this.name} is closed`),
      );
    }
    this.#tasksQueued++;
    return this.#queue.run(async () => {
      try {
        return await task();
      } catch (thrown) {
        throw toClientError(thrown);
      }
    });
  }

  /**
   * Appends single events of a group ({@link EventloomClient.append}) in one transaction: each is
   * validated alone (a bad one fails alone), the valid ones stored together. If that transaction
   * fails, each is tried alone, so one event cannot fail the others. Each entry is settled.
   */
  async #appendGrouped(entries: readonly AppendGroupEntry[]): Promise<void> {
    if (entries.length === 1) {
      const [only] = entries;
      try {
        only!.resolve((await this.#append(only!.stream, [only!.event], only!.options, false))[0]!);
      } catch (error) {
        only!.reject(toClientError(error));
      }
      return;
    }
    const valid: AppendGroupEntry[] = [];
    const drafts: Draft[] = [];
    for (const entry of entries) {
      try {
        drafts.push(...this.#validate(entry.stream, [entry.event], entry.options, false));
        valid.push(entry);
      } catch (error) {
        entry.reject(toClientError(error));
      }
    }
    if (valid.length === 0) return;
    let events: EventEnvelope[];
    try {
      events = await this.#appendDrafts(drafts, false, {});
    } catch {
      // The shared transaction stored nothing: each on its own, so only the culprit fails.
      for (const entry of valid) await this.#appendGrouped([entry]);
      return;
    }
    for (let i = 0; i < valid.length; i++) valid[i]!.resolve(events[i]!);
  }

  async #append(
    stream: string,
    inputs: readonly AppendInput[],
    options: AppendManyOptions | undefined,
    many: boolean,
    extra: {
      readonly command?: Omit<PendingCommand, 'first'>;
      readonly replace?: readonly number[];
    } = {},
  ): Promise<EventEnvelope[]> {
    const drafts = this.#validate(stream, inputs, options, many);
    return this.#appendDrafts(drafts, many, extra, options?.idempotencyKey);
  }

  /** Stamps validated drafts (id, clientSeq, hlc) and stores them in one transaction. */
  async #appendDrafts(
    drafts: readonly Draft[],
    many: boolean,
    extra: {
      readonly command?: Omit<PendingCommand, 'first'>;
      readonly replace?: readonly number[];
    },
    idempotencyKey?: string,
  ): Promise<EventEnvelope[]> {
    const node = this.clientId;
    const result = await this.#store.appendPending(
      (meta) => {
        // Another tab may have stamped later: start after the persisted hlc, whatever this clock says.
        const last = this.#clock.last();
        if (meta.hlc !== undefined && (last === undefined || meta.hlc > last)) {
          this.#clock = createHlc({ node, now: this.#now, last: meta.hlc });
        }
        const events = drafts.map((draft, i): EventEnvelope => {
          const envelope: EventEnvelope = {
            id: this.#nextId(),
            ...draft,
            clientId: meta.clientId,
            clientSeq: meta.clientSeq + i + 1,
            hlc: this.#clock.now(),
          };
          const size = guardJson(envelope, { maxBytes: Limits.maxEventBytes });
          if (!size.ok) {
            // The size is the whole envelope's: the path names the event, the message the part that tipped it.
            const tooLarge = size.error.code === 'too-large';
            const at = [many ? String(i) : '', tooLarge ? '' : size.error.path].filter(Boolean).join('.');
            throw new ClientError(
              tooLarge ? ClientErrorCode.tooLarge : ClientErrorCode.invalid,
              tooLarge
                ? `${draft.type}: the event is larger than ${Limits.maxEventBytes} bytes (at ${size.error.path || 'the root'})`
                : `${draft.type}: ${size.error.message}`,
              { path: at },
            );
          }
          return envelope;
        });
        const command = extra.command ? { ...extra.command, first: meta.clientSeq + 1 } : undefined;
        return { events, hlc: events.at(-1)?.hlc, ...(command ? { command } : {}) };
      },
      {
        ...(extra.replace ? { replace: extra.replace } : {}),
        ...(idempotencyKey === undefined ? {} : { key: idempotencyKey }),
      },
    );
    if (sameCursor(result.before, this.#view) && result.replaced.length === 0) {
      this.#apply({
        meta: result.meta,
        confirmed: [],
        pending: result.rows,
        pendingReset: false,
        historyReset: false,
      });
    } else await this.#refresh();
    this.#tabs.announce();
    return result.rows.map((r) => r.event);
  }

  // Checks everything that does not depend on the meta, before any transaction starts.
  #validate(
    stream: string,
    inputs: readonly AppendInput[],
    options: AppendOptions | undefined,
    many: boolean,
  ): Draft[] {
    if (!Array.isArray(inputs))
      throw new ClientError(ClientErrorCode.invalid, 'appendMany takes an array of events');
    const nextVersion = new Map<string, number>();
    return inputs.map((input, i) => {
      const at = (path: string): string => [many ? String(i) : '', path].filter(Boolean).join('.');
      const fail = (code: ClientErrorCode, message: string, path: string): ClientError =>
        new ClientError(code, message, { path: at(path) });
      if (typeof input !== 'object' || input === null)
        throw fail(ClientErrorCode.invalid, 'an event must be an object', '');
      const target = input.stream ?? stream;
      if (!streamSchema.safeParse(target).success) {
        throw fail(ClientErrorCode.invalid, `not a valid stream name: ${JSON.stringify(target)}`, 'stream');
      }
      const definition = this.registry.get(input.type);
      if (definition === undefined) {
        throw fail(
          ClientErrorCode.unknownEventVersion,
          `unknown event type ${JSON.stringify(input.type)}`,
          'type',
        );
      }
      const version = input.version ?? definition.version;
      const validated = this.registry.validate({ type: input.type, version, data: input.data });
      if (!validated.ok) {
        const code =
          validated.error.code === 'unknown-event-version'
            ? ClientErrorCode.unknownEventVersion
            : ClientErrorCode.invalid;
        throw fail(code, validated.error.message, validated.error.path);
      }
      const kind = input.kind ?? definition.kind;
      if (!(STORED_EVENT_KINDS as readonly string[]).includes(kind)) {
        throw fail(ClientErrorCode.invalid, `kind must be one of ${STORED_EVENT_KINDS.join(', ')}`, 'kind');
      }
      const meta = { ...options?.meta, ...input.meta };
      const parsedMeta = eventMetaSchema.safeParse(meta);
      if (!parsedMeta.success) {
        const issue = parsedMeta.error.issues[0];
        throw fail(
          ClientErrorCode.invalid,
          `meta: ${issue?.message ?? 'invalid'}`,
          ['meta', ...(issue?.path ?? []).map(String)].join('.'),
        );
      }
      const { value } = validated;
      const draft = {
        type: input.type,
        version: value.version,
        kind,
        stream: target,
        data: value.data as EventEnvelope['data'],
        meta: parsedMeta.data,
      };
      if (options?.expectedVersion === undefined || target !== stream) return draft;
      const expected = nextVersion.get(target) ?? options.expectedVersion;
      nextVersion.set(target, expected + 1);
      return { ...draft, expectedVersion: expected };
    });
  }

  async #insertConfirmed(
    events: readonly CommittedEvent[],
    until: number | undefined,
  ): Promise<{ inserted: number; position: number }> {
    const result = await this.#store.insertConfirmed(events, until === undefined ? {} : { until });
    if (sameCursor(result.before, this.#view) && result.settled.length === 0) {
      this.#apply({
        meta: result.meta,
        confirmed: result.fresh,
        pending: [],
        pendingReset: false,
        historyReset: false,
      });
    } else await this.#refresh();
    this.#observeClocks(result.fresh);
    await this.#snapshotDue();
    if (result.fresh.length > 0 || result.meta.position !== result.before.position) this.#tabs.announce();
    return { inserted: result.fresh.length, position: result.meta.position };
  }

  async #insertHistory(
    events: readonly CommittedEvent[],
    subscriptions: readonly string[] | undefined,
  ): Promise<{ inserted: number; position: number }> {
    const result = await this.#store.insertHistory(events, subscriptions ? { subscriptions } : {});
    if (result.inserted.length > 0 || result.removed.length > 0) {
      await this.#refresh();
      this.#observeClocks(result.inserted);
      this.#tabs.announce();
    }
    return { inserted: result.inserted.length, position: result.meta.position };
  }

  async #markAcked(acks: readonly AckInput[]): Promise<void> {
    const seqs = this.#seqsById();
    const rows = acks.flatMap((a) => {
      const clientSeq = seqs.get(a.id);
      if (clientSeq === undefined) return [];
      return [
        a.streamVersion === undefined
          ? { clientSeq, position: a.position }
          : { clientSeq, position: a.position, streamVersion: a.streamVersion },
      ];
    });
    if (rows.length === 0) return;
    const { settled } = await this.#store.markAcked(rows);
    const acked = new Map(rows.map((r) => [r.clientSeq, r]));
    this.#pending = this.#pending.map((p) => {
      const ack = acked.get(p.row.clientSeq);
      if (!ack) return p;
      const { clientSeq: _, ...fields } = ack;
      return { ...p, row: { ...p.row, acked: fields } };
    });
    if (settled.length > 0) {
      await this.#refresh();
      this.#tabs.announce();
    }
  }

  async #markRejected(
    rejections: readonly RejectInput[],
  ): Promise<{ deadLetters: readonly DeadLetterRow[]; dropped: readonly OutboxRow[] }> {
    const seqs = this.#seqsById();
    const rows = rejections.flatMap((r) => {
      const clientSeq = seqs.get(r.id);
      return clientSeq === undefined ? [] : [{ ...r, clientSeq }];
    });
    if (rows.length === 0) return { deadLetters: [], dropped: [] };
    const { deadLetters, dropped } = await this.#store.reject(rows);
    await this.#refresh();
    this.#tabs.announce();
    return { deadLetters, dropped };
  }

  async #redecide(decisions: readonly RedecideInput[]): Promise<RedecideOutcome[]> {
    await this.#refresh();
    const rowsOf = (ids: readonly string[]): OutboxRow[] => {
      const wanted = new Set(ids);
      return this.#pending.filter((p) => wanted.has(p.row.event.id)).map((p) => p.row);
    };
    // Every decision still to make is left out of the state the earlier ones are made on.
    const waiting = new Set(decisions.flatMap((d) => rowsOf(d.ids).map((r) => r.clientSeq)));
    const outcomes: RedecideOutcome[] = [];
    for (const { ids, decider, currentVersion } of decisions) {
      const rows = rowsOf(ids);
      const remembered = rows[0]?.command;
      if (rows.length === 0 || remembered === undefined) {
        outcomes.push({ kind: 'gone' });
        continue;
      }
      const seqs = rows.map((r) => r.clientSeq);
      const { first: _, ...command } = remembered;
      const stream = command.stream ?? decider.stream?.(command.command);
      if (stream === undefined)
        throw new ClientError(ClientErrorCode.invalid, `decider ${decider.name} has no stream()`);
      const confirmed = await this.#store.readConfirmed({ stream, until: this.#view.position });
      const streamVersion = confirmed.at(-1)?.streamVersion ?? 0;
      if (currentVersion !== undefined && streamVersion < currentVersion) {
        outcomes.push({ kind: 'stale', streamVersion });
        continue;
      }
      const decided = await this.#decide(
        decider,
        command.command,
        stream,
        waiting,
        { ...command, attempt: command.attempt + 1 },
        seqs,
      );
      for (const seq of seqs) waiting.delete(seq);
      if (decided.ok && decided.events.length > 0) {
        outcomes.push({ kind: 'appended', events: decided.events });
        continue;
      }
      const { deadLetters } = await this.#store.reject(
        seqs.map((clientSeq) =>
          decided.ok
            ? {
                clientSeq,
                code: ErrorCode.wrongExpectedVersion,
                message: 'decided again: nothing to do',
                drop: true,
              }
            : {
                clientSeq,
                code: ErrorCode.wrongExpectedVersion,
                message:
                  `decided again and refused: ${decided.rejection.code}: ${decided.rejection.message}`.slice(
                    0,
                    1024,
                  ),
                ...(currentVersion === undefined ? {} : { currentVersion }),
              },
        ),
      );
      await this.#refresh();
      outcomes.push(
        decided.ok ? { kind: 'nothing' } : { kind: 'refused', rejection: decided.rejection, deadLetters },
      );
    }
    this.#tabs.announce();
    return outcomes;
  }

  #seqsById(): Map<string, number> {
    return new Map(this.#pending.map((p) => [p.row.event.id, p.row.clientSeq]));
  }

  #scheduleRefresh(): void {
    if (this.#refreshQueued || this.#closed) return;
    this.#refreshQueued = true;
    this.#run(async () => {
      this.#refreshQueued = false;
      await this.#refresh();
      await this.#snapshotDue();
    }).catch((e: unknown) => this.#report(toClientError(e)));
  }

  /** Brings the in-memory view up to the store: what other tabs (or instances) wrote. */
  async #refresh(): Promise<void> {
    this.#apply(await this.#store.readChanges(this.#view));
    if (this.#historyMoved) await this.#rebuild();
  }

  /**
   * Older confirmed events were stored (the history of a stream subscribed later): every loaded
   * projection folds the log again from the start (the snapshots were dropped with it).
   */
  async #rebuild(): Promise<void> {
    this.#historyMoved = false;
    const pending = this.#pending.flatMap((p) => (p.event ? [p.event] : []));
    const position = this.#view.position;
    for (const runtime of this.#projections.values()) {
      runtime.reset();
      const events = await this.#store.readConfirmed({ until: position, types: runtime.projection.types });
      runtime.foldConfirmed(this.#upcastAll(events), position);
      runtime.rebase(pending);
      runtime.changes.next();
    }
  }

  /**
   * Moves the view forward by a consistent set of changes: confirmed events fold into every
   * projection's confirmed state in position order, pending events they confirm leave, new pending
   * events fold on top, and where the base or the pending set changed, the projection is rebased.
   */
  #apply(changes: StoreChanges): void {
    if (changes.historyReset) this.#historyMoved = true;
    const view = this.#view;
    const fresh = changes.confirmed.filter((e) => e.position > view.position);
    const runtimes = [...this.#projections.values()];
    const position = Math.max(view.position, changes.meta.position);
    const rebase = new Set<ProjectionRuntime<unknown>>();
    if (fresh.length > 0 || position > view.position) {
      const upcast = runtimes.length > 0 ? this.#upcastAll(fresh) : [];
      for (const runtime of runtimes) if (runtime.foldConfirmed(upcast, position)) rebase.add(runtime);
    }

    let removed: PendingEntry[] = [];
    let added: PendingEntry[] = [];
    if (changes.pendingReset) {
      const before = this.#pending;
      this.#pending = changes.pending.map((row) => this.#entry(row));
      removed = before;
      added = this.#pending;
      for (const runtime of runtimes) rebase.add(runtime);
    } else {
      const confirmedIds = new Set(fresh.filter((e) => e.clientId === this.clientId).map((e) => e.id));
      if (confirmedIds.size > 0) {
        removed = this.#pending.filter((p) => confirmedIds.has(p.row.event.id));
        if (removed.length > 0)
          this.#pending = this.#pending.filter((p) => !confirmedIds.has(p.row.event.id));
      }
      added = changes.pending.filter((row) => row.clientSeq > view.clientSeq).map((row) => this.#entry(row));
      if (added.length > 0) this.#pending.push(...added);
      for (const runtime of runtimes) {
        if (removed.some((p) => p.event !== undefined && runtime.handles(p.event))) rebase.add(runtime);
      }
    }
    this.#view = {
      position,
      clientSeq: Math.max(view.clientSeq, changes.meta.clientSeq, this.#pending.at(-1)?.row.clientSeq ?? 0),
      epoch: changes.meta.epoch,
      history: changes.meta.history,
    };

    const addedEvents = added.flatMap((p) => (p.event ? [p.event] : []));
    const allPending = rebase.size > 0 ? this.#pending.flatMap((p) => (p.event ? [p.event] : [])) : [];
    for (const runtime of runtimes) {
      if (rebase.has(runtime)) {
        runtime.rebase(allPending);
        runtime.changes.next();
      } else if (addedEvents.length > 0 && runtime.foldPending(addedEvents)) runtime.changes.next();
    }
    if (fresh.length > 0) this.#confirmed.next(fresh);
    if (removed.length > 0 || added.length > 0) this.#pendingChanged.next();
  }

  #watch<S>(projection: Projection<S>, key: string | undefined, confirmedOnly: boolean): Observable<S> {
    if (projection.key !== undefined && key === undefined) {
      throw new TypeError(`projection ${projection.id} is keyed: pass a key to projection$`);
    }
    return new Observable<S>((subscriber) => {
      let inner: Subscription | undefined;
      let closed = false;
      this.#load(projection as Projection<unknown>).ready.then(
        (runtime) => {
          if (closed) return;
          inner = runtime.changes
            .pipe(
              startWith(undefined),
              map(() => runtime.get(key, confirmedOnly) as S),
              distinctUntilChanged(),
            )
            .subscribe(subscriber);
        },
        (e: unknown) => subscriber.error(toClientError(e)),
      );
      return () => {
        closed = true;
        inner?.unsubscribe();
      };
    });
  }

  // Loads a projection once: from its snapshot (if its version still matches) plus the confirmed
  // events after it, then the pending events on top.
  #load(projection: Projection<unknown>): LoadedProjection {
    const existing = this.#loading.get(projection.id);
    if (existing !== undefined) {
      if (existing.runtime.projection !== projection) {
        throw new TypeError(
          `two different projections are named ${projection.id}: bump the version or rename one`,
        );
      }
      return existing;
    }
    const runtime = new ProjectionRuntime(projection, (e) => this.#report(e));
    const ready = this.#run(async () => {
      await this.#refresh();
      const snapshot = Number.isFinite(this.#snapshotEvery)
        ? await this.#store.readSnapshot(projection.id)
        : undefined;
      if (!(snapshot && snapshot.position <= this.#view.position && runtime.reset(snapshot))) runtime.reset();
      const position = this.#view.position;
      if (position > runtime.position) {
        const events = await this.#store.readConfirmed({
          from: runtime.position,
          until: position,
          types: projection.types,
        });
        runtime.foldConfirmed(this.#upcastAll(events), position);
      }
      runtime.rebase(this.#pending.flatMap((p) => (p.event ? [p.event] : [])));
      // Followed by #apply only from here on: until now the runtime was not at the view's position.
      this.#projections.set(projection.id, runtime);
      await this.#snapshotDue();
      return runtime;
    });
    const loaded: LoadedProjection = { runtime, ready };
    this.#loading.set(projection.id, loaded);
    ready.catch(() => {
      if (this.#loading.get(projection.id) === loaded) this.#loading.delete(projection.id);
    });
    return loaded;
  }

  // Snapshots of confirmed states that are due; a failure to write one costs only time later.
  async #snapshotDue(): Promise<void> {
    if (!Number.isFinite(this.#snapshotEvery)) return;
    const due = [...this.#projections.values()].filter(
      (r) => r.position - r.snapshotPosition >= this.#snapshotEvery,
    );
    if (due.length === 0) return;
    try {
      await this.#store.putSnapshots(due.map((r) => r.snapshot()));
      for (const r of due) r.snapshotPosition = r.position;
    } catch (e) {
      this.#report(toClientError(e));
    }
  }

  // The hub's order is not the clock's, but the clock must stay ahead of every event seen.
  #observeClocks(fresh: readonly CommittedEvent[]): void {
    let max: string | undefined;
    for (const e of fresh)
      if (e.clientId !== this.clientId && (max === undefined || e.hlc > max)) max = e.hlc;
    const last = this.#clock.last();
    if (max === undefined || (last !== undefined && max <= last)) return;
    try {
      this.#clock.receive(max);
    } catch {
      // A remote clock too far ahead: keep ours (hlc-drift), the event is stored all the same.
    }
  }

  #confirmedQuery(filter: EventFilter) {
    const types = typeof filter.type === 'string' ? [filter.type] : filter.type;
    return {
      from: filter.from ?? 0,
      until: this.#view.position,
      ...(filter.stream === undefined ? {} : { stream: filter.stream }),
      ...(types === undefined ? {} : { types }),
    };
  }

  #entry(row: OutboxRow): PendingEntry {
    return { row, event: this.#upcast(row.event) };
  }

  #upcast(event: EventEnvelope | CommittedEvent): FoldableEvent | undefined {
    const result = this.registry.upcast(event);
    if (result.ok) return result.value as unknown as FoldableEvent;
    const tag = `${event.type}@${event.version}`;
    if (!this.#reported.has(tag)) {
      this.#reported.add(tag);
      const code =
        result.error.code === 'unknown-event-version'
          ? ClientErrorCode.unknownEventVersion
          : ClientErrorCode.internal;
      this.#report(new ClientError(code, `cannot read stored event ${event.id}: ${result.error.message}`));
    }
    return undefined;
  }

  #upcastAll(events: readonly (EventEnvelope | CommittedEvent)[]): FoldableEvent[] {
    const out: FoldableEvent[] = [];
    for (const e of events) {
      const u = this.#upcast(e);
      if (u !== undefined) out.push(u);
    }
    return out;
  }

  #upcastOrThrow(event: EventEnvelope | CommittedEvent): FoldableEvent {
    const result = this.registry.upcast(event);
    if (result.ok) return result.value as unknown as FoldableEvent;
    throw new ClientError(
      result.error.code === 'unknown-event-version'
        ? ClientErrorCode.unknownEventVersion
        : ClientErrorCode.internal,
      `cannot read stored event ${event.id}: ${result.error.message}`,
    );
  }

  #report(error: ClientError): void {
    this.#errors.next(error); // a no-op once closed
  }
}

function sameCursor(meta: ClientMeta, view: StoreCursor): boolean {
  return (
    meta.position === view.position &&
    meta.clientSeq === view.clientSeq &&
    meta.epoch === view.epoch &&
    meta.history === view.history
  );
}

function eventMatcher(filter: EventFilter): (e: CommittedEvent) => boolean {
  const types =
    typeof filter.type === 'string' ? new Set([filter.type]) : filter.type ? new Set(filter.type) : undefined;
  return (e) =>
    (filter.stream === undefined || e.stream === filter.stream) && (types === undefined || types.has(e.type));
}

/** Most single appends that share one transaction. */
const MAX_APPEND_GROUP = 1000;

/** An event validated, before the store gives it an id, a clientSeq and an hlc. */
type Draft = Omit<EventEnvelope, 'id' | 'clientId' | 'clientSeq' | 'hlc'>;

/** One `append` call waiting in a group. */
interface AppendGroupEntry {
  readonly stream: string;
  readonly event: AppendInput;
  readonly options: AppendOptions | undefined;
  readonly resolve: (event: EventEnvelope) => void;
  readonly reject: (error: unknown) => void;
}

/** Single appends queued together; `queuedAt`: the task count when its task was queued. */
interface AppendGroup {
  readonly entries: AppendGroupEntry[];
  queuedAt: number;
}
