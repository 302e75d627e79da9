import type Database from 'better-sqlite3';
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
import { HubError, HubErrorCode } from '../hub/hub-error.ts';
import { openSqliteDatabase } from '../store/sqlite-log.ts';
import { migrateReactionStore } from './sqlite-reaction-migrations.ts';

/** Options of {@link createSqliteReactionStore}. */
export interface SqliteReactionStoreOptions {
  /** The database file, created if missing; `:memory:` for a private in-memory store (tests). */
  readonly path: string;
  /** How long to wait for another connection's lock before failing, in ms (default 5,000). */
  readonly busyTimeoutMs?: number;
}

/** Saga instances by saga and status, as the saga count metric reports them. */
export interface SagaCount {
  readonly saga: string;
  readonly status: SagaStatus;
  readonly count: number;
}

/** A {@link ReactionStore} on a SQLite file; see {@link createSqliteReactionStore}. */
export interface SqliteReactionStore extends ReactionStore {
  /** Saga instances counted by saga and status, without loading them. */
  sagaCounts(): Promise<SagaCount[]>;
  /** Waits for the transaction in progress, then closes the file; later transactions fail with `store-closed`. */
  close(): Promise<void>;
}

/**
 * Opens (creating or migrating it) a SQLite reaction store: checkpoints, dead letters, saga
 * instances, timeouts and the outbox of the hub's reaction runner. WAL with `synchronous=FULL`,
 * so a committed transaction survives a crash; each transaction is one `BEGIN IMMEDIATE`.
 * It is its own file, beside the event log (see the README for why).
 *
 * @example
 * const reactionStore = createSqliteReactionStore({ path: 'data/events.reactions.db' });
 * const reactions = await createHubReactions({ hub, reactionStore, handlers, sagas });
 */
export function createSqliteReactionStore(options: SqliteReactionStoreOptions): SqliteReactionStore {
  const db = openSqliteDatabase(options);
  try {
    migrateReactionStore(db);
    return new SqliteStore(db);
  } catch (thrown) {
    db.close();
    throw thrown instanceof HubError
      ? thrown
      : new HubError(HubErrorCode.store, `reaction store: ${String(thrown)}`, { cause: thrown });
  }
}

type Statements = ReturnType<typeof prepare>;

function prepare(db: Database.Database) {
  return {
    begin: db.prepare('BEGIN IMMEDIATE'),
    commit: db.prepare('COMMIT'),
    rollback: db.prepare('ROLLBACK'),
    getCheckpoint: db.prepare<[string], { position: number; recent_ids: string }>(
      'SELECT position, recent_ids FROM checkpoints WHERE consumer = ?',
    ),
    putCheckpoint: db.prepare<[string, number, string]>(
      'INSERT OR REPLACE INTO checkpoints (consumer, position, recent_ids) VALUES (?, ?, ?)',
    ),
    hasApplied: db
      .prepare<[string, string], number>('SELECT 1 FROM applied WHERE consumer = ? AND event_id = ?')
      .pluck(),
    putApplied: db.prepare<[string, string]>(
      'INSERT OR IGNORE INTO applied (consumer, event_id) VALUES (?, ?)',
    ),
    getDeadLetter: db.prepare<[string], string>('SELECT letter FROM dead_letters WHERE id = ?').pluck(),
    listDeadLetters: db
      .prepare<[], string>('SELECT letter FROM dead_letters ORDER BY first_failed_at, id')
      .pluck(),
    countDeadLetters: db.prepare<[], number>('SELECT count(*) FROM dead_letters').pluck(),
    putDeadLetter: db.prepare<[string, string, string]>(
      'INSERT OR REPLACE INTO dead_letters (id, first_failed_at, letter) VALUES (?, ?, ?)',
    ),
    deleteDeadLetter: db.prepare<[string]>('DELETE FROM dead_letters WHERE id = ?'),
    getSaga: db.prepare<[string], string>('SELECT instance FROM sagas WHERE id = ?').pluck(),
    listSagas: db
      .prepare<{ saga: string | null; status: string | null }, string>(
        `SELECT instance FROM sagas
          WHERE (@saga IS NULL OR saga = @saga) AND (@status IS NULL OR status = @status)
          ORDER BY id`,
      )
      .pluck(),
    countSagas: db.prepare<[], { saga: string; status: SagaStatus; count: number }>(
      'SELECT saga, status, count(*) AS count FROM sagas GROUP BY saga, status ORDER BY saga, status',
    ),
    putSaga: db.prepare<[string, string, string, string]>(
      'INSERT OR REPLACE INTO sagas (id, saga, status, instance) VALUES (?, ?, ?, ?)',
    ),
    getTimeout: db.prepare<[string], string>('SELECT record FROM timeouts WHERE id = ?').pluck(),
    listTimeouts: db
      .prepare<{ saga: string | null; instance: string | null }, string>(
        `SELECT record FROM timeouts
          WHERE (@saga IS NULL OR saga = @saga) AND (@instance IS NULL OR instance = @instance)
          ORDER BY due_at, id`,
      )
      .pluck(),
    putTimeout: db.prepare<[string, string, string, number, string]>(
      'INSERT OR REPLACE INTO timeouts (id, saga, instance, due_at, record) VALUES (?, ?, ?, ?, ?)',
    ),
    deleteTimeout: db.prepare<[string]>('DELETE FROM timeouts WHERE id = ?'),
    enqueue: db.prepare<[string, string]>('INSERT OR IGNORE INTO outbox (id, message) VALUES (?, ?)'),
    readOutbox: db.prepare<[number], string>('SELECT message FROM outbox ORDER BY seq LIMIT ?').pluck(),
    deleteOutbox: db.prepare<[string]>('DELETE FROM outbox WHERE id = ?'),
  };
}

class SqliteStore implements SqliteReactionStore {
  readonly #db: Database.Database;
  readonly #sql: Statements;
  readonly #listeners = new Set<(tables: ReadonlySet<ReactionTable>) => void>();
  /** The tail of the serial queue of transactions: one connection runs one at a time. */
  #lock: Promise<void> = Promise.resolve();
  #closed = false;
  #closing: Promise<void> | undefined;

  constructor(db: Database.Database) {
    this.#db = db;
    this.#sql = prepare(db);
  }

  transaction<T>(fn: (tx: ReactionTransaction) => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(closedError());
    const run = this.#lock.then(async () => {
      if (this.#closed) throw closedError();
      const sql = this.#sql;
      sql.begin.run();
      const tx = new SqliteTransaction(sql);
      let result: T;
      try {
        result = await fn(tx);
        if (this.#closed) throw closedError();
        sql.commit.run();
      } catch (error) {
        if (this.#db.inTransaction) sql.rollback.run();
        throw error;
      } finally {
        tx.end();
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

  watch(listener: (tables: ReadonlySet<ReactionTable>) => void): () => void {
    const wrapped = (tables: ReadonlySet<ReactionTable>) => listener(tables);
    this.#listeners.add(wrapped);
    return () => {
      this.#listeners.delete(wrapped);
    };
  }

  sagaCounts(): Promise<SagaCount[]> {
    return this.transaction(async () => this.#sql.countSagas.all());
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#closed = true;
      await this.#lock;
      this.#db.close();
    })();
    return this.#closing;
  }
}

function closedError(): CoreError {
  return new CoreError(CoreErrorCode.storeClosed, 'the reaction store is closed');
}

class SqliteTransaction implements ReactionTransaction {
  readonly touched = new Set<ReactionTable>();
  readonly #sql: Statements;
  #ended = false;

  constructor(sql: Statements) {
    this.#sql = sql;
  }

  end(): void {
    this.#ended = true;
  }

  async getCheckpoint(consumer: string): Promise<Checkpoint | undefined> {
    const row = this.#open().getCheckpoint.get(consumer);
    return row && { position: row.position, recentIds: JSON.parse(row.recent_ids) as string[] };
  }

  async putCheckpoint(consumer: string, checkpoint: Checkpoint): Promise<void> {
    this.#open().putCheckpoint.run(consumer, checkpoint.position, json(checkpoint.recentIds));
    this.touched.add('checkpoints');
  }

  async hasApplied(consumer: string, eventId: string): Promise<boolean> {
    return this.#open().hasApplied.get(consumer, eventId) !== undefined;
  }

  async putApplied(consumer: string, eventId: string): Promise<void> {
    this.#open().putApplied.run(consumer, eventId);
    this.touched.add('applied');
  }

  async getDeadLetter(id: string): Promise<DeadLetter | undefined> {
    return parse<DeadLetter>(this.#open().getDeadLetter.get(id));
  }

  async listDeadLetters(): Promise<DeadLetter[]> {
    return this.#open()
      .listDeadLetters.all()
      .map((text) => JSON.parse(text) as DeadLetter);
  }

  async countDeadLetters(): Promise<number> {
    return this.#open().countDeadLetters.get() ?? 0;
  }

  async putDeadLetter(letter: DeadLetter): Promise<void> {
    this.#open().putDeadLetter.run(letter.id, letter.firstFailedAt, json(letter));
    this.touched.add('deadLetters');
  }

  async deleteDeadLetter(id: string): Promise<boolean> {
    const deleted = this.#open().deleteDeadLetter.run(id).changes > 0;
    if (deleted) this.touched.add('deadLetters');
    return deleted;
  }

  async getSaga(id: string): Promise<SagaInstance | undefined> {
    return parse<SagaInstance>(this.#open().getSaga.get(id));
  }

  async listSagas(
    query: { readonly saga?: string; readonly status?: SagaStatus } = {},
  ): Promise<SagaInstance[]> {
    return this.#open()
      .listSagas.all({ saga: query.saga ?? null, status: query.status ?? null })
      .map((text) => JSON.parse(text) as SagaInstance);
  }

  async putSaga(instance: SagaInstance): Promise<void> {
    this.#open().putSaga.run(instance.id, instance.saga, instance.status, json(instance));
    this.touched.add('sagas');
  }

  async getTimeout(id: string): Promise<SagaTimeoutRecord | undefined> {
    return parse<SagaTimeoutRecord>(this.#open().getTimeout.get(id));
  }

  async listTimeouts(
    query: { readonly saga?: string; readonly instance?: string } = {},
  ): Promise<SagaTimeoutRecord[]> {
    return this.#open()
      .listTimeouts.all({ saga: query.saga ?? null, instance: query.instance ?? null })
      .map((text) => JSON.parse(text) as SagaTimeoutRecord);
  }

  async putTimeout(timeout: SagaTimeoutRecord): Promise<void> {
    this.#open().putTimeout.run(timeout.id, timeout.saga, timeout.instance, timeout.dueAt, json(timeout));
    this.touched.add('timeouts');
  }

  async deleteTimeout(id: string): Promise<boolean> {
    const deleted = this.#open().deleteTimeout.run(id).changes > 0;
    if (deleted) this.touched.add('timeouts');
    return deleted;
  }

  async enqueue(messages: readonly OutboxMessage[]): Promise<void> {
    const sql = this.#open();
    for (const message of messages) {
      if (sql.enqueue.run(message.id, json(message)).changes > 0) this.touched.add('outbox');
    }
  }

  async readOutbox(limit?: number): Promise<OutboxMessage[]> {
    // LIMIT -1 is no limit in SQLite.
    const rows = this.#open().readOutbox.all(limit === undefined ? -1 : Math.max(0, Math.floor(limit)));
    return rows.map((text) => JSON.parse(text) as OutboxMessage);
  }

  async deleteOutbox(ids: readonly string[]): Promise<void> {
    const sql = this.#open();
    for (const id of ids) {
      if (sql.deleteOutbox.run(id).changes > 0) this.touched.add('outbox');
    }
  }

  #open(): Statements {
    if (this.#ended) {
      throw new CoreError(CoreErrorCode.invalidState, 'the reaction store transaction has ended');
    }
    return this.#sql;
  }
}

/** JSON text of a value the runtime stores; a value JSON cannot hold is the caller's bug. */
function json(value: unknown): string {
  const text = JSON.stringify(value);
  if (text === undefined) throw new CoreError(CoreErrorCode.invalid, 'the value is not JSON');
  return text;
}

function parse<T>(text: string | undefined): T | undefined {
  return text === undefined ? undefined : (JSON.parse(text) as T);
}
