/**
 * The hooks, each a `useSyncExternalStore` over one of the Eventloom's streams, so that they are
 * correct under concurrent rendering (no tearing) and give a fixed initial state on the server
 * and during hydration.
 */
import type { EventFilter, SyncState } from '@eventloom/client';
import type {
  DeadLetter,
  EventDefinition,
  EventMapOf,
  FoldableEvent,
  FoldableEventOf,
  Projection,
} from '@eventloom/core';
import type { EventEnvelope } from '@eventloom/protocol';
import { useSyncExternalStore } from 'react';
import { useEventloomContext } from './eventloom-provider.ts';
import { accumulatingStore, latestValueStore, StoreCache, type ExternalStore } from './external-store.ts';

const stores = new StoreCache();
const NO_EVENTS: readonly never[] = Object.freeze([]);

/**
 * A projection's optimistic state (confirmed events, then pending ones on top), of `key` for a
 * keyed projection; `projection.initial` until the Eventloom has read it, and on the server.
 * The type is the projection's state.
 *
 * @example
 * const cards = useProjection(board); // Record<string, string>
 */
export function useProjection<S>(projection: Projection<S>, key?: string): S {
  const { loom } = useEventloomContext('useProjection');
  const store =
    loom === undefined
      ? undefined
      : stores.get(loom, projection, `projection:${key ?? ''}`, () =>
          latestValueStore(() => loom.projection$(projection, key), projection.initial),
        );
  return useStore(store, projection.initial);
}

/** The sync state (`offline`, `connecting`, `catching-up`, `live`, `error`); `offline` without a sync and on the server. */
export function useSyncState(): SyncState {
  const { sync } = useEventloomContext('useSyncState');
  const store =
    sync === undefined
      ? undefined
      : stores.get(sync, 'syncState', '', () =>
          latestValueStore(() => sync.syncState$, 'offline' as SyncState),
        );
  return useStore(store, 'offline');
}

/** The pending events (the outbox, in clientSeq order); empty until read, and on the server. */
export function usePending(): readonly EventEnvelope[] {
  const { loom } = useEventloomContext('usePending');
  const store =
    loom === undefined
      ? undefined
      : stores.get(loom, 'pending', '', () =>
          latestValueStore<readonly EventEnvelope[]>(() => loom.pending$, NO_EVENTS),
        );
  return useStore(store, NO_EVENTS);
}

/**
 * The dead letters (the handlers' and sagas', and the pushes the hub refused), oldest first; empty
 * until read, and on the server. Needs the `reactions` given to the provider.
 */
export function useDeadLetters(): readonly DeadLetter[] {
  const { loom, deadLetters } = useEventloomContext('useDeadLetters');
  if (loom !== undefined && deadLetters === undefined) {
    throw new Error(
      'useDeadLetters needs the reactions: <EventloomProvider loom={loom} reactions={createReactions(loom, …)}>',
    );
  }
  const store =
    deadLetters === undefined
      ? undefined
      : stores.get(deadLetters, 'deadLetters', '', () =>
          latestValueStore<readonly DeadLetter[]>(() => deadLetters.deadLetters$, NO_EVENTS),
        );
  return useStore(store, NO_EVENTS);
}

/**
 * The confirmed events of a stream (or of a filter), in position order, upcast: those stored now,
 * then each new one. Given the event definitions, it keeps only their types and types the events
 * with their data.
 *
 * @example
 * const history = useEvents('board:1', [CardAdded, CardMoved]); // FoldableEvent<'card.added', …> | …
 */
export function useEvents<D extends EventDefinition>(
  stream: string,
  definitions: readonly D[],
): readonly FoldableEventOf<EventMapOf<D>>[];
export function useEvents(filter: string | EventFilter): readonly FoldableEvent[];
export function useEvents(
  filter: string | EventFilter,
  definitions?: readonly EventDefinition[],
): readonly FoldableEvent[] {
  const { loom } = useEventloomContext('useEvents');
  const base: EventFilter =
    typeof filter === 'string'
      ? { stream: filter, ...(definitions === undefined ? {} : { type: definitions.map((d) => d.type) }) }
      : filter;
  const store =
    loom === undefined
      ? undefined
      : stores.get(loom, 'events', JSON.stringify([base.stream, base.type, base.from]), () =>
          accumulatingStore<FoldableEvent>(
            (after) => loom.events$(after === undefined ? base : { ...base, from: after }),
            (event) => event.position,
          ),
        );
  return useStore<readonly FoldableEvent[]>(store, NO_EVENTS);
}

const noStore = (): (() => void) => () => {};

/** Reads `store`, or `fallback` without one; `fallback` on the server and during hydration. */
function useStore<T>(store: ExternalStore<T> | undefined, fallback: T): T {
  return useSyncExternalStore(
    store?.subscribe ?? noStore,
    store?.getSnapshot ?? (() => fallback),
    () => fallback,
  );
}
