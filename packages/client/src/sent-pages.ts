import type { OutboxRow } from './client-store.ts';
import type { ClientRows, SentPage } from './client-tables.ts';
import { fillsLastPage, PAGE_SIZE } from './confirmed-pages.ts';
import type { ReadTx, WriteTx } from './store-backend.ts';

// The `sent` table of a `BackedClientStore`: settled outbox rows, in pages. Each function runs
// inside the caller's transaction.

/**
 * How many of its last seqs a device keeps in `sent`: its own events the hub acked that left the
 * outbox without coming back confirmed (settled: the log does not hold their stream, as on a
 * write-only device, `subscriptions: []`). A hub restored from a backup that lacks some of them
 * gets them back (`realign` returns them to the outbox); `loom.outcome` reads their ack there.
 * Older ones are deleted as new ones come, so a device's storage for events it does not hold stays
 * bounded: about 10,000 envelopes (a few MB), however much it writes. A hub restored from a
 * backup older than a device's last 10,000 events lacks the older ones for good, unless a device
 * that holds their stream has them in its log.
 *
 * The rows are kept in pages of up to `PAGE_SIZE` (256), keyed by their first seq, as the
 * confirmed log is (IndexedDB pays per row): settling 10,000 rows writes about 40 rows, not 10,000.
 */
export const SENT_KEPT = 10_000;

/** The seq at or below which `sent` keeps nothing, for a device whose last seq is `clientSeq`. */
export function sentFloor(clientSeq: number): number {
  return clientSeq - SENT_KEPT;
}

/** Keeps settled rows in `sent` (those among the last {@link SENT_KEPT} seqs), and deletes pages all older. */
export async function keepSent(
  tx: WriteTx<ClientRows>,
  rows: readonly OutboxRow[],
  clientSeq: number,
): Promise<void> {
  const below = sentFloor(clientSeq);
  const fresh = rows.filter((r) => r.clientSeq > below && r.acked !== undefined).sort(bySeq);
  if (fresh.length > 0) await addRows(tx, fresh);
  const old = await tx.scan('sent', { upper: below });
  const gone = old.filter((page) => page.last <= below).map((page) => page.first);
  if (gone.length > 0) await tx.delete('sent', gone);
}

/** The kept rows of these seqs, in the same order (undefined where none). */
export async function readSent(
  tx: ReadTx<ClientRows>,
  seqs: readonly number[],
): Promise<(OutboxRow | undefined)[]> {
  const out: (OutboxRow | undefined)[] = [];
  for (const seq of seqs) {
    const [page] = await tx.scan('sent', { upper: seq, reverse: true, limit: 1 });
    out.push(page?.rows.find((r) => r.clientSeq === seq));
  }
  return out;
}

/** The kept rows above a seq, in seq order. */
export async function sentAbove(tx: ReadTx<ClientRows>, seq: number): Promise<OutboxRow[]> {
  const pages = await pagesFrom(tx, seq + 1);
  return pages.flatMap((page) => page.rows).filter((r) => r.clientSeq > seq);
}

/** Deletes the kept rows above a seq (they went back to the outbox). */
export async function trimSent(tx: WriteTx<ClientRows>, seq: number): Promise<void> {
  const pages = await pagesFrom(tx, seq + 1);
  const gone = pages.filter((page) => page.first > seq).map((page) => page.first);
  if (gone.length > 0) await tx.delete('sent', gone);
  const straddling = pages.find((page) => page.first <= seq && page.last > seq);
  if (straddling) await tx.put('sent', [toPage(straddling.rows.filter((r) => r.clientSeq <= seq))]);
}

/**
 * Adds rows (in seq order) to the pages: after the last page, filling it while it is small (as the
 * confirmed log's tail: `fillsLastPage`), or, for rows at or below its last seq (rare: settled out
 * of order), merged with the pages from the one that holds the first of them.
 */
async function addRows(tx: WriteTx<ClientRows>, fresh: readonly OutboxRow[]): Promise<void> {
  const [last] = await tx.scan('sent', { reverse: true, limit: 1 });
  let rows = fresh;
  if (last && fresh[0]!.clientSeq <= last.last) {
    const pages = await pagesFrom(tx, fresh[0]!.clientSeq);
    const merged = new Map<number, OutboxRow>();
    for (const row of pages.flatMap((page) => page.rows)) merged.set(row.clientSeq, row);
    for (const row of fresh) merged.set(row.clientSeq, row);
    rows = [...merged.values()].sort(bySeq);
    await tx.delete(
      'sent',
      pages.map((page) => page.first),
    );
  } else if (last && fillsLastPage(last.rows.length, fresh.length)) {
    // The first page cut below has the last page's key: it replaces it.
    rows = [...last.rows, ...fresh];
  }
  const pages: SentPage[] = [];
  for (let i = 0; i < rows.length; i += PAGE_SIZE) pages.push(toPage(rows.slice(i, i + PAGE_SIZE)));
  await tx.put('sent', pages);
}

/** The pages that may hold seqs from `seq` on: the one holding it (if any) and every later one. */
async function pagesFrom(tx: ReadTx<ClientRows>, seq: number): Promise<SentPage[]> {
  const [holding] = await tx.scanKeys('sent', { upper: seq, reverse: true, limit: 1 });
  return tx.scan('sent', { lower: holding ?? seq });
}

function toPage(rows: readonly OutboxRow[]): SentPage {
  return { first: rows[0]!.clientSeq, last: rows.at(-1)!.clientSeq, rows };
}

function bySeq(a: OutboxRow, b: OutboxRow): number {
  return a.clientSeq - b.clientSeq;
}
