import type Database from 'better-sqlite3';
import { runSqliteMigrations, type SqliteMigration } from '../store/run-sqlite-migrations.ts';

/**
 * The schema of the SQLite reaction store, oldest first. Append a step for every change and never
 * edit a released one: `PRAGMA user_version` says which steps a file has had.
 *
 * - `checkpoints`: each handler's or saga's position and dedupe window (JSON array).
 * - `applied`: (consumer, event id) applied by a dead-letter retry or replay.
 * - `dead_letters`, `sagas`, `timeouts`: the row as JSON, beside the columns it is listed by.
 * - `outbox`: emitted messages in enqueue order (the rowid), unique by message id.
 */
export const reactionMigrations: readonly SqliteMigration[] = [
  {
    version: 1,
    name: 'reaction runtime',
    up(db) {
      db.exec(`
        CREATE TABLE checkpoints (
          consumer TEXT PRIMARY KEY,
          position INTEGER NOT NULL CHECK (position >= 0),
          recent_ids TEXT NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE applied (
          consumer TEXT NOT NULL,
          event_id TEXT NOT NULL,
          PRIMARY KEY (consumer, event_id)
        ) WITHOUT ROWID;
        CREATE TABLE dead_letters (
          id TEXT PRIMARY KEY,
          first_failed_at TEXT NOT NULL,
          letter TEXT NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX dead_letters_by_first_failure ON dead_letters (first_failed_at, id);
        CREATE TABLE sagas (
          id TEXT PRIMARY KEY,
          saga TEXT NOT NULL,
          status TEXT NOT NULL,
          instance TEXT NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX sagas_by_saga_status ON sagas (saga, status, id);
        CREATE TABLE timeouts (
          id TEXT PRIMARY KEY,
          saga TEXT NOT NULL,
          instance TEXT NOT NULL,
          due_at INTEGER NOT NULL,
          record TEXT NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX timeouts_by_due ON timeouts (due_at, id);
        CREATE TABLE outbox (
          seq INTEGER PRIMARY KEY,
          id TEXT NOT NULL UNIQUE,
          message TEXT NOT NULL
        );
      `);
    },
  },
];

/** `PRAGMA application_id` of an Eventloom reaction store ('Elrx'), so that a foreign file is refused. */
export const REACTION_APPLICATION_ID = 0x456c7278;

/**
 * Brings `db` up to the last migration (see {@link runSqliteMigrations}). Refuses, with a
 * `HubError` `store`, a file of another application (the event log's file included) and a
 * file whose schema is newer than these migrations know.
 */
export function migrateReactionStore(
  db: Database.Database,
  migrations: readonly SqliteMigration[] = reactionMigrations,
): void {
  runSqliteMigrations(db, { applicationId: REACTION_APPLICATION_ID, title: 'reaction store', migrations });
}
