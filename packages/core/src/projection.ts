import type { EventMap, FoldableEvent, FoldableEventOf } from './foldable-event.ts';

/**
 * A projection's reducers by event type: each returns the next state and never mutates the one it
 * is given (states are shared between snapshots, the confirmed state and the optimistic rebase).
 */
export type ProjectionHandlers<S, M extends object = EventMap> = {
  readonly [K in keyof M & string]?: (state: S, event: FoldableEvent<K, M[K]>) => S;
};

/** What {@link defineProjection} takes. */
export interface ProjectionDefinition<S, M extends object = EventMap> {
  /** Stable name; with `version` it names the snapshots of this projection. */
  readonly name: string;
  /** Bump it whenever the reducers or the state's shape change: stored snapshots are then rebuilt. */
  readonly version: number;
  /** The state before any event (of each key, for a keyed projection). Shared, so never mutated. */
  readonly initial: S;
  /** Pure reducers by event type; events of other types are ignored. */
  readonly on: ProjectionHandlers<S, M>;
  /**
   * Makes the projection keyed: one state per key (per board, per list), folded from the events
   * this returns that key for. `undefined` leaves the event out. Called only for handled types.
   */
  readonly key?: (event: FoldableEventOf<M>) => string | undefined;
}

/** A reducer as stored in {@link Projection.handlers}: the typing of `data` is the definition's promise. */
export type ProjectionReducer<S> = (state: S, event: FoldableEvent) => S;

/**
 * A read model: a pure left fold over upcast events, in position order for confirmed events and
 * then `clientSeq` order for pending ones (DESIGN.md §3). Because reducers are pure, folding the
 * same events from the same state always gives the same state, which makes snapshots and the
 * optimistic rebase (`pending.reduce(apply, confirmedState)`) sound. The event typing of the
 * definition is erased here, so that stores and streams need only the state type.
 */
export interface Projection<S> {
  readonly name: string;
  readonly version: number;
  /** `${name}@${version}`: what snapshots are stored under, so a new version starts afresh. */
  readonly id: string;
  readonly initial: S;
  /** The event types the projection handles, for reading only those. */
  readonly types: readonly string[];
  /** The reducers by type, own properties of `on` only (so `constructor` is not a handler). */
  readonly handlers: ReadonlyMap<string, ProjectionReducer<S>>;
  /** Present on a keyed projection: the key of a handled event, `undefined` to leave it out. */
  readonly key?: (event: FoldableEvent) => string | undefined;
}

/**
 * Defines a projection (a CQRS read model) from pure reducers keyed by event type. Type the
 * events with an {@link EventMap} to get typed `data` in each reducer.
 *
 * @example
 * type BoardEvents = { 'card.added': { id: string; column: string }; 'card.moved': { id: string; to: string } };
 * const cardCount = defineProjection<number, BoardEvents>({
 *   name: 'card-count',
 *   version: 1,
 *   initial: 0,
 *   on: { 'card.added': (n) => n + 1 },
 *   key: (e) => e.stream, // one count per board stream
 * });
 * const perBoard = foldByKey(cardCount, events);
 */
export function defineProjection<S, M extends object = EventMap>(
  definition: ProjectionDefinition<S, M>,
): Projection<S> {
  const { name, version, initial, on, key } = definition;
  if (typeof name !== 'string' || name.length === 0)
    throw new TypeError('a projection needs a non-empty name');
  if (!Number.isSafeInteger(version) || version < 1) {
    throw new RangeError(`projection ${name}: version must be a positive integer, got ${version}`);
  }
  const handlers = new Map<string, ProjectionReducer<S>>();
  for (const type of Object.keys(on)) {
    const reducer: unknown = on[type as keyof typeof on];
    if (reducer === undefined) continue;
    if (typeof reducer !== 'function')
      throw new TypeError(`projection ${name}: the reducer of ${type} is not a function`);
    handlers.set(type, reducer as ProjectionReducer<S>);
  }
  const projection = {
    name,
    version,
    id: projectionId(name, version),
    initial,
    types: [...handlers.keys()],
    handlers,
  };
  if (key === undefined) return projection;
  if (typeof key !== 'function') throw new TypeError(`projection ${name}: key must be a function`);
  // The definition promises that events of its handled types carry its data types.
  return { ...projection, key: key as (event: FoldableEvent) => string | undefined };
}

/**
 * The id snapshots and checkpoints of a projection are stored under.
 *
 * @example projectionId('card-count', 2) // 'card-count@2'
 */
export function projectionId(name: string, version: number): string {
  return `${name}@${version}`;
}

/**
 * Folds events into one state, from `from` (a snapshot) or the initial state. Events of types the
 * projection does not handle are skipped. For a keyed projection this ignores `key`: pass one
 * key's events, or use {@link foldByKey}.
 *
 * @example const state = fold(todoList, [...confirmed, ...pending]);
 */
export function fold<S>(
  projection: Projection<S>,
  events: Iterable<FoldableEvent>,
  from: S = projection.initial,
): S {
  const { handlers } = projection;
  let state = from;
  if (Array.isArray(events)) {
    const list = events as readonly FoldableEvent[];
    for (let i = 0; i < list.length; i++) {
      const event = list[i]!;
      const reducer = handlers.get(event.type);
      if (reducer !== undefined) state = reducer(state, event);
    }
    return state;
  }
  for (const event of events) {
    const reducer = handlers.get(event.type);
    if (reducer !== undefined) state = reducer(state, event);
  }
  return state;
}

/**
 * Folds events into one state per key of a keyed projection, starting each key from `from` (its
 * snapshot) or the initial state. Events without a key, or of unhandled types, are skipped.
 * Throws a TypeError if the projection has no `key`.
 *
 * @example const boards = foldByKey(boardSummary, events); boards.get('board:42');
 */
export function foldByKey<S>(
  projection: Projection<S>,
  events: Iterable<FoldableEvent>,
  from: ReadonlyMap<string, S> = new Map(),
): Map<string, S> {
  const { handlers, key, initial } = projection;
  if (key === undefined) throw new TypeError(`projection ${projection.id} is not keyed`);
  const states = new Map(from);
  for (const event of events) {
    const reducer = handlers.get(event.type);
    if (reducer === undefined) continue;
    const k = key(event);
    if (k === undefined) continue;
    const state = states.has(k) ? (states.get(k) as S) : initial;
    states.set(k, reducer(state, event));
  }
  return states;
}

/**
 * Applies one event: the projection's reducer for its type, or the same state if it has none.
 * The step of a live projection, and of the rebase of pending events on a new confirmed state.
 */
export function applyEvent<S>(projection: Projection<S>, state: S, event: FoldableEvent): S {
  const reducer = projection.handlers.get(event.type);
  return reducer === undefined ? state : reducer(state, event);
}

/** The key of an event in a keyed projection; `undefined` if unkeyed, unhandled or left out. */
export function keyOfEvent<S>(projection: Projection<S>, event: FoldableEvent): string | undefined {
  const { key } = projection;
  if (key === undefined || !projection.handlers.has(event.type)) return undefined;
  return key(event);
}
