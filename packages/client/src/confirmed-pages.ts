import type { CommittedEvent } from '@eventloom/protocol';
import type { ClientRows, PageRow } from './client-tables.ts';
import type { ClientMeta, ConfirmedQuery } from './client-store.ts';
import type { ReadTx, WriteTx } from './store-backend.ts';

// The page layout of the confirmed log in the `events` table, on every backend (see
// `BackedClientStore`'s TSDoc for why pages). Each function runs inside the caller's transaction.

/** Confirmed events per page row; see `DexieClientStore`. */
export const PAGE_SIZE = 256;

/**
 * A small insert adds to the last page only while it holds fewer events than this (or than the
 * insert brings); otherwise it starts a new page. See `DexieClientStore`.
 */
export const TAIL_FILL = 32;

/**
 * Whether rows added after a last page holding `held` go into it (up to {@link PAGE_SIZE}) rather
 * than start a new page: only while it is small ({@link TAIL_FILL}), or the insert is at least as
 * large, so that a small insert never rewrites a nearly full page.
 */
export function fillsLastPage(held: number, adding: number): boolean {
  return held < PAGE_SIZE && (held < TAIL_FILL || adding >= held);
}

/** Makes the page row of up to {@link PAGE_SIZE} consecutive confirmed events. */
export function toPage(events: readonly CommittedEvent[]): PageRow {
  const streams = new Set<string>();
  for (const e of events) streams.add(e.stream);
  return { first: events[0]!.position, last: events.at(-1)!.position, streams: [...streams], events };
}

/**
 * The rows at the end of `events` that the next insert may add to, in key order: the last page,
 * stored as one row, or, while it holds fewer than {@link TAIL_FILL} events, as a row per small
 * insert (nothing stored is rewritten until they make a page of {@link TAIL_FILL}). What a store
 * knows of its tail from its last write; read (after a reload, or another tab's write), it is the
 * last row with the rows before it that make a small page with it ({@link readTail}).
 */
export type PageTail = readonly PageRow[];

/** The tail a store last wrote, with the meta it wrote then (see {@link tailAt}). */
export interface KnownTail {
  readonly rows: PageTail;
  readonly meta: Pick<ClientMeta, 'clientId' | 'position' | 'history'>;
}

/**
 * The rows of `known` if `meta` (read in this transaction) is the one they were written at, else
 * undefined (read the tail). Every write of `events` moves `position` or `history`, and neither
 * comes back to an earlier pair within one database's life; a database made again (wiped, swapped
 * for another file) gets a new `clientId`, so the same pair in it does not match.
 */
export function tailAt(known: KnownTail | undefined, meta: KnownTail['meta']): PageTail | undefined {
  if (!known) return undefined;
  const at = known.meta;
  const same = at.clientId === meta.clientId && at.position === meta.position && at.history === meta.history;
  return same ? known.rows : undefined;
}

/**
 * Adds confirmed events after the last page and returns the new tail: fills the last page up to
 * {@link PAGE_SIZE} (a small insert only a small page: {@link TAIL_FILL}), then starts new pages.
 * A small insert into a small page is a row of its own until the page would reach
 * {@link TAIL_FILL}: then its rows become one. `tail`: the tail as the store last wrote it (read
 * when undefined). Runs inside the caller's transaction.
 */
export async function writePages(
  tx: WriteTx<ClientRows>,
  fresh: readonly CommittedEvent[],
  tail?: PageTail,
): Promise<PageTail> {
  const rows = tail ?? (await readTail(tx));
  const held = rows.reduce((n, row) => n + row.events.length, 0);
  if (rows.length > 0 && fillsLastPage(held, fresh.length)) {
    if (held + fresh.length < TAIL_FILL) {
      const row = toPage(fresh);
      await tx.put('events', [row]);
      return [...rows, row];
    }
    // The first row's key starts the merged pages; the others' go (all below the new events').
    if (rows.length > 1)
      await tx.delete(
        'events',
        rows.slice(1).map((row) => row.first),
      );
    const pages = toPages([...rows.flatMap((row) => row.events), ...fresh]);
    await tx.put('events', pages);
    return pages.slice(-1);
  }
  const pages = toPages(fresh);
  await tx.put('events', pages);
  return pages.slice(-1);
}

/**
 * Merges events at or below the position into the pages they fall in, skipping positions held,
 * and cuts the merged run into pages again. Returns the events stored.
 */
export async function mergePages(
  tx: WriteTx<ClientRows>,
  older: readonly CommittedEvent[],
): Promise<CommittedEvent[]> {
  const low = older[0]!.position;
  const high = older.at(-1)!.position;
  const start = (await pageHolding(tx, low)) ?? low;
  const pages = await tx.scan('events', { lower: start, upper: high });
  const held = new Set<number>();
  for (const page of pages) for (const e of page.events) held.add(e.position);
  const inserted = older.filter((e) => !held.has(e.position));
  if (inserted.length === 0) return [];
  const merged = [...pages.flatMap((p) => p.events), ...inserted].sort((a, b) => a.position - b.position);
  await tx.delete(
    'events',
    pages.map((p) => p.first),
  );
  await tx.put('events', toPages(merged));
  return inserted;
}

/** Drops the confirmed events above `cut` (pages after it go, the page across it is cut short). */
export async function cutPages(tx: WriteTx<ClientRows>, cut: number): Promise<void> {
  const start = (await pageHolding(tx, cut)) ?? cut;
  const pages = await tx.scan('events', { lower: start });
  await tx.delete(
    'events',
    pages.map((p) => p.first),
  );
  await tx.put('events', toPages(pages.flatMap((p) => p.events).filter((e) => e.position <= cut)));
}

/**
 * The tail as the log holds it: the last row, and the rows before it that hold, with it, fewer
 * than {@link TAIL_FILL} events, told without reading them by their positions (unique: rows from
 * key k on hold at most `last - k + 1` events), so that the single-event rows a store wrote before
 * a reload still make one page with the next ones. Reads one row and some keys, then the rows of
 * a small page (fewer than TAIL_FILL events) only.
 */
async function readTail(tx: ReadTx<ClientRows>): Promise<PageTail> {
  const [last] = await tx.scan('events', { reverse: true, limit: 1 });
  if (last === undefined || last.events.length >= TAIL_FILL) return last === undefined ? [] : [last];
  const keys = await tx.scanKeys('events', {
    upper: last.first,
    upperOpen: true,
    reverse: true,
    limit: TAIL_FILL,
  });
  let lowest = last.first;
  for (const key of keys as number[]) {
    if (last.last - key + 1 >= TAIL_FILL) break;
    lowest = key;
  }
  return lowest === last.first ? [last] : tx.scan('events', { lower: lowest });
}

/** Cuts consecutive events into pages of {@link PAGE_SIZE}. */
function toPages(events: readonly CommittedEvent[]): PageRow[] {
  const rows: PageRow[] = [];
  for (let i = 0; i < events.length; i += PAGE_SIZE) rows.push(toPage(events.slice(i, i + PAGE_SIZE)));
  return rows;
}

/** The key of the last page starting at or before `position`: the one that would hold it. */
async function pageHolding(tx: ReadTx<ClientRows>, position: number): Promise<number | undefined> {
  const [key] = await tx.scanKeys('events', { upper: position, reverse: true, limit: 1 });
  return key as number | undefined;
}

/** Reads confirmed events from the pages, by position, stream and type, up to a limit. */
export async function readConfirmed(
  tx: ReadTx<ClientRows>,
  query: ConfirmedQuery,
): Promise<CommittedEvent[]> {
  const from = query.from ?? 0;
  const until = query.until ?? Infinity;
  const limit = query.limit ?? Infinity;
  const types = query.types ? new Set(query.types) : undefined;
  const out: CommittedEvent[] = [];
  const take = (pages: readonly PageRow[]): boolean => {
    for (const page of pages) {
      if (page.last <= from) continue;
      for (const e of page.events) {
        if (e.position <= from) continue;
        if (e.position > until) return false;
        if (query.stream !== undefined && e.stream !== query.stream) continue;
        if (types && !types.has(e.type)) continue;
        out.push(e);
        if (out.length >= limit) return false;
      }
    }
    return true;
  };
  if (query.stream !== undefined) {
    take(await tx.scanIndex('events', 'streams', { lower: query.stream, upper: query.stream }));
    return out;
  }
  // The page holding position from + 1 is the last page starting at or before it.
  const start = (await pageHolding(tx, from + 1)) ?? from + 1;
  if (limit === Infinity) {
    if (until < start) return out;
    take(await tx.scan('events', until === Infinity ? { lower: start } : { lower: start, upper: until }));
    return out;
  }
  // With a limit, read a few pages at a time instead of the whole tail.
  let next = start;
  for (;;) {
    const pages = await tx.scan('events', { lower: next, limit: 8 });
    if (pages.length === 0 || !take(pages)) return out;
    next = pages.at(-1)!.first + 1;
  }
}
