import type { FoldableEvent, Projection } from '@eventloom/core';
import { Subject } from 'rxjs';
import { ClientError, ClientErrorCode } from './client-error.ts';
import type { SnapshotRow } from './client-store.ts';

/**
 * One projection's state in memory: the confirmed state (every confirmed event up to `position`,
 * in position order) and the optimistic state (the pending events folded on top, in clientSeq
 * order). Invariant: `optimistic = pending.reduce(apply, confirmed)` after every call, which the
 * client keeps by calling {@link ProjectionRuntime.rebase} whenever the confirmed state or the
 * set of pending events changes other than by appending.
 *
 * A keyed projection keeps a map of confirmed states and an overlay of the keys pending events
 * touch, so a rebase costs the pending events, not the number of keys.
 */
export class ProjectionRuntime<S> {
  readonly projection: Projection<S>;
  /** Every confirmed event up to here is folded into the confirmed state. */
  position = 0;
  /** The position of the last stored snapshot (0: none). */
  snapshotPosition = 0;
  /** Ticks after each change of either state. */
  readonly changes = new Subject<void>();
  readonly #keyOf: ((event: FoldableEvent) => string | undefined) | undefined;
  readonly #onError: (error: ClientError) => void;
  #confirmed: S;
  #optimistic: S;
  #confirmedByKey = new Map<string, S>();
  #overlay = new Map<string, S>();

  constructor(projection: Projection<S>, onError: (error: ClientError) => void) {
    this.projection = projection;
    this.#keyOf = projection.key as ((event: FoldableEvent) => string | undefined) | undefined;
    this.#onError = onError;
    this.#confirmed = projection.initial;
    this.#optimistic = projection.initial;
  }

  /** Whether the projection keeps one state per key. */
  get keyed(): boolean {
    return this.#keyOf !== undefined;
  }

  /** Starts over from a snapshot, or from the initial state. Returns false if the snapshot does not fit. */
  reset(snapshot?: SnapshotRow): boolean {
    this.#overlay = new Map();
    this.#confirmedByKey = new Map();
    this.#confirmed = this.projection.initial;
    this.position = 0;
    this.snapshotPosition = 0;
    if (snapshot !== undefined) {
      if (this.keyed) {
        if (!(snapshot.state instanceof Map)) return false;
        this.#confirmedByKey = new Map(snapshot.state as Map<string, S>);
      } else this.#confirmed = snapshot.state as S;
      this.position = snapshot.position;
      this.snapshotPosition = snapshot.position;
    }
    this.#optimistic = this.#confirmed;
    return true;
  }

  /** Whether the projection has a reducer for this event's type. */
  handles(event: FoldableEvent): boolean {
    return this.projection.handlers.has(event.type);
  }

  /**
   * Folds confirmed events (position order, above `position`) into the confirmed state and moves
   * `position` to `until`. Returns whether any of them was handled; the optimistic state is stale
   * until {@link rebase}.
   */
  foldConfirmed(events: readonly FoldableEvent[], until: number): boolean {
    let handled = false;
    for (const event of events) {
      if ((event.position ?? 0) <= this.position) continue;
      const reducer = this.projection.handlers.get(event.type);
      if (reducer === undefined) continue;
      handled = true;
      if (this.#keyOf === undefined) this.#confirmed = this.#apply(reducer, this.#confirmed, event);
      else {
        const key = this.#key(event);
        if (key === undefined) continue;
        const map = this.#confirmedByKey;
        map.set(
          key,
          this.#apply(reducer, map.has(key) ? (map.get(key) as S) : this.projection.initial, event),
        );
      }
    }
    this.position = Math.max(this.position, until);
    return handled;
  }

  /** Recomputes the optimistic state: every pending event (clientSeq order) on top of the confirmed state. */
  rebase(pending: readonly FoldableEvent[]): void {
    this.#optimistic = this.#confirmed;
    this.#overlay = new Map();
    this.foldPending(pending);
  }

  /** Folds newly appended pending events onto the optimistic state. Returns whether any was handled. */
  foldPending(events: readonly FoldableEvent[]): boolean {
    let handled = false;
    for (const event of events) {
      const reducer = this.projection.handlers.get(event.type);
      if (reducer === undefined) continue;
      handled = true;
      if (this.#keyOf === undefined) this.#optimistic = this.#apply(reducer, this.#optimistic, event);
      else {
        const key = this.#key(event);
        if (key === undefined) continue;
        this.#overlay.set(key, this.#apply(reducer, this.#stateOf(key, true), event));
      }
    }
    return handled;
  }

  /** The state (of `key`, for a keyed projection): optimistic by default, or confirmed only. */
  get(key: string | undefined, confirmedOnly: boolean): S {
    if (this.#keyOf === undefined) return confirmedOnly ? this.#confirmed : this.#optimistic;
    if (key === undefined) throw new TypeError(`projection ${this.projection.id} is keyed: pass a key`);
    return this.#stateOf(key, !confirmedOnly);
  }

  /** The confirmed state as a snapshot row at `position`. */
  snapshot(): SnapshotRow {
    const { id, name, version } = this.projection;
    const state = this.#keyOf === undefined ? this.#confirmed : new Map(this.#confirmedByKey);
    return { id, name, version, position: this.position, state };
  }

  #stateOf(key: string, optimistic: boolean): S {
    if (optimistic && this.#overlay.has(key)) return this.#overlay.get(key) as S;
    return this.#confirmedByKey.has(key) ? (this.#confirmedByKey.get(key) as S) : this.projection.initial;
  }

  #key(event: FoldableEvent): string | undefined {
    try {
      return this.#keyOf!(event);
    } catch (cause) {
      this.#fail('key', event, cause);
      return undefined;
    }
  }

  // A reducer that throws skips its event (the state stays as it was) and is reported, so that one
  // bad reducer neither loses events nor stops the other projections.
  #apply(reducer: (state: S, event: FoldableEvent) => S, state: S, event: FoldableEvent): S {
    try {
      return reducer(state, event);
    } catch (cause) {
      this.#fail(`reducer of ${event.type}`, event, cause);
      return state;
    }
  }

  #fail(what: string, event: FoldableEvent, cause: unknown): void {
    this.#onError(
      new ClientError(
        ClientErrorCode.projectionFailed,
        `projection ${this.projection.id}: the ${what} threw on event ${event.id}: ${cause instanceof Error ? cause.message : String(cause)}`,
        { cause },
      ),
    );
  }
}
