import type { Dexie } from 'dexie';
import type { OutboxRow, RejectionInput } from './client-store.ts';
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
 * - 4: acked outbox rows move to a table of their own, `acked` (with the `acked.position` index),
 *   so that the rows still to push are one range of `outbox` however many acked rows linger.
 * - 5: `sent`, own events settled without coming back confirmed, in pages (kept for a hub
 *   restored from a backup, and for `loom.outcome`; bounded).
 */
export const SCHEMA_VERSION = 5;

/**
 * Declares every schema version of the database on `db`, with the upgrade from each to the next.
 * The last version's tables and indexes are `CLIENT_SCHEMA`'s, plus the reaction runtime's.
 */
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
  db.version(4)
    .stores({ outbox: 'clientSeq', acked: 'clientSeq, acked.position' })
    .upgrade(async (tx) => {
      const outbox = tx.table<OutboxRow, number>('outbox');
      const acked = await outbox.filter((row) => row.acked !== undefined).toArray();
      await tx.table('acked').bulkAdd(acked);
      await outbox.bulkDelete(acked.map((row) => row.clientSeq));
    });
  // A new table only: the rows settled before it are gone.
  db.version(5).stores({ sent: 'first' });
}

/** A row of the `rejected` table of schema version 1, moved to `deadLetters` by version 2. */
interface RejectedRowV1 extends RejectionInput {
  readonly event: OutboxRow['event'];
  readonly at: number;
}
