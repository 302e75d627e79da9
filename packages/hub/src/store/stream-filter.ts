import { HubError, HubErrorCode } from '../hub/hub-error.ts';
import type { StoreReadQuery } from './event-store.ts';

/** Which streams a read wants, as the stores query them. */
export type StreamFilter =
  | { readonly kind: 'all' }
  | { readonly kind: 'some'; readonly exact: readonly string[]; readonly prefixes: readonly string[] };

/** How many positions a filtered read scans at most, unless the store is told otherwise. */
export const DEFAULT_SCAN_WINDOW = 50_000;

/** The `scanWindow` a store was given, checked: a window of 0 would never let a filtered read move on. */
export function scanWindowOf(scanWindow: number | undefined): number {
  const n = scanWindow ?? DEFAULT_SCAN_WINDOW;
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new HubError(HubErrorCode.config, `scanWindow must be an integer ≥ 1, got ${n}`);
  }
  return n;
}

/**
 * Checks a read query (a programmer error throws a {@link HubError}) and splits its `streams`
 * into exact names and prefixes; `*`, or no `streams` at all, is every stream.
 */
export function streamFilter(query: StoreReadQuery): StreamFilter {
  if (!Number.isSafeInteger(query.from) || query.from < 0) {
    throw new HubError(HubErrorCode.store, `read: from must be an integer ≥ 0, got ${query.from}`);
  }
  if (!Number.isSafeInteger(query.limit) || query.limit < 1) {
    throw new HubError(HubErrorCode.store, `read: limit must be an integer ≥ 1, got ${query.limit}`);
  }
  const budget = query.maxJsonChars;
  if (budget !== undefined && (!Number.isSafeInteger(budget) || budget < 1)) {
    throw new HubError(HubErrorCode.store, `read: maxJsonChars must be an integer ≥ 1, got ${budget}`);
  }
  if (query.streams === undefined) return { kind: 'all' };
  const exact: string[] = [];
  const prefixes: string[] = [];
  for (const s of query.streams) {
    if (s === '*') return { kind: 'all' };
    if (s.endsWith('*')) prefixes.push(s.slice(0, -1));
    else exact.push(s);
  }
  return { kind: 'some', exact, prefixes };
}

/** The filter as subscriptions (`prefix*` for a prefix), for `matchesSubscription`. */
export function subscriptionsOf(filter: Extract<StreamFilter, { kind: 'some' }>): string[] {
  return [...filter.exact, ...filter.prefixes.map((p) => `${p}*`)];
}
