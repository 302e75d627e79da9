import { matchesSubscription } from '@eventloom/protocol/codes';
import type { StoreJsonPage } from './event-store.ts';
import { subscriptionsOf, type StreamFilter } from './stream-filter.ts';

/** What SQLite makes of a lone surrogate in a text column: streams holding it are read from the JSON. */
const REPLACEMENT = '\ufffd';

const utf8 = new TextEncoder();

/**
 * A page read as JSON texts, with each event's `stream` column beside it, as
 * `EventStore.readJson` answers it: the texts joined and encoded as UTF-8 (a buffer of its own,
 * which the store's thread hands over without copying it), the events of a filtered page that
 * the filter does not match exactly left out, and the distinct streams.
 *
 * A store that keeps text (UTF-8) holds a lone surrogate of a stream name as U+FFFD, so names
 * that differ only there collapse: a column holding U+FFFD is not taken as the name, the event's
 * JSON (which escapes lone surrogates) is.
 */
export function jsonPageOf(
  texts: readonly string[],
  columns: readonly string[],
  filter: StreamFilter,
  until: number,
  head: number,
): StoreJsonPage {
  const wanted = filter.kind === 'all' ? undefined : subscriptionsOf(filter);
  // Whether each column value (an exact name) is wanted: decided once per stream, not per event.
  const decided = new Map<string, boolean>();
  const streams = new Set<string>();
  const kept: string[] = [];
  for (let i = 0; i < texts.length; i++) {
    const text = texts[i]!;
    const column = columns[i]!;
    let keep: boolean;
    let stream = column;
    if (column.includes(REPLACEMENT)) {
      stream = (JSON.parse(text) as { stream: string }).stream;
      keep = wanted === undefined || matchesSubscription(stream, wanted);
    } else {
      let known = decided.get(column);
      if (known === undefined) {
        known = wanted === undefined || matchesSubscription(column, wanted);
        decided.set(column, known);
      }
      keep = known;
    }
    if (!keep) continue;
    kept.push(text);
    streams.add(stream);
  }
  return { json: utf8.encode(kept.join(',')), count: kept.length, streams: [...streams], until, head };
}
