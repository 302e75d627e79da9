import {
  CoreError,
  CoreErrorCode,
  type Checkpoint,
  type DeadLetter,
  type OutboxMessage,
  type ReactionStore,
  type ReactionTable,
  type ReactionTransaction,
  type SagaInstance,
  type SagaStatus,
  type SagaTimeoutRecord,
} from '@eventloom/core';
import type { Sql, TransactionSql } from 'postgres';
import { HubError, HubErrorCode } from '../hub/hub-error.ts';
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
 * Postgres transaction, run one at a time per store (as on SQLite). Several nodes share it; only
 * the node that holds the reactions' lock writes, and `fenced` makes sure of it.
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

  #run<T>(
    fence: { readonly name: string; readonly epoch: number } | undefined,
    fn: (tx: ReactionTransaction) => Promise<T>,
  ): Promise<T> {
    if (this.#closed) return Promise.reject(closedError());
    const run = this.#lock.then(async () => {
      if (this.#closed) throw closedError();
      let pgTx: PgTransaction | undefined;
      let result: T;
      try {
        result = (await this.sql.begin(async (tx) => {
          if (fence !== undefined) {
            // FOR SHARE: a new leader's epoch bump waits for this transaction, and later ones see it.
            const [lease] = await tx<{ epoch: string; holder: string }[]>`
              SELECT epoch, holder FROM eventloom_reaction_leases WHERE name = ${fence.name} FOR SHARE`;
            if (lease === undefined || Number(lease.epoch) !== fence.epoch) {
              throw new CoreError(
                CoreErrorCode.conflict,
                `reactions: the lock ${fence.name} moved on (epoch ${lease?.epoch ?? 'none'}, held by ${lease?.holder ?? 'nobody'}; this node had epoch ${fence.epoch}): it no longer writes`,
              );
            }
          }
          pgTx = new PgTransaction(tx);
          try {
            return await fn(pgTx);
          } finally {
            pgTx.end();
          }
        })) as T;
      } catch (error) {
        if (error instanceof CoreError) throw error;
        if (this.#closed) throw closedError();
        throw new HubError(HubErrorCode.store, `reaction store: ${String(error)}`, { cause: error });
      }
      if (pgTx !== undefined && pgTx.touched.size > 0) {
        for (const listener of this.#listeners) {
          try {
            listener(pgTx.touched);
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

class PgTransaction implements ReactionTransaction {
  readonly touched = new Set<ReactionTable>();
  readonly #tx: TransactionSql;
  #ended = false;

  constructor(tx: TransactionSql) {
    this.#tx = tx;
  }

  end(): void {
    this.#ended = true;
  }

  async getCheckpoint(consumer: string): Promise<Checkpoint | undefined> {
    const [row] = await this.#open()<{ position: string; recent_ids: string }[]>`
      SELECT position, recent_ids FROM eventloom_reaction_checkpoints WHERE consumer = ${consumer}`;
    return row && { position: Number(row.position), recentIds: JSON.parse(row.recent_ids) as string[] };
  }

  async putCheckpoint(consumer: string, checkpoint: Checkpoint): Promise<void> {
    await this.#open()`
      INSERT INTO eventloom_reaction_checkpoints (consumer, position, recent_ids)
      VALUES (${consumer}, ${checkpoint.position}, ${json(checkpoint.recentIds)})
      ON CONFLICT (consumer) DO UPDATE SET position = EXCLUDED.position, recent_ids = EXCLUDED.recent_ids`;
    this.touched.add('checkpoints');
  }

  async hasApplied(consumer: string, eventId: string): Promise<boolean> {
    const rows = await this.#open()`
      SELECT 1 FROM eventloom_reaction_applied WHERE consumer = ${consumer} AND event_id = ${eventId}`;
    return rows.length > 0;
  }

  async putApplied(consumer: string, eventId: string): Promise<void> {
    await this.#open()`
      INSERT INTO eventloom_reaction_applied (consumer, event_id) VALUES (${consumer}, ${eventId})
      ON CONFLICT DO NOTHING`;
    this.touched.add('applied');
  }

  async getDeadLetter(id: string): Promise<DeadLetter | undefined> {
    const [row] = await this.#open()<{ letter: string }[]>`
      SELECT letter FROM eventloom_reaction_dead_letters WHERE id = ${id}`;
    return row && (JSON.parse(row.letter) as DeadLetter);
  }

  async listDeadLetters(): Promise<DeadLetter[]> {
    const rows = await this.#open()<{ letter: string }[]>`
      SELECT letter FROM eventloom_reaction_dead_letters ORDER BY first_failed_at COLLATE "C", id COLLATE "C"`;
    return rows.map((r) => JSON.parse(r.letter) as DeadLetter);
  }

  async countDeadLetters(): Promise<number> {
    const [row] = await this.#open()<
      { count: string }[]
    >`SELECT count(*) AS count FROM eventloom_reaction_dead_letters`;
    return Number(row?.count ?? 0);
  }

  async putDeadLetter(letter: DeadLetter): Promise<void> {
    await this.#open()`
      INSERT INTO eventloom_reaction_dead_letters (id, first_failed_at, letter)
      VALUES (${letter.id}, ${letter.firstFailedAt}, ${json(letter)})
      ON CONFLICT (id) DO UPDATE SET first_failed_at = EXCLUDED.first_failed_at, letter = EXCLUDED.letter`;
    this.touched.add('deadLetters');
  }

  async deleteDeadLetter(id: string): Promise<boolean> {
    const result = await this.#open()`DELETE FROM eventloom_reaction_dead_letters WHERE id = ${id}`;
    if (result.count > 0) this.touched.add('deadLetters');
    return result.count > 0;
  }

  async getSaga(id: string): Promise<SagaInstance | undefined> {
    const [row] = await this.#open()<{ instance: string }[]>`
      SELECT instance FROM eventloom_reaction_sagas WHERE id = ${id}`;
    return row && (JSON.parse(row.instance) as SagaInstance);
  }

  async listSagas(
    query: { readonly saga?: string; readonly status?: SagaStatus } = {},
  ): Promise<SagaInstance[]> {
    const saga = query.saga ?? null;
    const status = query.status ?? null;
    const rows = await this.#open()<{ instance: string }[]>`
      SELECT instance FROM eventloom_reaction_sagas
       WHERE (${saga}::text IS NULL OR saga = ${saga}::text) AND (${status}::text IS NULL OR status = ${status}::text)
       ORDER BY id COLLATE "C"`;
    return rows.map((r) => JSON.parse(r.instance) as SagaInstance);
  }

  async putSaga(instance: SagaInstance): Promise<void> {
    await this.#open()`
      INSERT INTO eventloom_reaction_sagas (id, saga, status, instance)
      VALUES (${instance.id}, ${instance.saga}, ${instance.status}, ${json(instance)})
      ON CONFLICT (id) DO UPDATE SET saga = EXCLUDED.saga, status = EXCLUDED.status, instance = EXCLUDED.instance`;
    this.touched.add('sagas');
  }

  async getTimeout(id: string): Promise<SagaTimeoutRecord | undefined> {
    const [row] = await this.#open()<{ record: string }[]>`
      SELECT record FROM eventloom_reaction_timeouts WHERE id = ${id}`;
    return row && (JSON.parse(row.record) as SagaTimeoutRecord);
  }

  async listTimeouts(
    query: { readonly saga?: string; readonly instance?: string } = {},
  ): Promise<SagaTimeoutRecord[]> {
    const saga = query.saga ?? null;
    const instance = query.instance ?? null;
    const rows = await this.#open()<{ record: string }[]>`
      SELECT record FROM eventloom_reaction_timeouts
       WHERE (${saga}::text IS NULL OR saga = ${saga}::text) AND (${instance}::text IS NULL OR instance = ${instance}::text)
       ORDER BY due_at, id COLLATE "C"`;
    return rows.map((r) => JSON.parse(r.record) as SagaTimeoutRecord);
  }

  async putTimeout(timeout: SagaTimeoutRecord): Promise<void> {
    await this.#open()`
      INSERT INTO eventloom_reaction_timeouts (id, saga, instance, due_at, record)
      VALUES (${timeout.id}, ${timeout.saga}, ${timeout.instance}, ${timeout.dueAt}, ${json(timeout)})
      ON CONFLICT (id) DO UPDATE SET saga = EXCLUDED.saga, instance = EXCLUDED.instance,
        due_at = EXCLUDED.due_at, record = EXCLUDED.record`;
    this.touched.add('timeouts');
  }

  async deleteTimeout(id: string): Promise<boolean> {
    const result = await this.#open()`DELETE FROM eventloom_reaction_timeouts WHERE id = ${id}`;
    if (result.count > 0) this.touched.add('timeouts');
    return result.count > 0;
  }

  async enqueue(messages: readonly OutboxMessage[]): Promise<void> {
    if (messages.length === 0) return;
    const ids = messages.map((m) => m.id);
    const texts = messages.map((m) => json(m));
    // One statement, in the given order (WITH ORDINALITY): the sequence numbers follow it.
    const result = await this.#open()`
      INSERT INTO eventloom_reaction_outbox (id, message)
      SELECT id, message FROM unnest(${ids}::text[], ${texts}::text[]) WITH ORDINALITY AS m(id, message, n)
       ORDER BY n
      ON CONFLICT (id) DO NOTHING`;
    if (result.count > 0) this.touched.add('outbox');
  }

  async readOutbox(limit?: number): Promise<OutboxMessage[]> {
    const n = limit === undefined ? null : Math.max(0, Math.floor(limit));
    const rows = await this.#open()<{ message: string }[]>`
      SELECT message FROM eventloom_reaction_outbox ORDER BY seq LIMIT ${n}`;
    return rows.map((r) => JSON.parse(r.message) as OutboxMessage);
  }

  async deleteOutbox(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    const result =
      await this.#open()`DELETE FROM eventloom_reaction_outbox WHERE id = ANY(${[...ids]}::text[])`;
    if (result.count > 0) this.touched.add('outbox');
  }

  #open(): TransactionSql {
    if (this.#ended) {
      throw new CoreError(CoreErrorCode.invalidState, 'the reaction store transaction has ended');
    }
    return this.#tx;
  }
}

/** JSON text of a value the runtime stores; a value JSON cannot hold is the caller's bug. */
function json(value: unknown): string {
  const text = JSON.stringify(value);
  if (text === undefined) throw new CoreError(CoreErrorCode.invalid, 'the value is not JSON');
  return text;
}
