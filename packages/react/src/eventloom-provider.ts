import type { Eventloom, Reactions, Sync } from '@eventloom/client';
import type { DeadLetterQueue } from '@eventloom/core';
import { createContext, createElement, useContext, useMemo, type ReactNode } from 'react';

/** What {@link EventloomProvider} hands the hooks below it. */
export interface EventloomContextValue {
  /** Undefined while it opens (`createEventloom` is async) and during server rendering. */
  readonly loom: Eventloom | undefined;
  readonly sync: Sync | undefined;
  readonly deadLetters: DeadLetterQueue | undefined;
}

/** The props of {@link EventloomProvider}. */
export interface EventloomProviderProps {
  /**
   * The Eventloom the hooks read. Leave it undefined while it opens, or on the server: the hooks
   * then give their initial state (a projection's `initial`, `offline`, empty lists).
   */
  readonly loom: Eventloom | undefined;
  /** What `createSync(loom, …)` returned; without it `useSyncState()` is `offline`. */
  readonly sync?: Sync | undefined;
  /** What `createReactions(loom, …)` returned: `useDeadLetters()` reads its queue. */
  readonly reactions?: Pick<Reactions, 'deadLetters'> | undefined;
  readonly children?: ReactNode;
}

const EventloomContext = createContext<EventloomContextValue | null>(null);
EventloomContext.displayName = 'EventloomContext';

/**
 * Gives the components below it an Eventloom (and its sync and reactions) to read with the hooks.
 *
 * @example
 * const loom = await createEventloom({ name: 'kanban', registry, projections: [board] });
 * const sync = createSync(loom, { url: 'https://hub.example', subscriptions: ['board:*'] });
 * createRoot(el).render(<EventloomProvider loom={loom} sync={sync}><Board /></EventloomProvider>);
 */
export function EventloomProvider(props: EventloomProviderProps): ReactNode {
  const { loom, sync, reactions } = props;
  const deadLetters = reactions?.deadLetters;
  const value = useMemo(() => ({ loom, sync, deadLetters }), [loom, sync, deadLetters]);
  return createElement(EventloomContext.Provider, { value }, props.children);
}

/** The nearest {@link EventloomProvider}'s value; throws when there is none. */
export function useEventloomContext(hook: string): EventloomContextValue {
  const value = useContext(EventloomContext);
  if (value === null) throw new Error(`${hook} must be called inside an <EventloomProvider>`);
  return value;
}

/** The provider's Eventloom, or undefined while it opens and on the server. */
export function useEventloom(): Eventloom | undefined {
  return useEventloomContext('useEventloom').loom;
}
