import type Database from 'better-sqlite3';
import { HubFailure, HubFailureCode } from '../hub/hub-failure.ts';

/** One step of the reaction store's schema: `version` n takes a file from n - 1 to n, in one transaction. */
export interface ReactionMigration {
  readonly version: number;
  readonly name: string;
  up(db: Database.Database): void;
}

/**
 * The schema of the SQLite reaction store, oldest first. Append a step for every change and never
 * edit a released one: `PRAGMA user_version` says which steps a file has had.
 *
 * - `checkpoints`: each handler's or saga's position and dedupe window (JSON array).
 * - `applied`: (consumer, event id) applied by a dead-letter retry or replay.
 * - `dead_letters`, `sagas`, `timeouts`: the row as JSON, beside the columns it is listed by.
 * - `outbox`: emitted messages in enqueue order (the rowid), unique by message id.
 */
export const reactionMigrations: readonly ReactionMigration[] = [
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
 * Brings `db` up to the last migration, each step in its own immediate transaction. Refuses, with a
 * {@link HubFailure} `store`, a file of another application (the event log's file included) and a
 * file whose schema is newer than these migrations know.
 */
export function migrateReactionStore(
  db: Database.Database,
  migrations: readonly ReactionMigration[] = reactionMigrations,
): void {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1)
      throw new HubFailure(HubFailureCode.internal, `migration ${m.name} is out of order`);
  });
  const latest = migrations.length;
  const from = checkVersion(db, latest);
  for (const migration of migrations.slice(from)) {
    db.transaction(() => {
      // Another process may have migrated between our check and this transaction's lock.
      const current = checkVersion(db, latest);
      if (current >= migration.version) return;
      if (current === 0) db.pragma(`application_id = ${REACTION_APPLICATION_ID}`);
      migration.up(db);
      // PRAGMA takes no parameters; the version is one of our own integers, checked above.
      db.pragma(`user_version = ${migration.version}`);
    }).immediate();
  }
}

function checkVersion(db: Database.Database, latest: number): number {
  const applicationId = db.pragma('application_id', { simple: true }) as number;
  const version = db.pragma('user_version', { simple: true }) as number;
  const foreign =
    applicationId !== 0
      ? applicationId !== REACTION_APPLICATION_ID
      : version !== 0 ||
        db.prepare("SELECT count(*) FROM sqlite_schema WHERE type = 'table'").pluck().get() !== 0;
  if (foreign) {
    throw new HubFailure(
      HubFailureCode.store,
      `${db.name} is not an Eventloom reaction store (application_id ${applicationId}, user_version ${version})`,
    );
  }
  if (version > latest) {
    throw new HubFailure(
      HubFailureCode.store,
      `${db.name} has reaction schema version ${version}, newer than this @eventloom/hub knows (${latest})`,
    );
  }
  return version;
}
