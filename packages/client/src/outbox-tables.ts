import type { CommittedEvent } from '@eventloom/protocol';
import type { ClientRows } from './client-tables.ts';
import type { ClientMeta, OutboxRow } from './client-store.ts';
import { keepSent, sentFloor } from './sent-pages.ts';
import type { ReadTx, StoreKey, WriteTx } from './store-backend.ts';

// The outbox of a `BackedClientStore` is two tables: `outbox` (not acked yet) and `acked`. These
// read and write them as one, inside the caller's transaction; settled rows go to `sent` (`sent-pages.ts`).

/** What {@link readPending} takes: rows above a seq, at most `limit`, optionally only those not acked. */
export interface PendingQuery {
  readonly afterSeq?: number;
  readonly limit?: number;
  readonly unackedOnly?: boolean;
}

/**
 * Outbox rows in clientSeq order. Unacked only: one range read of `outbox`, whatever the number
 * of acked rows still kept (the drain of a large backlog asks this once per batch). Otherwise both
 * tables, merged.
 */
export async function readPending(tx: ReadTx<ClientRows>, query: PendingQuery): Promise<OutboxRow[]> {
  const range = {
    lower: query.afterSeq ?? 0,
    lowerOpen: true,
    ...(query.limit === undefined ? {} : { limit: query.limit }),
  };
  const unacked = await tx.scan('outbox', range);
  if (query.unackedOnly) return unacked;
  const acked = await tx.scan('acked', range);
  if (acked.length === 0) return unacked;
  const rows = merge(unacked, acked);
  return query.limit === undefined ? rows : rows.slice(0, query.limit);
}

/** The outbox rows of these seqs, from either table, in the same order (undefined where gone). */
export async function getRows(
  tx: ReadTx<ClientRows>,
  seqs: readonly number[],
): Promise<(OutboxRow | undefined)[]> {
  if (seqs.length === 0) return [];
  const rows = await tx.getMany('outbox', seqs);
  const missing = seqs.filter((_, i) => rows[i] === undefined);
  if (missing.length === 0) return rows;
  const acked = await tx.getMany('acked', missing);
  const found = new Map<number, OutboxRow>();
  for (const row of acked) if (row) found.set(row.clientSeq, row);
  return rows.map((row, i) => row ?? found.get(seqs[i]!));
}

/** Deletes outbox rows from the table each is in. */
export async function deleteRows(tx: WriteTx<ClientRows>, rows: readonly OutboxRow[]): Promise<void> {
  const unacked = rows.filter((r) => r.acked === undefined).map((r) => r.clientSeq);
  const acked = rows.filter((r) => r.acked !== undefined).map((r) => r.clientSeq);
  if (unacked.length > 0) await tx.delete('outbox', unacked);
  if (acked.length > 0) await tx.delete('acked', acked);
}

/** Stores outbox rows in the table their ack puts them in (taking them out of the other). */
export async function putRows(tx: WriteTx<ClientRows>, rows: readonly OutboxRow[]): Promise<void> {
  const unacked = rows.filter((r) => r.acked === undefined);
  const acked = rows.filter((r) => r.acked !== undefined);
  // Sent together: one wait instead of four (each table's requests still run in order).
  await Promise.all([
    tx.delete(
      'acked',
      unacked.map((r) => r.clientSeq),
    ),
    tx.put('outbox', unacked),
    tx.delete(
      'outbox',
      acked.map((r) => r.clientSeq),
    ),
    tx.put('acked', acked),
  ]);
}

/** Removes and returns the outbox rows these confirmed events stand for: same client, same seq, same id. */
export async function removeConfirmed(
  tx: WriteTx<ClientRows>,
  fresh: readonly CommittedEvent[],
  clientId: string,
): Promise<OutboxRow[]> {
  const mine = fresh.filter((e) => e.clientId === clientId);
  if (mine.length === 0) return [];
  const rows = await getRows(
    tx,
    mine.map((e) => e.clientSeq),
  );
  const removed = rows.filter(
    (row, i): row is OutboxRow => row !== undefined && row.event.id === mine[i]!.id,
  );
  await deleteRows(tx, removed);
  return removed;
}

/**
 * Removes and returns the acked rows the position passed without their event (streams this log
 * does not hold), and keeps them in `sent`. `clientSeq`: the meta's.
 */
export async function settleAcked(
  tx: WriteTx<ClientRows>,
  position: number,
  clientSeq: number,
): Promise<OutboxRow[]> {
  const settled = await tx.scanIndex('acked', 'acked.position', { upper: position });
  if (settled.length > 0) {
    await tx.delete(
      'acked',
      settled.map((r) => r.clientSeq),
    );
    await keepSent(tx, settled, clientSeq);
  }
  return settled.sort((a, b) => a.clientSeq - b.clientSeq);
}

/**
 * On a log that holds no stream (`meta.subscriptions` recorded empty: a write-only device), no
 * acked row will come back confirmed, and the position never passes them while a session lasts
 * (nothing arrives live). So the acked rows leave (to `sent`) once there are at least
 * {@link SETTLE_RATIO} times as many of them as rows still to ack: at the latest when nothing
 * waits for an ack. Counted by the spans of their seqs (four one-key reads, sent together), so
 * that each settle, and the re-read of the outbox it makes readers do (the epoch moves), costs
 * less than the acks it settles: linear over a backlog (a drain of n settles about log₅ n times,
 * the re-reads total about n / 4 rows). Only the rows `sent` keeps are read; the older ones are
 * only counted. Returns how many rows left.
 */
export async function settleUnheld(tx: WriteTx<ClientRows>, meta: ClientMeta): Promise<number> {
  if (meta.subscriptions === undefined || meta.subscriptions.length > 0) return 0;
  const [acked, unacked] = await Promise.all([span(tx, 'acked'), span(tx, 'outbox')]);
  if (acked === 0 || unacked * SETTLE_RATIO > acked) return 0;
  const floor = sentFloor(meta.clientSeq);
  const [older, kept] = await Promise.all([
    tx.count('acked', { upper: floor }),
    tx.scan('acked', { lower: floor, lowerOpen: true }),
  ]);
  // Every acked row leaves: one request, where deleting them by key is one each.
  await tx.clear('acked');
  await keepSent(tx, kept, meta.clientSeq);
  return older + kept.length;
}

/** See {@link settleUnheld}. */
export const SETTLE_RATIO = 4;

/** The span of the keys of a table of seqs: last − first + 1 (0 when empty), at least its row count. */
async function span(tx: ReadTx<ClientRows>, table: 'outbox' | 'acked'): Promise<number> {
  const [[first], [last]] = await Promise.all([
    tx.scanKeys(table, { limit: 1 }),
    tx.scanKeys(table, { limit: 1, reverse: true }),
  ]);
  return first === undefined ? 0 : seqOf(last!) - seqOf(first) + 1;
}

function seqOf(key: StoreKey): number {
  return typeof key === 'number' ? key : Number(key);
}

function merge(a: readonly OutboxRow[], b: readonly OutboxRow[]): OutboxRow[] {
  const out: OutboxRow[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (j >= b.length || (i < a.length && a[i]!.clientSeq < b[j]!.clientSeq)) out.push(a[i++]!);
    else out.push(b[j++]!);
  }
  return out;
}
