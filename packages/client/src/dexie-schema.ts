import type { Dexie } from 'dexie';
import type { ClientMeta, OutboxRow, RejectionInput } from './client-store.ts';
import { deadLetterOf } from './store-rows.ts';

/**
 * The IndexedDB schema version this code writes (Dexie's version; IndexedDB sees it × 10).
 *
 * History:
 * - 1: meta, events (pages), outbox, rejected, snapshots.
 * - 2: `rejected` becomes `deadLetters` (rows copied over); the outbox gets an index on
 *   `acked.position`, to settle acked rows of streams the log does not hold.
 * - 3: the reaction runtime's tables (`checkpoints`, `applied`, `sagas`, `timeouts`,
 *   `reactionOutbox`; its dead letters share `deadLetters`), and `appendKeys`, the idempotency
 *   keys of appends.
 */
export const SCHEMA_VERSION = 3;

/** Declares every schema version of the database on `db`, with the upgrade from each to the next. */
export function defineSchema(db: Dexie): void {
  db.version(1).stores({
    meta: 'key',
    events: 'first, *streams',
    outbox: 'clientSeq',
    rejected: 'clientSeq',
    snapshots: 'id, name',
  });
  db.version(2)
    .stores({ outbox: 'clientSeq, acked.position', rejected: null, deadLetters: 'id, handler' })
    .upgrade(async (tx) => {
      const rejected = (await tx.table('rejected').toArray()) as RejectedRowV1[];
      await tx
        .table('deadLetters')
        .bulkAdd(rejected.map((r) => deadLetterOf({ clientSeq: r.clientSeq, event: r.event }, r, r.at)));
    });
  // New tables only: nothing to copy.
  db.version(3).stores({
    appendKeys: 'key',
    checkpoints: 'consumer',
    applied: 'id',
    sagas: 'id, saga',
    timeouts: 'id',
    reactionOutbox: '++seq, &id',
  });
}

/** The one row of the `meta` table: the {@link ClientMeta}, keyed by {@link META_KEY}. */
export interface MetaRow extends Omit<ClientMeta, 'hlc' | 'history' | 'subscriptions' | 'hubId'> {
  readonly key: typeof META_KEY;
  readonly hlc?: string;
  // Missing in rows written by schema version 1.
  readonly history?: number;
  readonly subscriptions?: readonly string[];
  readonly hubId?: string;
}

/** A row of the `rejected` table of schema version 1, moved to `deadLetters` by version 2. */
interface RejectedRowV1 extends RejectionInput {
  readonly event: OutboxRow['event'];
  readonly at: number;
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
