import type { FoldableEvent, Projection } from '@eventloom/core';
import type { CommittedEvent, EventEnvelope } from '@eventloom/protocol';
import { map, merge, Observable, startWith, Subject, type Subscription } from 'rxjs';
import { toClientError } from './client-error.ts';
import { confirmedQuery, eventMatcher, type EventFilter } from './event-filter.ts';
import { followStates } from './distinct-states.ts';
import type { ClientMeta, ClientStore, OutboxRow, StoreChanges, StoreCursor } from './client-store.ts';
import type { LoomRuntime } from './loom-runtime.ts';
import { indexOfSeq } from './index-of-seq.ts';
import { ProjectionRuntime } from './projection-runtime.ts';
import type { Upcaster } from './upcaster.ts';

/**
 * Any projection, whatever its state and event types: what lists of projections hold. (A
 * `Projection<S, M>` is not assignable to `Projection<unknown>`, its reducers being contravariant.)
 */
export type AnyProjection = Pick<Projection<unknown>, 'id' | 'name' | 'version' | 'types' | 'initial'>;

/** A pending event held in memory. */
export interface PendingEntry {
  readonly row: OutboxRow;
  /** The event upcast for folding; undefined if the registry cannot read it (it still syncs). */
  readonly event: FoldableEvent | undefined;
}

/** The view as it was before {@link ProjectionHost.foldAhead}. */
export interface FoldedAhead {
  readonly view: StoreCursor;
  readonly pending: PendingEntry[];
}

interface LoadedProjection {
  readonly runtime: ProjectionRuntime<unknown>;
  readonly ready: Promise<ProjectionRuntime<unknown>>;
}

/**
 * The in-memory view of the store: how far it has read (the cursor), the pending events, and the
 * loaded projections that fold every change. It moves only inside the runtime's queue, and only by
 * what a transaction committed, so a projection never shows a state the rows do not back, except
 * the hub's confirmed events folded while their write is in flight ({@link foldAhead}: the hub
 * holds them). Hosts `events$`, `readEvents`, `projection$` and the snapshots.
 */
export class ProjectionHost {
  readonly pending$: Observable<readonly EventEnvelope[]>;
  /** The outbox rows (with the acks this tab recorded): now, and after each change or ack. */
  readonly outbox$: Observable<readonly OutboxRow[]>;
  /**
   * Emits after each change of the pending events, with nothing: for who only needs to know, as
   * `pending$` copies the whole list out for each subscriber at each change (an append would cost
   * what the outbox holds).
   */
  readonly pendingChanged$: Observable<void>;

  readonly #runtime: LoomRuntime;
  readonly #store: ClientStore;
  readonly #upcaster: Upcaster;
  readonly #clientId: string;
  readonly #snapshotEvery: number;
  readonly #confirmed = new Subject<readonly CommittedEvent[]>();
  readonly #pendingChanged = new Subject<void>();
  readonly #ackNoted = new Subject<void>();
  /** Every projection asked for, loaded or loading. */
  readonly #loading = new Map<string, LoadedProjection>();
  /** The loaded projections, which every change folds into. */
  readonly #projections = new Map<string, ProjectionRuntime<unknown>>();
  #view: StoreCursor;
  #pending: PendingEntry[] = [];
  /**
   * The clientSeq of each pending event by id, kept with `#pending` (which is in clientSeq order),
   * so that acks, which come once per pushed batch, cost what they ack and not the whole backlog:
   * an offline backlog drains in linear time.
   */
  #seqById = new Map<string, number>();
  /** Set when the store's history moved under the view: the projections are rebuilt. */
  #historyMoved = false;
  #refreshQueued = false;

  constructor(options: {
    readonly runtime: LoomRuntime;
    readonly store: ClientStore;
    readonly upcaster: Upcaster;
    readonly meta: ClientMeta;
    readonly snapshotEvery: number;
  }) {
    this.#runtime = options.runtime;
    this.#store = options.store;
    this.#upcaster = options.upcaster;
    this.#clientId = options.meta.clientId;
    this.#snapshotEvery = options.snapshotEvery;
    const meta = options.meta;
    this.#view = { position: meta.position, clientSeq: 0, epoch: meta.epoch, history: meta.history };
    this.pending$ = this.#pendingChanged.pipe(
      startWith(undefined),
      map(() => this.#pending.map((p) => p.row.event)),
    );
    this.pendingChanged$ = this.#pendingChanged.asObservable();
    this.outbox$ = merge(this.#pendingChanged, this.#ackNoted).pipe(
      startWith(undefined),
      map(() => this.#pending.map((p) => p.row)),
    );
  }

  /** How far the view has read the store. */
  get view(): StoreCursor {
    return this.#view;
  }

  /** The pending events, in clientSeq order. */
  get pending(): readonly PendingEntry[] {
    return this.#pending;
  }

  /** The pending events the registry can read, for folding. */
  pendingEvents(): FoldableEvent[] {
    return this.#pending.flatMap((p) => (p.event ? [p.event] : []));
  }

  /** The clientSeq of the pending events with these ids (those pending), by event id. */
  seqsOf(ids: readonly string[]): Map<string, number> {
    const seqs = new Map<string, number>();
    for (const id of ids) {
      const seq = this.#seqById.get(id);
      if (seq !== undefined) seqs.set(id, seq);
    }
    return seqs;
  }

  /** The pending rows with these event ids. */
  rowsOf(ids: readonly string[]): OutboxRow[] {
    const wanted = new Set(ids);
    return this.#pending.filter((p) => wanted.has(p.row.event.id)).map((p) => p.row);
  }

  /** Records acks on the pending rows in memory (the store holds them already). */
  noteAcked(acked: ReadonlyMap<number, OutboxRow['acked']>): void {
    // A new list (readers may hold the old one), the same events at the same places.
    const pending = this.#pending.slice();
    for (const [seq, ack] of acked) {
      const i = indexOfSeq(pending, seq);
      if (i === undefined || ack === undefined) continue;
      const p = pending[i]!;
      pending[i] = { ...p, row: { ...p.row, acked: ack } };
    }
    this.#pending = pending;
    this.#ackNoted.next();
  }

  /** Makes `#seqById` anew from `#pending` (after it was replaced as a whole). */
  #indexPending(): void {
    this.#seqById = new Map(this.#pending.map((p) => [p.row.event.id, p.row.clientSeq]));
  }

  /**
   * Follows a write: with `changes` alone when the store was where the view is (`before`) and the
   * write `clean` (nothing left the outbox), else by reading the store again.
   */
  async follow(before: ClientMeta, clean: boolean, changes: StoreChanges): Promise<void> {
    if (clean && sameCursor(before, this.#view)) this.apply(changes);
    else await this.refresh();
  }

  /** Queues a refresh (another tab wrote), and the snapshots then due; at most one waits at a time. */
  scheduleRefresh(): void {
    if (this.#refreshQueued || this.#runtime.closed) return;
    this.#refreshQueued = true;
    this.#runtime
      .run(async () => {
        this.#refreshQueued = false;
        await this.refresh();
        await this.snapshotDue();
      })
      .catch((e: unknown) => this.#runtime.report(toClientError(e)));
  }

  /** Brings the in-memory view up to the store: what other tabs (or instances) wrote. */
  async refresh(): Promise<void> {
    this.apply(await this.#store.readChanges(this.#view));
    if (this.#historyMoved) await this.#rebuild();
  }

  /**
   * Older confirmed events were stored (the history of a stream subscribed later): every loaded
   * projection folds the log again from the start (the snapshots were dropped with it).
   */
  async #rebuild(): Promise<void> {
    this.#historyMoved = false;
    const pending = this.pendingEvents();
    const position = this.#view.position;
    for (const runtime of this.#projections.values()) {
      runtime.reset();
      const events = await this.#store.readConfirmed({ until: position, types: runtime.projection.types });
      runtime.foldConfirmed(this.#upcaster.readAll(events), position);
      runtime.rebase(pending);
      runtime.changes.next();
    }
  }

  /**
   * Folds confirmed events from the hub before their write lands, so that `projection$` shows them
   * at once: the hub holds them, so a write that never lands only means pulling them again. Only
   * when the view covers the log up to `from` (every event after it up to the last is among
   * `events`). Returns what {@link settleAhead} or {@link dropAhead} needs, or undefined when it
   * folded nothing.
   */
  foldAhead(
    events: readonly CommittedEvent[],
    from: number,
    until: number | undefined,
  ): FoldedAhead | undefined {
    const view = this.#view;
    const position = Math.max(events.at(-1)?.position ?? 0, until ?? 0);
    if (from > view.position || position <= view.position || this.#historyMoved) return undefined;
    const ahead: FoldedAhead = { view, pending: this.#pending };
    this.apply({
      meta: { ...view, position },
      confirmed: events,
      pending: [],
      pendingReset: false,
      historyReset: false,
    });
    return ahead;
  }

  /**
   * The write of events folded ahead landed: when it stored exactly what was folded, the view only
   * takes the store's counters; otherwise (another writer moved the store meanwhile) it reads the
   * store again.
   */
  async settleAhead(
    ahead: FoldedAhead,
    before: ClientMeta,
    after: ClientMeta,
    settled: boolean,
  ): Promise<void> {
    if (!settled && sameCursor(before, ahead.view) && after.position === this.#view.position) {
      this.#view = { ...this.#view, epoch: after.epoch, history: after.history };
      return;
    }
    await this.refresh();
  }

  /** The write of events folded ahead failed: back to the view before, projections folded again from the store. */
  async dropAhead(ahead: FoldedAhead): Promise<void> {
    this.#view = ahead.view;
    this.#pending = ahead.pending;
    this.#indexPending();
    this.#pendingChanged.next();
    this.#historyMoved = true;
    await this.refresh();
  }

  /**
   * Moves the view forward by a consistent set of changes: confirmed events fold into every
   * projection's confirmed state in position order, pending events they confirm leave, new pending
   * events fold on top, and where the base or the pending set changed, the projection is rebased.
   */
  apply(changes: Omit<StoreChanges, 'meta'> & { readonly meta: StoreCursor }): void {
    if (changes.historyReset) this.#historyMoved = true;
    const view = this.#view;
    const fresh = changes.confirmed.filter((e) => e.position > view.position);
    const runtimes = [...this.#projections.values()];
    // The position goes down only when a restored hub log made the device re-derive its log: that
    // comes with a history reset, and the rebuild folds the log up to the new position.
    const position =
      changes.historyReset && changes.meta.position < view.position
        ? changes.meta.position
        : Math.max(view.position, changes.meta.position);
    const rebase = new Set<ProjectionRuntime<unknown>>();
    if (fresh.length > 0 || position > view.position) {
      const upcast = runtimes.length > 0 ? this.#upcaster.readAll(fresh) : [];
      for (const runtime of runtimes) if (runtime.foldConfirmed(upcast, position)) rebase.add(runtime);
    }

    let removed: PendingEntry[] = [];
    let added: PendingEntry[] = [];
    if (changes.pendingReset) {
      const before = this.#pending;
      this.#pending = changes.pending.map((row) => this.#entry(row));
      this.#indexPending();
      removed = before;
      added = this.#pending;
      for (const runtime of runtimes) rebase.add(runtime);
    } else {
      const confirmedIds = new Set(fresh.filter((e) => e.clientId === this.#clientId).map((e) => e.id));
      if (confirmedIds.size > 0) {
        removed = this.#pending.filter((p) => confirmedIds.has(p.row.event.id));
        if (removed.length > 0) {
          this.#pending = this.#pending.filter((p) => !confirmedIds.has(p.row.event.id));
          for (const p of removed) this.#seqById.delete(p.row.event.id);
        }
      }
      added = changes.pending.filter((row) => row.clientSeq > view.clientSeq).map((row) => this.#entry(row));
      if (added.length > 0) {
        this.#pending.push(...added);
        for (const p of added) this.#seqById.set(p.row.event.id, p.row.clientSeq);
      }
      for (const runtime of runtimes) {
        if (removed.some((p) => p.event !== undefined && runtime.handles(p.event))) rebase.add(runtime);
      }
    }
    this.#view = {
      position,
      // After a reset the whole outbox was read: the store's counter is the truth (a realign may
      // have moved it down, numbering rows anew).
      clientSeq: Math.max(
        changes.pendingReset ? 0 : view.clientSeq,
        changes.meta.clientSeq,
        this.#pending.at(-1)?.row.clientSeq ?? 0,
      ),
      epoch: changes.meta.epoch,
      history: changes.meta.history,
    };

    const addedEvents = added.flatMap((p) => (p.event ? [p.event] : []));
    const allPending = rebase.size > 0 ? this.pendingEvents() : [];
    for (const runtime of runtimes) {
      if (rebase.has(runtime)) {
        runtime.rebase(allPending);
        runtime.changes.next();
      } else if (addedEvents.length > 0 && runtime.foldPending(addedEvents)) runtime.changes.next();
    }
    if (fresh.length > 0) this.#confirmed.next(fresh);
    if (removed.length > 0 || added.length > 0) this.#pendingChanged.next();
  }

  /** Confirmed events matching the filter: those stored now, then each new one. */
  events$(filter: EventFilter): Observable<FoldableEvent> {
    return new Observable<FoldableEvent>((subscriber) => {
      let live: Subscription | undefined;
      let closed = false;
      const matches = eventMatcher(filter);
      this.#runtime
        .run(async () => {
          const past = await this.#store.readConfirmed(confirmedQuery(filter, this.#view.position));
          if (closed) return;
          for (const e of past) {
            const event = this.#upcaster.read(e);
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
                const event = this.#upcaster.read(e);
                if (event) subscriber.next(event);
              }
            },
            complete: () => subscriber.complete(),
          });
        })
        .catch((e: unknown) => subscriber.error(toClientError(e)));
      return () => {
        closed = true;
        live?.unsubscribe();
      };
    });
  }

  /** Confirmed events matching the filter, as stored now. */
  readEvents(filter: EventFilter): Promise<FoldableEvent[]> {
    return this.#runtime.run(async () => {
      const events = await this.#store.readConfirmed(confirmedQuery(filter, this.#view.position));
      return this.#upcaster.readAll(events);
    });
  }

  /** A projection's state (optimistic, or confirmed only), loading the projection on first use. */
  watch<S>(projection: Projection<S>, key: string | undefined, confirmedOnly: boolean): Observable<S> {
    if (projection.key !== undefined && key === undefined) {
      throw new TypeError(`projection ${projection.id} is keyed: pass a key to projection$`);
    }
    return new Observable<S>((subscriber) => {
      let inner: Subscription | undefined;
      let closed = false;
      this.load(projection as Projection<unknown>).ready.then(
        (runtime) => {
          if (closed) return;
          inner = followStates(runtime.changes, () => runtime.get(key, confirmedOnly) as S, subscriber);
        },
        (e: unknown) => subscriber.error(toClientError(e)),
      );
      return () => {
        closed = true;
        inner?.unsubscribe();
      };
    });
  }

  /**
   * Loads a projection once: from its snapshot (if its version still matches) plus the confirmed
   * events after it, then the pending events on top.
   */
  load(projection: Projection<unknown>): LoadedProjection {
    const existing = this.#loading.get(projection.id);
    if (existing !== undefined) {
      if (existing.runtime.projection !== projection) {
        throw new TypeError(
          `two different projections are named ${projection.id}: bump the version or rename one`,
        );
      }
      return existing;
    }
    const runtime = new ProjectionRuntime(projection, (e) => this.#runtime.report(e));
    const ready = this.#runtime.run(async () => {
      await this.refresh();
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
        runtime.foldConfirmed(this.#upcaster.readAll(events), position);
      }
      runtime.rebase(this.pendingEvents());
      // Followed by apply only from here on: until now the runtime was not at the view's position.
      this.#projections.set(projection.id, runtime);
      await this.snapshotDue();
      return runtime;
    });
    const loaded: LoadedProjection = { runtime, ready };
    this.#loading.set(projection.id, loaded);
    ready.catch(() => {
      if (this.#loading.get(projection.id) === loaded) this.#loading.delete(projection.id);
    });
    return loaded;
  }

  /** Snapshots of confirmed states that are due; a failure to write one costs only time later. */
  async snapshotDue(): Promise<void> {
    if (!Number.isFinite(this.#snapshotEvery)) return;
    const due = [...this.#projections.values()].filter(
      (r) => r.position - r.snapshotPosition >= this.#snapshotEvery,
    );
    if (due.length === 0) return;
    try {
      await this.#store.putSnapshots(due.map((r) => r.snapshot()));
      for (const r of due) r.snapshotPosition = r.position;
    } catch (e) {
      this.#runtime.report(toClientError(e));
    }
  }

  /** Completes every stream it hosts. */
  complete(): void {
    for (const runtime of this.#projections.values()) runtime.changes.complete();
    this.#confirmed.complete();
    this.#pendingChanged.complete();
    this.#ackNoted.complete();
  }

  #entry(row: OutboxRow): PendingEntry {
    return { row, event: this.#upcaster.read(row.event) };
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
