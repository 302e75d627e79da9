import { randomUUID } from 'node:crypto';
import type { Sql, TransactionSql } from 'postgres';
import { HubError, HubErrorCode } from '../hub/hub-error.ts';

/**
 * One step of the Postgres schema. `version` n takes a database from n - 1 to n; `up` runs in the
 * transaction that also records it in `eventloom_migrations`, so a step is applied whole or not at all.
 */
export interface PostgresMigration {
  readonly version: number;
  readonly name: string;
  up(tx: TransactionSql): Promise<void>;
}

/**
 * The schema of the Postgres event store, oldest first. Append a step for every change and never
 * edit a released one. Every table is prefixed `eventloom_`, so the log can share a database.
 *
 * - `eventloom_events`: the log. `position` is assigned under the append lock (see
 *   `createPostgresStore`), gapless; `event` is the committed event as JSON text, exactly what
 *   `read` returns (text, not jsonb: jsonb would reorder keys and drop duplicate ones).
 * - `eventloom_streams`: each stream's version. `eventloom_clients`: each client's last decided
 *   seq and principal. `eventloom_rejections`: the refusal of each refused (client_id, client_seq).
 * - `eventloom_meta`: `hub_id`, the log's id, shared by every node of a cluster.
 * - 2: `eventloom_clients.epoch`, the fence of a client's sessions (`EventStore.claimClient`),
 *   moved and read under the append lock on every node.
 */
export const postgresMigrations: readonly PostgresMigration[] = [
  {
    version: 1,
    name: 'event log',
    async up(tx) {
      await tx.unsafe(`
        CREATE TABLE eventloom_meta (
          key text PRIMARY KEY,
          value text NOT NULL
        );
        CREATE TABLE eventloom_events (
          position bigint PRIMARY KEY CHECK (position >= 1),
          id text NOT NULL UNIQUE,
          stream text NOT NULL,
          stream_version integer NOT NULL CHECK (stream_version >= 1),
          event text NOT NULL,
          UNIQUE (stream, stream_version)
        );
        CREATE TABLE eventloom_streams (
          stream text PRIMARY KEY,
          version integer NOT NULL CHECK (version >= 1)
        );
        CREATE TABLE eventloom_clients (
          client_id text PRIMARY KEY,
          last_seq bigint NOT NULL CHECK (last_seq >= 0),
          principal text
        );
        CREATE TABLE eventloom_rejections (
          client_id text NOT NULL,
          client_seq bigint NOT NULL,
          event_id text NOT NULL,
          code text NOT NULL,
          message text NOT NULL,
          current_version integer,
          PRIMARY KEY (client_id, client_seq)
        );
      `);
      await tx`INSERT INTO eventloom_meta (key, value) VALUES ('hub_id', ${randomUUID()})`;
    },
  },
  {
    version: 2,
    name: 'client epochs',
    async up(tx) {
      await tx.unsafe(
        'ALTER TABLE eventloom_clients ADD COLUMN epoch integer NOT NULL DEFAULT 0 CHECK (epoch >= 0)',
      );
    },
  },
];

/**
 * The advisory lock key of migrations (any 64-bit number of ours): nodes that start together
 * migrate one after the other, and the later ones find the schema current.
 */
const MIGRATION_LOCK = 0x456c6f6f_0001n;

/**
 * Brings the database up to the last of `migrations`, in one transaction under an advisory lock,
 * and returns the versions it went from and to. Refuses, with a {@link HubError} `store`, a
 * database whose schema is newer than these migrations know.
 */
export async function migratePostgres(
  sql: Sql,
  migrations: readonly PostgresMigration[] = postgresMigrations,
): Promise<{ readonly from: number; readonly to: number }> {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new HubError(HubErrorCode.internal, `migration ${m.name} is out of order`);
  });
  const latest = migrations.length;
  return sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK.toString()}::bigint)`;
    await tx.unsafe(`CREATE TABLE IF NOT EXISTS eventloom_migrations (
      version integer PRIMARY KEY,
      name text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const [row] = await tx<{ version: number }[]>`
      SELECT coalesce(max(version), 0)::int AS version FROM eventloom_migrations`;
    const from = row?.version ?? 0;
    if (from > latest) {
      throw new HubError(
        HubErrorCode.store,
        `the Postgres event log has schema version ${from}, newer than ${latest}, the newest this hub knows: upgrade the hub`,
      );
    }
    for (const migration of migrations.slice(from)) {
      await migration.up(tx);
      await tx`INSERT INTO eventloom_migrations (version, name) VALUES (${migration.version}, ${migration.name})`;
    }
    return { from, to: latest };
  });
}
