import type { CommittedEvent } from '@eventloom/protocol';
import type { Table } from 'dexie';
import { ClientError, ClientErrorCode } from './client-error.ts';
import type { AppendPendingResult, ClientMeta, OutboxRow, PendingBuild } from './client-store.ts';
import { META_KEY, sameMeta, toMeta, type MetaRow } from './dexie-schema.ts';
import { pendingRows } from './store-rows.ts';

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

/** What {@link appendOnGuess} throws when the meta moved under its guess: its transaction aborts. */
export const STALE_META = new ClientError(ClientErrorCode.internal, 'the meta moved since it was last seen');

/**
 * A plain append (no key, nothing replaced) that does not wait for the meta: the rows and the new
 * meta are built on `guess`, the meta the store last saw, and written at once, while the meta is
 * read in the same transaction. IndexedDB runs a transaction's requests in order, so the read sees
 * the state before the writes; if another tab or instance moved the meta since, it throws
 * {@link STALE_META} and the transaction aborts with nothing stored. Saves a round trip per append.
 */
export async function appendOnGuess(
  metaTable: Table<MetaRow, string>,
  outbox: Table<OutboxRow, number>,
  guess: ClientMeta,
  build: (meta: ClientMeta) => PendingBuild,
  putMeta: (meta: ClientMeta) => Promise<unknown>,
): Promise<AppendPendingResult> {
  const read = metaTable.get(META_KEY);
  // A failing build aborts the transaction: the read's failure is that one.
  void read.catch(() => undefined);
  const { meta, rows } = pendingRows(guess, build(guess), []);
  const writes = rows.length === 0 ? Promise.resolve() : Promise.all([outbox.bulkAdd(rows), putMeta(meta)]);
  // Aborting fails the writes too: that is the point, not an error to report.
  void writes.catch(() => undefined);
  const row = await read;
  if (row === undefined || !sameMeta(toMeta(row), guess)) throw STALE_META;
  await writes;
  return { before: guess, meta, rows, replaced: [] };
}
