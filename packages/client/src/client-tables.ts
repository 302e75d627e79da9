import type { ClientMeta, DeadLetterRow, OutboxRow, SnapshotRow } from './client-store.ts';
import type { CommittedEvent } from '@eventloom/protocol';
import type { StoreSchema } from './store-backend.ts';

/**
 * The tables of a client database, the same on every backend (IndexedDB, memory, SQLite):
 *
 * - `meta`: one row, the {@link ClientMeta}, rewritten in every transaction that moves it.
 * - `outbox`: the pending events not acked yet, keyed by `clientSeq`: the sync engine pushes from it
 *   in clientSeq order, and `flushed()` asks whether it is empty, without stepping over acked rows.
 * - `acked`: the pending events the hub acked, keyed by `clientSeq` too, and indexed by
 *   `acked.position` to settle those the log's position passed. A row moves from `outbox` to
 *   `acked` with its ack; the two together are the outbox of {@link ClientStore}.
 * - `sent`: own events the hub acked that left the outbox without coming back confirmed (settled:
 *   the log does not hold their stream), with their ack, in pages of up to 256 rows keyed by the
 *   first one's `clientSeq`, no index. Only the last `SENT_KEPT` seqs are kept (see
 *   `sent-pages.ts`): what a hub restored from a backup may lack, sent again by `realign`, and what
 *   `loom.outcome` reads once the row left.
 * - `events`: the confirmed log in pages (see `confirmed-pages.ts`), keyed by each page's first
 *   position, with a multi-entry index over the streams a page holds.
 * - `deadLetters` (indexed by handler: on IndexedDB the reaction runtime's letters share the
 *   table), `snapshots` (indexed by name), `appendKeys` (idempotency keys of appends, kept for good).
 */
export const CLIENT_SCHEMA = {
  meta: { key: 'key' },
  outbox: { key: 'clientSeq' },
  acked: { key: 'clientSeq', indexes: { 'acked.position': { path: 'acked.position' } } },
  sent: { key: 'first' },
  events: { key: 'first', indexes: { streams: { path: 'streams', multi: true } } },
  deadLetters: { key: 'id', indexes: { handler: { path: 'handler' } } },
  snapshots: { key: 'id', indexes: { name: { path: 'name' } } },
  appendKeys: { key: 'key' },
} as const satisfies StoreSchema;

/** The row type of each client table. */
export interface ClientRows {
  readonly meta: MetaRow;
  readonly outbox: OutboxRow;
  readonly acked: OutboxRow;
  readonly sent: SentPage;
  readonly events: PageRow;
  readonly deadLetters: DeadLetterRow;
  readonly snapshots: SnapshotRow;
  readonly appendKeys: AppendKeyRow;
}

/** A client table's name. */
export type ClientTable = keyof ClientRows;

/** The one row of the `meta` table: the {@link ClientMeta}, keyed by {@link META_KEY}. */
export interface MetaRow extends Omit<ClientMeta, 'hlc' | 'history' | 'subscriptions' | 'hubId'> {
  readonly key: typeof META_KEY;
  readonly hlc?: string;
  // Missing in rows written by IndexedDB schema version 1.
  readonly history?: number;
  readonly subscriptions?: readonly string[];
  readonly hubId?: string;
}

/** An idempotency key of an append (`appendPending`'s `key`), and when it was first used (ms). */
export interface AppendKeyRow {
  readonly key: string;
  readonly at: number;
}

/** The key of the one row of the `meta` table. */
export const META_KEY = 'client';

/** The {@link ClientMeta} a meta row holds (rows of schema version 1 have no `history`). */
export function toMeta(row: MetaRow): ClientMeta {
  return {
    clientId: row.clientId,
    clientSeq: row.clientSeq,
    hlc: row.hlc,
    position: row.position,
    epoch: row.epoch,
    history: row.history ?? 0,
    subscriptions: row.subscriptions,
    hubId: row.hubId,
  };
}

/** The meta row of a {@link ClientMeta}, leaving out fields that are undefined. */
export function toRow(meta: ClientMeta): MetaRow {
  const { hlc, subscriptions, hubId, ...rest } = meta;
  return {
    key: META_KEY,
    ...rest,
    ...(hlc === undefined ? {} : { hlc }),
    ...(subscriptions === undefined ? {} : { subscriptions: [...subscriptions] }),
    ...(hubId === undefined ? {} : { hubId }),
  };
}

/** Whether two metas are the same record. */
export function sameMeta(a: ClientMeta, b: ClientMeta): boolean {
  const [x, y] = [a.subscriptions, b.subscriptions];
  return (
    a.clientId === b.clientId &&
    a.clientSeq === b.clientSeq &&
    a.hlc === b.hlc &&
    a.position === b.position &&
    a.epoch === b.epoch &&
    a.history === b.history &&
    a.hubId === b.hubId &&
    (x === y ||
      (x !== undefined && y !== undefined && x.length === y.length && x.every((s, i) => s === y[i])))
  );
}

/** A random client id: 20 characters of [a-z0-9], about 103 bits. */
export function randomClientId(): string {
  const bytes = new Uint8Array(20);
  crypto.getRandomValues(bytes);
  let id = '';
  for (const b of bytes) id += ALPHABET[b % 36];
  return id;
}

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** Up to `PAGE_SIZE` (confirmed-pages.ts) consecutive confirmed events, keyed by the first one's position. */
export interface PageRow {
  readonly first: number;
  readonly last: number;
  /** The distinct streams of the page: one index entry per stream, not per event. */
  readonly streams: readonly string[];
  readonly events: readonly CommittedEvent[];
}

/** Consecutive settled outbox rows (in seq order, up to 256) of the `sent` table, keyed by the first one's seq. */
export interface SentPage {
  readonly first: number;
  readonly last: number;
  readonly rows: readonly OutboxRow[];
}
