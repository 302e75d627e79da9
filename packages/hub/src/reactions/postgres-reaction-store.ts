import {
  CoreError,
  CoreErrorCode,
  type ReactionStore,
  type ReactionTable,
  type ReactionTransaction,
  type SagaStatus,
} from '@eventloom/core';
import type { Sql } from 'postgres';
import { HubError, HubErrorCode } from '../hub/hub-error.ts';
import {
  FENCE_FUNCTION,
  FENCE_SQLSTATE,
  PgTransaction,
  type Fence,
} from './postgres-reaction-transaction.ts';
import type { SagaCount } from './sqlite-reaction-store.ts';

/** Options of {@link createPostgresReactionStore}. */
export interface PostgresReactionStoreOptions {
  /** `postgres://user:password@host:5432/database`: the log's database, as a rule. */
  readonly url: string;
  /** The schema of the tables (created if missing; default the connection's `search_path`). */
  readonly schema?: string;
  /** Connections in the pool (default 4: transactions of one store run one at a time). */
  readonly poolSize?: number;
}

/** A {@link ReactionStore} on Postgres; see {@link createPostgresReactionStore}. */
export interface PostgresReactionStore extends ReactionStore {
  /** Saga instances counted by saga and status. */
  sagaCounts(): Promise<SagaCount[]>;
  /**
   * The same store whose every transaction first checks, under a share lock on the lease row,
   * that lease `name` is still at `epoch`, and fails with `CoreError` `conflict` otherwise: the
   * fencing of a reaction runner that lost its lock (see `runReactionsOnce`).
   */
  fenced(name: string, epoch: number): ReactionStore;
  /** Takes lease `name` for `holder`: bumps and returns its epoch (fencing every earlier holder). */
  takeLease(name: string, holder: string): Promise<number>;
  /** The driver's pool (for a leadership connection of its own). */
  readonly sql: Sql;
  /** Waits for the transaction in progress, then closes the pool. */
  close(): Promise<void>;
}

/**
 * Opens (creating its tables if missing) a reaction store in a Postgres database: checkpoints,
 * applied ledger, dead letters, saga instances, timeouts and the outbox, each transaction one
 * Postgres transaction, run one at a time per store (as on SQLite); one that only writes, as a
 * checkpoint does, is one round trip. Several nodes share it; only the node that holds the
 * reactions' lock writes, and `fenced` makes sure of it.
 *
 * @example
 * import { createPostgresReactionStore } from '@eventloom/hub/postgres';
 * const reactionStore = await createPostgresReactionStore({ url: process.env.DATABASE_URL! });
 */
export async function createPostgresReactionStore(
  options: PostgresReactionStoreOptions,
): Promise<PostgresReactionStore> {
  const { schema } = options;
  if (schema !== undefined && !/^[a-z_][a-z0-9_]{0,47}$/.test(schema)) {
    throw new HubError(
      HubErrorCode.config,
      `schema must be a lower-case SQL name, got ${JSON.stringify(schema)}`,
    );
  }
  let postgres: typeof import('postgres').default;
  try {
    postgres = (await import('postgres')).default;
  } catch (cause) {
    throw new HubError(HubErrorCode.config, 'the Postgres reaction store needs the `postgres` package', {
      cause,
    });
  }
  const sql = postgres(options.url, {
    max: options.poolSize ?? 4,
    onnotice: () => undefined,
    connection:
      schema === undefined
        ? { application_name: 'eventloom-reactions' }
        : { application_name: 'eventloom-reactions', search_path: schema },
  });
  try {
    if (schema !== undefined) await sql.unsafe(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    await sql.begin(async (tx) => {
      // Nodes that start together create the tables one after the other.
      await tx`SELECT pg_advisory_xact_lock(${String(SCHEMA_LOCK)}::bigint)`;
      await tx.unsafe(SCHEMA);
      await tx.unsafe(FENCE_FUNCTION);
    });
  } catch (cause) {
    await sql.end({ timeout: 1 }).catch(() => undefined);
    throw new HubError(HubErrorCode.store, `reaction store: ${String(cause)}`, { cause });
  }
  return new PgStore(sql);
}

/** The advisory lock key of the schema creation ('Eloo' then 0x10). */
const SCHEMA_LOCK = 0x456c6f6f_0010n;

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS eventloom_reaction_checkpoints (
    consumer text PRIMARY KEY,
    position bigint NOT NULL CHECK (position >= 0),
    recent_ids text NOT NULL
  );
  CREATE TABLE IF NOT EXISTS eventloom_reaction_applied (
    consumer text NOT NULL,
    event_id text NOT NULL,
    PRIMARY KEY (consumer, event_id)
  );
  CREATE TABLE IF NOT EXISTS eventloom_reaction_dead_letters (
    id text PRIMARY KEY,
    first_failed_at text NOT NULL,
    letter text NOT NULL
  );
  CREATE INDEX IF NOT EXISTS eventloom_reaction_dead_letters_by_first_failure
    ON eventloom_reaction_dead_letters (first_failed_at, id);
  CREATE TABLE IF NOT EXISTS eventloom_reaction_sagas (
    id text PRIMARY KEY,
    saga text NOT NULL,
    status text NOT NULL,
    instance text NOT NULL
  );
  CREATE INDEX IF NOT EXISTS eventloom_reaction_sagas_by_status ON eventloom_reaction_sagas (saga, status, id);
  CREATE TABLE IF NOT EXISTS eventloom_reaction_timeouts (
    id text PRIMARY KEY,
    saga text NOT NULL,
    instance text NOT NULL,
    due_at bigint NOT NULL,
    record text NOT NULL
  );
  CREATE INDEX IF NOT EXISTS eventloom_reaction_timeouts_by_due ON eventloom_reaction_timeouts (due_at, id);
  CREATE TABLE IF NOT EXISTS eventloom_reaction_outbox (
    seq bigserial PRIMARY KEY,
    id text NOT NULL UNIQUE,
    message text NOT NULL
  );
  CREATE TABLE IF NOT EXISTS eventloom_reaction_leases (
    name text PRIMARY KEY,
    epoch bigint NOT NULL,
    holder text NOT NULL,
    taken_at timestamptz NOT NULL DEFAULT now()
  );
  -- A checkpoint's dedupe window (256 ids: some 10 kB of JSON) is compressed at each checkpoint;
  -- lz4 does it in a third of pglz's time (the default). Before PostgreSQL 14, or on a server
  -- built without lz4 (checked first: the ALTER takes a strong lock), the column keeps the
  -- default; so it does when that lock is not had within 2 s (a node's writes hold it), left for
  -- a later start.
  DO $lz4$
  DECLARE
    waited text := current_setting('lock_timeout');
  BEGIN
    IF EXISTS (SELECT 1 FROM pg_settings
                WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals))
       AND (SELECT attcompression FROM pg_attribute
             WHERE attrelid = 'eventloom_reaction_checkpoints'::regclass AND attname = 'recent_ids') <> 'l' THEN
      PERFORM set_config('lock_timeout', '2s', true);
      EXECUTE 'ALTER TABLE eventloom_reaction_checkpoints ALTER COLUMN recent_ids SET COMPRESSION lz4';
      PERFORM set_config('lock_timeout', waited, true);
    END IF;
  EXCEPTION WHEN undefined_column OR feature_not_supported OR syntax_error OR lock_not_available THEN
    NULL;
  END
  $lz4$;
`;

class PgStore implements PostgresReactionStore {
  readonly sql: Sql;
  readonly #listeners = new Set<(tables: ReadonlySet<ReactionTable>) => void>();
  /** The tail of the serial queue: transactions of one store run one at a time. */
  #lock: Promise<void> = Promise.resolve();
  #closed = false;
  #closing: Promise<void> | undefined;

  constructor(sql: Sql) {
    this.sql = sql;
  }

  transaction<T>(fn: (tx: ReactionTransaction) => Promise<T>): Promise<T> {
    return this.#run(undefined, fn);
  }

  fenced(name: string, epoch: number): ReactionStore {
    return {
      transaction: (fn) => this.#run({ name, epoch }, fn),
      watch: (listener) => this.watch(listener),
    };
  }

  async takeLease(name: string, holder: string): Promise<number> {
    const [row] = await this.sql<{ epoch: string }[]>`
      INSERT INTO eventloom_reaction_leases (name, epoch, holder) VALUES (${name}, 1, ${holder})
      ON CONFLICT (name) DO UPDATE SET epoch = eventloom_reaction_leases.epoch + 1, holder = ${holder}, taken_at = now()
      RETURNING epoch`;
    return Number(row!.epoch);
  }

  watch(listener: (tables: ReadonlySet<ReactionTable>) => void): () => void {
    const wrapped = (tables: ReadonlySet<ReactionTable>) => listener(tables);
    this.#listeners.add(wrapped);
    return () => {
      this.#listeners.delete(wrapped);
    };
  }

  async sagaCounts(): Promise<SagaCount[]> {
    const rows = await this.sql<{ saga: string; status: SagaStatus; count: string }[]>`
      SELECT saga, status, count(*) AS count FROM eventloom_reaction_sagas GROUP BY saga, status ORDER BY saga, status`;
    return rows.map((r) => ({ saga: r.saga, status: r.status, count: Number(r.count) }));
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#closed = true;
      await this.#lock;
      await this.sql.end({ timeout: 5 });
    })();
    return this.#closing;
  }

  #run<T>(fence: Fence | undefined, fn: (tx: ReactionTransaction) => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(closedError());
    const run = this.#lock.then(async () => {
      if (this.#closed) throw closedError();
      const tx = new PgTransaction(this.sql, fence);
      let result: T;
      try {
        result = await tx.run(fn);
      } catch (error) {
        if (error instanceof CoreError) throw error;
        if (fence !== undefined && (error as { code?: unknown } | null)?.code === FENCE_SQLSTATE) {
          throw new CoreError(
            CoreErrorCode.conflict,
            `reactions: the lock ${fence.name} moved on (${(error as Error).message}; this node had epoch ${fence.epoch}): it no longer writes`,
          );
        }
        if (this.#closed) throw closedError();
        throw new HubError(HubErrorCode.store, `reaction store: ${String(error)}`, { cause: error });
      }
      if (tx.touched.size > 0) {
        for (const listener of this.#listeners) {
          try {
            listener(tx.touched);
          } catch {
            // A listener's failure is its own: the transaction has committed.
          }
        }
      }
      return result;
    });
    this.#lock = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }
}

function closedError(): CoreError {
  return new CoreError(CoreErrorCode.storeClosed, 'the reaction store is closed');
}
