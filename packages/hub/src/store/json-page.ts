import { matchesSubscription } from '@eventloom/protocol/codes';
import type { StoreJsonPage } from './event-store.ts';
import { subscriptionsOf, type StreamFilter } from './stream-filter.ts';

/** What SQLite makes of a lone surrogate in a text column: streams holding it are read from the JSON. */
const REPLACEMENT = '\ufffd';

const utf8 = new TextEncoder();

/**
 * Bytes left free before and after a page's JSON in its buffer: room for what frames it on the
 * wire (the WebSocket header, the ack's packet and the answer's keys: see `json-text.ts`), which
 * its reader may then write around it instead of copying the page into a frame of its own.
 */
export const PAGE_ROOM = 128;
/** Spare page buffers this thread keeps at most, in bytes (a few pages of 1,000 small events). */
const MAX_SPARE_BYTES = 4 * 1024 * 1024;
/**
 * How many times a page's size a spare may be and still be taken for it: a larger one would be
 * held for that page's life (until its ack is written), unseen by the hub's accounting of what
 * it has to send.
 */
const MAX_SPARE_FIT = 2;
/** Buffers of pages written out and given back ({@link spareJsonBuffer}), smallest first. */
const spares: ArrayBuffer[] = [];
let spareBytes = 0;

/**
 * Takes back the buffer of a page this thread made (its reader is done with it), for a later
 * page: a catch-up then reads into the same few buffers instead of one more per page. The
 * thread that hands pages over (see `sqlite-thread.ts`) gets them back so: the hub's thread,
 * which gives every buffer up (transferred, not copied), counts none of them as its memory, and
 * V8 counts an external buffer against the heap's limit until its next full collection. Past
 * the few megabytes kept, the smallest spares are let go (those that fit the fewest pages).
 */
export function spareJsonBuffer(buffer: ArrayBuffer): void {
  if (buffer.byteLength === 0 || buffer.byteLength > MAX_SPARE_BYTES) return;
  spares.splice(firstOfAtLeast(buffer.byteLength), 0, buffer);
  spareBytes += buffer.byteLength;
  while (spareBytes > MAX_SPARE_BYTES) spareBytes -= spares.shift()!.byteLength;
}

/** Lets every spare go (for tests: the pool is the thread's). */
export function dropSpareJsonBuffers(): void {
  spares.length = 0;
  spareBytes = 0;
}

/**
 * A buffer of at least `size` bytes: the smallest spare that is large enough, unless it is more
 * than {@link MAX_SPARE_FIT} times that; else a new one.
 */
function bufferOf(size: number): ArrayBuffer {
  const i = firstOfAtLeast(size);
  const buffer = spares[i];
  if (buffer === undefined || buffer.byteLength > MAX_SPARE_FIT * size) return new ArrayBuffer(size);
  spares.splice(i, 1);
  spareBytes -= buffer.byteLength;
  return buffer;
}

/** The index of the first spare of `size` bytes or more (the spares' length if none). */
function firstOfAtLeast(size: number): number {
  let low = 0;
  let high = spares.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (spares[mid]!.byteLength < size) low = mid + 1;
    else high = mid;
  }
  return low;
}

/**
 * A page read as JSON texts, with each event's `stream` column beside it, as
 * `EventStore.readJson` answers it: the texts joined and encoded as UTF-8 (in a buffer of its own,
 * which the store's thread hands over without copying it, {@link PAGE_ROOM} free on each side;
 * a spare one when there is one), the events of a filtered page that the filter does not match
 * exactly left out, and the distinct streams.
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
  const text = kept.join(',');
  const length = Buffer.byteLength(text);
  const json = new Uint8Array(bufferOf(length + 2 * PAGE_ROOM), PAGE_ROOM, length);
  utf8.encodeInto(text, json);
  return { json, count: kept.length, streams: [...streams], until, head };
}
