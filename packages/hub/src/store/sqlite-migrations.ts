import { randomUUID } from 'node:crypto';
import type Database from 'better-sqlite3';
import { runSqliteMigrations, type SqliteMigration } from './run-sqlite-migrations.ts';

export type { SqliteMigration } from './run-sqlite-migrations.ts';

/**
 * The schema of the SQLite event store, oldest first. Append a step for every change and never
 * edit a released one: `PRAGMA user_version` says which steps a file has had.
 *
 * - `events`: the log. `position` is the rowid; `event` is the committed event as JSON text (what
 *   `read` returns), beside the columns that are queried or must be unique.
 * - `streams`: each stream's version. `clients`: each client's last decided seq and principal.
 * - `client_rejections` (from 2; 1 had `client_results`, a row for every decided seq): the refusal
 *   of each refused (client_id, client_seq), the answer a re-push gets. A committed seq needs no
 *   row: the event, found by its id, names its client and seq.
 * - `meta`: `hub_id`, the log's id.
 * - 5: `clients.epoch`, the fence of a client's sessions (`EventStore.claimClient`).
 * - 4: recorded `id-conflict` messages no longer name a position.
 * - 3: `clients.principal` holds `principalKey` (JSON `[iss, sub]`) instead of `iss|sub`.
 */
export const sqliteMigrations: readonly SqliteMigration[] = [
  {
    version: 1,
    name: 'event log',
    up(db) {
      db.exec(`
        CREATE TABLE meta (
          key TEXT PRIMARY KEY,
          value TEXT NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE events (
          position INTEGER PRIMARY KEY,
          id TEXT NOT NULL UNIQUE,
          stream TEXT NOT NULL,
          stream_version INTEGER NOT NULL CHECK (stream_version >= 1),
          event TEXT NOT NULL,
          UNIQUE (stream, stream_version)
        );
        CREATE TABLE streams (
          stream TEXT PRIMARY KEY,
          version INTEGER NOT NULL CHECK (version >= 1)
        ) WITHOUT ROWID;
        CREATE TABLE clients (
          client_id TEXT PRIMARY KEY,
          last_seq INTEGER NOT NULL CHECK (last_seq >= 0),
          principal TEXT
        ) WITHOUT ROWID;
        CREATE TABLE client_results (
          client_id TEXT NOT NULL,
          client_seq INTEGER NOT NULL,
          event_id TEXT NOT NULL,
          status TEXT NOT NULL CHECK (status IN ('ok', 'rejected')),
          position INTEGER,
          code TEXT,
          message TEXT,
          current_version INTEGER,
          PRIMARY KEY (client_id, client_seq),
          CHECK (status = 'ok' AND position IS NOT NULL AND code IS NULL
            OR status = 'rejected' AND position IS NULL AND code IS NOT NULL AND message IS NOT NULL)
        ) WITHOUT ROWID;
      `);
      db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)').run('hub_id', randomUUID());
    },
  },
  {
    version: 2,
    name: 'rejections only',
    up(db) {
      db.exec(`
        CREATE TABLE client_rejections (
          client_id TEXT NOT NULL,
          client_seq INTEGER NOT NULL,
          event_id TEXT NOT NULL,
          code TEXT NOT NULL,
          message TEXT NOT NULL,
          current_version INTEGER,
          PRIMARY KEY (client_id, client_seq)
        ) WITHOUT ROWID;
        INSERT INTO client_rejections (client_id, client_seq, event_id, code, message, current_version)
          SELECT client_id, client_seq, event_id, code, message, current_version
          FROM client_results WHERE status = 'rejected';
        DROP TABLE client_results;
      `);
    },
  },
  {
    // `iss|sub` collided ({ sub: 'a|b' } and { iss: 'a', sub: 'b' }): keys become JSON [iss, sub].
    // An old key with a '|' is read as `iss|sub` (an issuer holds no '|'; a `sub` may).
    version: 3,
    name: 'collision-free principal keys',
    up(db) {
      db.exec(`
        UPDATE clients SET principal = CASE
          WHEN instr(principal, '|') = 0 THEN json_array(NULL, principal)
          ELSE json_array(
            substr(principal, 1, instr(principal, '|') - 1),
            substr(principal, instr(principal, '|') + 1))
        END
        WHERE principal IS NOT NULL;
      `);
    },
  },
  {
    // A recorded id-conflict told where the other event was committed: say it without the position.
    version: 4,
    name: 'id-conflicts without positions',
    up(db) {
      db.exec(`
        UPDATE client_rejections
        SET message = 'event ' || event_id || ' was committed already with different content'
        WHERE code = 'id-conflict';
      `);
    },
  },
  {
    // Every `hello` of a known client moves its epoch up; an append of an older session is fenced.
    version: 5,
    name: 'client epochs',
    up(db) {
      db.exec(`ALTER TABLE clients ADD COLUMN epoch INTEGER NOT NULL DEFAULT 0 CHECK (epoch >= 0)`);
    },
  },
];

/** `PRAGMA application_id` of an Eventloom hub database ('Eloo'), so that a foreign file is refused. */
export const SQLITE_APPLICATION_ID = 0x456c6f6f;

/**
 * Brings `db` up to the last of `migrations` (see {@link runSqliteMigrations}), recording each step
 * in `schema_migrations` too, and returns the versions it went from and to.
 */
export function migrateSqlite(
  db: Database.Database,
  migrations: readonly SqliteMigration[] = sqliteMigrations,
): { readonly from: number; readonly to: number } {
  return runSqliteMigrations(db, {
    applicationId: SQLITE_APPLICATION_ID,
    title: 'hub database',
    migrations,
    record(db, migration) {
      db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
        version INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        applied_at TEXT NOT NULL
      )`);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(
        migration.version,
        migration.name,
        new Date().toISOString(),
      );
    },
  });
}
