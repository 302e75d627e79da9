import type { CommittedEvent } from '@eventloom/protocol';
import type { ConfirmedQuery } from './client-store.ts';

/** What `events$` and `readEvents` select. */
export interface EventFilter {
  /** Only this stream's events. */
  readonly stream?: string;
  /** Only events of these types (one or several). */
  readonly type?: string | readonly string[];
  /** Only events after this position (exclusive); 0 by default: from the start. */
  readonly from?: number;
}

/** The store query for the confirmed events `filter` selects, up to `until` (the view's position). */
export function confirmedQuery(filter: EventFilter, until: number): ConfirmedQuery {
  const types = typeof filter.type === 'string' ? [filter.type] : filter.type;
  return {
    from: filter.from ?? 0,
    until,
    ...(filter.stream === undefined ? {} : { stream: filter.stream }),
    ...(types === undefined ? {} : { types }),
  };
}

/** Whether a live confirmed event is one `filter` selects (its stream and type; `from` aside). */
export function eventMatcher(filter: EventFilter): (e: CommittedEvent) => boolean {
  const types =
    typeof filter.type === 'string' ? new Set([filter.type]) : filter.type ? new Set(filter.type) : undefined;
  return (e) =>
    (filter.stream === undefined || e.stream === filter.stream) && (types === undefined || types.has(e.type));
}
