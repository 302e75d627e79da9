import type { Decider, EventDefinition, EventRegistry, FoldableEvent, Projection } from '@eventloom/core';
import type { EventEnvelope, EventMeta } from '@eventloom/protocol';
import { Subject, type Observable } from 'rxjs';
import { ClientError, ClientErrorCode, toClientError } from './client-error.ts';
import type { ClientMeta, ClientStore, DeadLetterRow, OutboxRow } from './client-store.ts';
import { DexieClientStore, type IndexedDbDeps } from './dexie-client-store.ts';
import {
  Appender,
  type AppendGroupEntry,
  type AppendInputOf,
  type AppendManyOptions,
  type AppendOptions,
  type ExecuteResult,
} from './appender.ts';
import { DeviceClock } from './device-clock.ts';
import { LoomRuntime } from './loom-runtime.ts';
import type { EventFilter } from './event-filter.ts';
import { ProjectionHost, type AnyProjection } from './projection-host.ts';
import { followCommand, OutcomeTracker, type AppendOutcome, type CommandOutcome } from './outcomes.ts';
import { LoomSyncPort, type SyncPort } from './sync-port.ts';
import { bindSyncPort } from './sync-port-access.ts';
import { defaultTabEnvironment, TabCoordinator, type TabEnvironment } from './tab-coordinator.ts';
import { Upcaster } from './upcaster.ts';
import { createUuidV7 } from './uuid-v7.ts';

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
 * An open Eventloom client: the device's event log, outbox and live projections.
 * Every write is one IndexedDB transaction, and the in-memory projections change only after it
 * committed: a failure leaves neither half-written rows nor a state that the rows do not back.
 * The one exception is the hub's confirmed events, folded while their write is in flight: the hub
 * holds them, and a failed write takes the projections back to what the store holds.
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
   * then stores nothing on the device. (The leader tab's sync pushes the event while its write is
   * in flight: if a storage failure hits after that, the hub may hold it, and it comes back as a
   * confirmed event, as after a crash.)
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
   * only, so that the sync engine can decide again if the hub rejects them.
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
  /** The last confirmed position this device holds (0: none). */
  lastPosition(): Promise<number>;
  /**
   * Confirmed events stored **below** the position, upcast, one batch per store: the history of
   * a stream subscribed later, which `events$` does not emit. In the tab that syncs.
   */
  readonly history$: Observable<readonly FoldableEvent[]>;
  /**
   * A projection's optimistic state (confirmed, then pending events on top), of `key` for a keyed
   * projection: emits the current state on subscribe and then each new one.
   */
  projection$<S>(projection: Projection<S>, key?: string): Observable<S>;
  /** Like `projection$`, from confirmed events only. */
  confirmedProjection$<S>(projection: Projection<S>, key?: string): Observable<S>;
  /** The pending events (the outbox), in clientSeq order: now, and after each change. */
  readonly pending$: Observable<readonly EventEnvelope[]>;
  /**
   * The outbox rows, in clientSeq order, each with the hub's ack once it came (`acked`: stored at
   * that position, not back confirmed yet; without it: not acked yet): now, and after each change
   * or ack. Acks are recorded by the tab that syncs; another tab sees its rows leave.
   */
  readonly outbox$: Observable<readonly OutboxRow[]>;
  /**
   * What became of an event this device appended (what `append` returned): resolves once the hub
   * stored it (`committed`, at its position), refused it (`refused`, with the reason, in the dead
   * letters), or its decision was made again (`redecided`, with the events in its place), or it
   * was `dropped`; `unknown` if the device keeps no trace of it. Waits while it is not acked (as
   * long as it takes: offline, for good); rejects with `database-closed` when the Eventloom closes.
   */
  outcome(event: EventEnvelope): Promise<AppendOutcome>;
  /**
   * What became of a command `execute` decided, followed through every decision made again to
   * its end: `committed` (the last decision's events and positions), `rejected` by the decider
   * here, `refused` by the hub (dead-lettered), `dropped` or `unknown`.
   */
  commandOutcome(result: ExecuteResult<unknown>): Promise<CommandOutcome>;
  /** Whether this tab leads (holds the Web Lock of the database): now, and after each change. */
  readonly leader$: Observable<boolean>;
  /** Failures that have no caller to throw to: a reducer that threw, the database closed under us. */
  readonly errors$: Observable<ClientError>;
  /** The events the hub refused, parked with the reasons (handler `eventloom.sync`), in clientSeq order. */
  readDeadLetters(): Promise<DeadLetterRow[]>;
  /** Deletes refused events from the dead letters, by dead-letter id; unknown ids are skipped. */
  discardDeadLetters(ids: readonly string[]): Promise<void>;
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

/**
 * The composition root of an open Eventloom: it wires the runtime (queue and errors), the
 * projection host (the in-memory view), the appender, the sync port and the tab coordinator, and
 * answers the public API by handing each call to the part that owns it.
 */
class EventloomClient<D extends EventDefinition> implements Eventloom<D> {
  readonly name: string;
  readonly indexedDb: IndexedDbDeps | undefined;
  readonly clientId: string;
  readonly registry: EventRegistry<D>;
  readonly pending$: Observable<readonly EventEnvelope[]>;
  readonly outbox$: Observable<readonly OutboxRow[]>;
  readonly history$: Observable<readonly FoldableEvent[]>;
  readonly leader$: Observable<boolean>;
  readonly errors$: Observable<ClientError>;

  readonly #history = new Subject<readonly FoldableEvent[]>();
  readonly #outcomes: OutcomeTracker;
  readonly #options: EventloomOptions<D>;
  readonly #store: ClientStore;
  readonly #runtime: LoomRuntime;
  readonly #host: ProjectionHost;
  readonly #appender: Appender;
  readonly #tabs: TabCoordinator;
  readonly #port: SyncPort;
  /** The group of single appends queued last and not started yet. */
  #appendGroup: AppendGroup | undefined;

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
    this.errors$ = errors.asObservable();
    const runtime = (this.#runtime = new LoomRuntime(options.name, errors));
    const now = options.now ?? Date.now;
    const clock = new DeviceClock(meta.clientId, now, meta.hlc);
    const upcaster = new Upcaster(options.registry, (e) => runtime.report(e));
    const host = (this.#host = new ProjectionHost({ runtime, store, upcaster, meta, snapshotEvery }));
    this.pending$ = host.pending$;
    this.outbox$ = host.outbox$;
    this.history$ = this.#history.asObservable();
    const outcomes = (this.#outcomes = new OutcomeTracker({
      runtime,
      store,
      changed$: host.pendingChanged$,
    }));
    this.#tabs = new TabCoordinator(
      options.name,
      { ...defaultTabEnvironment(), ...options.tabs },
      () => host.scheduleRefresh(),
      (e) => runtime.report(toClientError(e)),
    );
    this.leader$ = this.#tabs.leader$;
    // Telling other tabs is best effort: a write that is stored must not fail because of it.
    const announce = () => {
      try {
        this.#tabs.announce();
      } catch (error) {
        this.#runtime.report(toClientError(error));
      }
    };
    this.#appender = new Appender({
      store,
      host,
      upcaster,
      clock,
      nextId: createUuidV7({ now }),
      announce,
      sole: () => this.#tabs.alone,
    });
    const port = new LoomSyncPort({
      runtime,
      store,
      host,
      appender: this.#appender,
      clock,
      clientId: meta.clientId,
      tabPollMs: this.#tabs.pollMs,
      announce,
      note: (fates) => outcomes.note(fates),
      historyStored: (events) => this.#history.next(upcaster.readAll(events)),
    });
    this.#port = port;
    bindSyncPort(this, port);
  }

  /** Reads the outbox, then loads the projections given at creation (in the background). */
  async start(): Promise<void> {
    await this.#runtime.run(() => this.#host.refresh());
    for (const projection of this.#options.projections ?? []) {
      this.#host
        .load(projection as unknown as Projection<unknown>)
        .ready.catch((e: unknown) => this.#runtime.report(toClientError(e)));
    }
  }

  append(stream: string, event: AppendInputOf<D>, options?: AppendOptions): Promise<EventEnvelope> {
    // Appends made while the queue is busy, with nothing else queued between them, share one
    // write transaction (group commit); each still resolves once its event is durable.
    const runtime = this.#runtime;
    const group = this.#appendGroup;
    if (!runtime.closed && group !== undefined && group.queuedAt === runtime.queued) {
      if (group.entries.length < MAX_APPEND_GROUP) {
        return new Promise((resolve, reject) =>
          group.entries.push({ stream, event, options, resolve, reject }),
        );
      }
    }
    const entries: AppendGroupEntry[] = [];
    const promise = new Promise<EventEnvelope>((resolve, reject) =>
      entries.push({ stream, event, options, resolve, reject }),
    );
    // Open to later appends until its task starts: at once if every task has settled (the push
    // leaves before `append` returns), else behind the task running (also for an append awaited
    // just before: its task settles a few microtasks after it resolves).
    const opened: AppendGroup = { entries, queuedAt: runtime.queued + 1 };
    if (!runtime.closed) this.#appendGroup = opened;
    runtime
      .runNow(async () => {
        if (this.#appendGroup === opened) this.#appendGroup = undefined;
        await this.#appender.appendGrouped(entries);
      })
      .catch((error: unknown) => {
        // Only a closed client fails the whole task: every entry gets its error.
        for (const entry of entries) entry.reject(error);
      });
    return promise;
  }

  appendMany(
    stream: string,
    events: readonly AppendInputOf<D>[],
    options?: AppendManyOptions,
  ): Promise<EventEnvelope[]> {
    return this.#runtime.runNow(() => this.#appender.append(stream, events, options, true));
  }

  execute<S, C, M extends object, Code extends string>(
    decider: Decider<S, C, M, Code>,
    command: C,
    options: { readonly stream?: string; readonly meta?: EventMeta } = {},
  ): Promise<ExecuteResult<S, Code>> {
    return this.#runtime.run(() => this.#appender.execute(decider, command, options));
  }

  outcome(event: EventEnvelope): Promise<AppendOutcome> {
    return this.#outcomes.outcome(event);
  }

  commandOutcome(result: ExecuteResult<unknown>): Promise<CommandOutcome> {
    if (!result.ok) return Promise.resolve({ status: 'rejected', rejection: result.rejection });
    return followCommand(result.events, (event) => this.#outcomes.outcome(event));
  }

  lastPosition(): Promise<number> {
    return this.#port.lastPosition();
  }

  readDeadLetters(): Promise<DeadLetterRow[]> {
    return this.#port.readDeadLetters();
  }

  discardDeadLetters(ids: readonly string[]): Promise<void> {
    return this.#port.discardDeadLetters(ids);
  }

  events$(filter: EventFilter = {}): Observable<FoldableEvent> {
    return this.#host.events$(filter);
  }

  readEvents(filter: EventFilter = {}): Promise<FoldableEvent[]> {
    return this.#host.readEvents(filter);
  }

  projection$<S>(projection: Projection<S>, key?: string): Observable<S> {
    return this.#host.watch(projection, key, false);
  }

  confirmedProjection$<S>(projection: Projection<S>, key?: string): Observable<S> {
    return this.#host.watch(projection, key, true);
  }

  async close(): Promise<void> {
    if (this.#runtime.closed) return;
    this.#runtime.markClosed();
    // The work queued before close() finishes first (an append that resolves is durable, one that
    // rejects stored nothing); only then do the other tabs stop hearing from this one.
    await this.#runtime.drain();
    this.#outcomes.close();
    this.#history.complete();
    await this.#tabs.close();
    this.#store.close();
    this.#host.complete();
    this.#runtime.complete();
  }
}

/** Most single appends that share one transaction. */
const MAX_APPEND_GROUP = 1000;

/** Single appends queued together; `queuedAt`: the runtime's task count when its task was queued. */
interface AppendGroup {
  readonly entries: AppendGroupEntry[];
  queuedAt: number;
}
