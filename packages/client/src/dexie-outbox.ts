import type { CommittedEvent } from '@eventloom/protocol';
import type { Table } from 'dexie';
import type { OutboxRow } from './client-store.ts';

// Reads and removals of `DexieClientStore`'s outbox, run inside the caller's transaction.

/** Reads outbox rows in clientSeq order: after a seq, unacked only, up to a limit. */
export async function readPending(
  outbox: Table<OutboxRow, number>,
  query: {
    readonly afterSeq?: number;
    readonly limit?: number;
    readonly unackedOnly?: boolean;
  },
): Promise<OutboxRow[]> {
  let collection = outbox.where('clientSeq').above(query.afterSeq ?? 0);
  if (query.unackedOnly) collection = collection.and((row) => row.acked === undefined);
  if (query.limit !== undefined) collection = collection.limit(query.limit);
  return collection.toArray();
}

/** Removes and returns the outbox rows these confirmed events stand for: same client, same seq, same id. */
export async function removeConfirmed(
  outbox: Table<OutboxRow, number>,
  fresh: readonly CommittedEvent[],
  clientId: string,
): Promise<OutboxRow[]> {
  const mine = fresh.filter((e) => e.clientId === clientId);
  if (mine.length === 0) return [];
  const rows = await outbox.bulkGet(mine.map((e) => e.clientSeq));
  const removed = rows.filter(
    (row, i): row is OutboxRow => row !== undefined && row.event.id === mine[i]!.id,
  );
  if (removed.length > 0) await outbox.bulkDelete(removed.map((r) => r.clientSeq));
  return removed;
}
