import type Database from 'better-sqlite3';
import { HubError, HubErrorCode } from '../hub/hub-error.ts';

/**
 * One step of a SQLite schema. `version` n takes a database from n - 1 to n; `up` runs inside
 * the transaction that also records it, so a step is applied whole or not at all.
 */
export interface SqliteMigration {
  readonly version: number;
  readonly name: string;
  up(db: Database.Database): void;
}

/** A versioned SQLite schema of the hub: how its files are marked, and its steps, oldest first. */
export interface SqliteSchema {
  /** `PRAGMA application_id` of its files, so that a foreign file is refused. */
  readonly applicationId: number;
  /** What one of its files is, in refusals: "hub database" gives "not an Eventloom hub database". */
  readonly title: string;
  readonly migrations: readonly SqliteMigration[];
  /** Runs in each step's transaction after its `up` (the event log keeps a history of the steps). */
  readonly record?: (db: Database.Database, migration: SqliteMigration) => void;
}

/**
 * Brings `db` up to the last of `schema.migrations`, each step in its own immediate transaction,
 * and returns the versions it went from and to. `PRAGMA user_version` says which steps a file has
 * had. Refuses, with a {@link HubError} `store`, a file of another application and a file whose
 * schema is newer than these migrations know.
 */
export function runSqliteMigrations(
  db: Database.Database,
  schema: SqliteSchema,
): { readonly from: number; readonly to: number } {
  const { migrations } = schema;
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new HubError(HubErrorCode.internal, `migration ${m.name} is out of order`);
  });
  const latest = migrations.length;
  const from = checkVersion(db, schema);
  for (const migration of migrations.slice(from)) {
    db.transaction(() => {
      // Another process may have migrated between our check and this transaction's lock.
      const current = checkVersion(db, schema);
      if (current >= migration.version) return;
      if (current === 0) db.pragma(`application_id = ${schema.applicationId}`);
      migration.up(db);
      schema.record?.(db, migration);
      // PRAGMA takes no parameters; the version is one of our own integers, checked above.
      db.pragma(`user_version = ${migration.version}`);
    }).immediate();
  }
  return { from, to: Math.max(from, latest) };
}

/** The file's schema version, after checking that it is of `schema` and not newer than it knows. */
function checkVersion(db: Database.Database, schema: SqliteSchema): number {
  const latest = schema.migrations.length;
  const applicationId = db.pragma('application_id', { simple: true }) as number;
  const version = db.pragma('user_version', { simple: true }) as number;
  // A file without an application id is ours only while it is empty (a new file).
  const foreign =
    applicationId !== 0
      ? applicationId !== schema.applicationId
      : version !== 0 ||
        db.prepare("SELECT count(*) FROM sqlite_schema WHERE type = 'table'").pluck().get() !== 0;
  if (foreign) {
    throw new HubError(
      HubErrorCode.store,
      `${db.name} is not an Eventloom ${schema.title} (application_id ${applicationId}, user_version ${version})`,
    );
  }
  if (version > latest) {
    throw new HubError(
      HubErrorCode.store,
      `${db.name} has ${schema.title} schema version ${version}, newer than this @eventloom/hub knows ` +
        `(${latest}): upgrade the hub, or open a backup taken before the upgrade`,
    );
  }
  return version;
}
