import { resolve } from 'node:path';
import { deserialize, serialize } from 'node:v8';
import Database from 'better-sqlite3';
import { ClientError, ClientErrorCode, toClientError } from '../client-error.ts';
import {
  indexValues,
  type ReadTx,
  type StoreBackend,
  type StoreKey,
  type StoreRange,
  type StoreSchema,
  type WriteTx,
} from '../store-backend.ts';

/** Options of {@link SqliteBackend}. */
export interface SqliteBackendOptions {
  /** The database file; made on first open. */
  readonly path: string;
  /**
   * SQLite's `synchronous` in WAL mode: `full` (the default) syncs the log at each commit, so a
   * committed write survives a power cut; `normal` survives a crash of the process only, and
   * writes faster.
   */
  readonly synchronous?: 'full' | 'normal';
  /** How long a transaction waits for another process's lock before it fails (ms); 5,000 by default. */
  readonly busyTimeoutMs?: number;
}

/**
 * A {@link StoreBackend} on a SQLite file (better-sqlite3), for Node. Each table is a SQLite
 * table of (key, row) with the row in V8's structured-clone format (so Maps and Dates come back as
 * they went in), and each index a table of (value, key) pairs. Every backend of one file in a
 * process shares one connection, and its transactions run one at a time; across processes,
 * SQLite's locks (WAL mode, a busy timeout) keep them apart. Each transaction starts on a new
 * task of the event loop, so that a loop of awaited writes never starves I/O and timers.
 */
export class SqliteBackend<R> implements StoreBackend<R> {
  readonly #schema: StoreSchema;
  readonly #options: SqliteBackendOptions;
  #connection: Connection | undefined;
  #closed = false;

  constructor(schema: StoreSchema, options: SqliteBackendOptions) {
    this.#schema = schema;
    this.#options = options;
  }

  async open(): Promise<void> {
    await Promise.resolve();
    if (this.#closed) throw closedError();
    if (this.#connection) return;
    try {
      this.#connection = Connection.acquire(this.#options, this.#schema);
    } catch (thrown) {
      throw toSqliteClientError(thrown);
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#connection?.release();
  }

  read<T>(_tables: readonly (keyof R & string)[], body: (tx: ReadTx<R>) => Promise<T>): Promise<T> {
    return this.#run('BEGIN', body);
  }

  write<T>(_tables: readonly (keyof R & string)[], body: (tx: WriteTx<R>) => Promise<T>): Promise<T> {
    return this.#run('BEGIN IMMEDIATE', body);
  }

  #run<T>(begin: string, body: (tx: WriteTx<R>) => Promise<T>): Promise<T> {
    const connection = this.#connection;
    if (this.#closed || !connection) return Promise.reject(closedError());
    const run = connection.queue.then(async () => {
      // better-sqlite3 is synchronous: without this, a caller awaiting transaction after
      // transaction would only ever run microtasks, and starve the event loop (the sync's socket,
      // timers) until it stops. Each transaction starts on a task of its own, as IndexedDB's
      // requests complete on tasks; before BEGIN, so that no lock is held across the yield.
      await nextTask();
      if (this.#closed) throw closedError();
      const db = connection.db;
      try {
        db.exec(begin);
      } catch (thrown) {
        throw toSqliteClientError(thrown);
      }
      try {
        const result = await body(new SqliteTx<R>(connection, this.#schema, begin !== 'BEGIN'));
        db.exec('COMMIT');
        return result;
      } catch (thrown) {
        if (db.inTransaction) db.exec('ROLLBACK');
        throw toSqliteClientError(thrown);
      }
    });
    connection.queue = run.catch(() => undefined);
    return run;
  }
}

/** One open file, shared by the backends of a process that open it. */
class Connection {
  static readonly #open = new Map<string, Connection>();
  readonly db: Database.Database;
  readonly #path: string;
  readonly #statements = new Map<string, Database.Statement>();
  #users = 0;
  /** The end of the queue the transactions on this connection run in, one at a time. */
  queue: Promise<unknown> = Promise.resolve();

  static acquire(options: SqliteBackendOptions, schema: StoreSchema): Connection {
    const path = resolve(options.path);
    let connection = Connection.#open.get(path);
    if (!connection) {
      connection = new Connection(path, options, schema);
      Connection.#open.set(path, connection);
    }
    connection.#users++;
    return connection;
  }

  private constructor(path: string, options: SqliteBackendOptions, schema: StoreSchema) {
    this.#path = path;
    this.db = new Database(path, { timeout: options.busyTimeoutMs ?? 5_000 });
    try {
      this.db.pragma('journal_mode = WAL');
      this.db.pragma(`synchronous = ${options.synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
      this.db.transaction(() => {
        for (const [table, def] of Object.entries(schema)) {
          this.db.exec(
            `CREATE TABLE IF NOT EXISTS ${rowsOf(table)} (k PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID`,
          );
          for (const index of Object.keys(def.indexes ?? {})) {
            const entries = entriesOf(table, index);
            this.db.exec(
              `CREATE TABLE IF NOT EXISTS ${entries} (ik NOT NULL, k NOT NULL, PRIMARY KEY (ik, k)) WITHOUT ROWID`,
            );
            this.db.exec(`CREATE INDEX IF NOT EXISTS ${quote(`${table}.${index}.k`)} ON ${entries} (k)`);
          }
        }
      })();
    } catch (thrown) {
      this.db.close();
      throw thrown;
    }
  }

  /** A prepared statement, made once per connection. */
  statement(sql: string): Database.Statement {
    let statement = this.#statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  release(): void {
    if (--this.#users > 0) return;
    Connection.#open.delete(this.#path);
    // Transactions still queued finish first.
    void this.queue.then(() => this.db.close());
  }
}

class SqliteTx<R> implements WriteTx<R> {
  readonly #c: Connection;
  readonly #schema: StoreSchema;
  readonly #writable: boolean;

  constructor(connection: Connection, schema: StoreSchema, writable: boolean) {
    this.#c = connection;
    this.#schema = schema;
    this.#writable = writable;
  }

  async get<T extends keyof R & string>(table: T, key: StoreKey): Promise<R[T] | undefined> {
    const row = this.#c
      .statement(`SELECT v FROM ${rowsOf(table)} WHERE k = ?`)
      .pluck()
      .get(key);
    return row === undefined ? undefined : (deserialize(row as Buffer) as R[T]);
  }

  async getMany<T extends keyof R & string>(
    table: T,
    keys: readonly StoreKey[],
  ): Promise<(R[T] | undefined)[]> {
    const select = this.#c.statement(`SELECT v FROM ${rowsOf(table)} WHERE k = ?`).pluck();
    return keys.map((key) => {
      const row = select.get(key);
      return row === undefined ? undefined : (deserialize(row as Buffer) as R[T]);
    });
  }

  async scan<T extends keyof R & string>(table: T, range: StoreRange = {}): Promise<R[T][]> {
    const { where, order, params, limit } = rangeSql('k', range);
    const sql = `SELECT v FROM ${rowsOf(table)} ${where} ORDER BY k ${order} LIMIT ?`;
    return this.#c
      .statement(sql)
      .pluck()
      .all(...params, limit)
      .map((v) => deserialize(v as Buffer) as R[T]);
  }

  async scanKeys<T extends keyof R & string>(table: T, range: StoreRange = {}): Promise<StoreKey[]> {
    const { where, order, params, limit } = rangeSql('k', range);
    const sql = `SELECT k FROM ${rowsOf(table)} ${where} ORDER BY k ${order} LIMIT ?`;
    return this.#c
      .statement(sql)
      .pluck()
      .all(...params, limit) as StoreKey[];
  }

  async count<T extends keyof R & string>(table: T, range: StoreRange = {}): Promise<number> {
    const { where, params } = rangeSql('k', range);
    return this.#c
      .statement(`SELECT COUNT(*) FROM ${rowsOf(table)} ${where}`)
      .pluck()
      .get(...params) as number;
  }

  async scanIndex<T extends keyof R & string>(
    table: T,
    index: string,
    range: StoreRange = {},
  ): Promise<R[T][]> {
    this.#index(table, index);
    const { where, order, params, limit } = rangeSql('i.ik', range);
    const sql =
      `SELECT t.v FROM ${entriesOf(table, index)} i JOIN ${rowsOf(table)} t ON t.k = i.k ` +
      `${where} ORDER BY i.ik ${order}, i.k ${order} LIMIT ?`;
    return this.#c
      .statement(sql)
      .pluck()
      .all(...params, limit)
      .map((v) => deserialize(v as Buffer) as R[T]);
  }

  async put<T extends keyof R & string>(table: T, rows: readonly R[T][]): Promise<void> {
    const def = this.#table(table);
    const upsert = this.#c.statement(`INSERT OR REPLACE INTO ${rowsOf(table)} (k, v) VALUES (?, ?)`);
    const indexes = Object.entries(def.indexes ?? {});
    for (const row of rows) {
      const key = (row as Record<string, unknown>)[def.key] as StoreKey;
      upsert.run(key, serialize(row));
      for (const [name, index] of indexes) {
        const entries = entriesOf(table, name);
        this.#c.statement(`DELETE FROM ${entries} WHERE k = ?`).run(key);
        const insert = this.#c.statement(`INSERT INTO ${entries} (ik, k) VALUES (?, ?)`);
        for (const value of indexValues(row, index)) insert.run(value, key);
      }
    }
  }

  async delete<T extends keyof R & string>(table: T, keys: readonly StoreKey[]): Promise<void> {
    const def = this.#table(table);
    const statements = [
      this.#c.statement(`DELETE FROM ${rowsOf(table)} WHERE k = ?`),
      ...Object.keys(def.indexes ?? {}).map((name) =>
        this.#c.statement(`DELETE FROM ${entriesOf(table, name)} WHERE k = ?`),
      ),
    ];
    for (const key of keys) for (const statement of statements) statement.run(key);
  }

  async clear<T extends keyof R & string>(table: T): Promise<void> {
    const def = this.#table(table);
    this.#c.statement(`DELETE FROM ${rowsOf(table)}`).run();
    for (const name of Object.keys(def.indexes ?? {})) {
      this.#c.statement(`DELETE FROM ${entriesOf(table, name)}`).run();
    }
  }

  outside<T>(fn: () => T): T {
    return fn();
  }

  #table(table: string): StoreSchema[string] {
    if (!this.#writable) throw new ClientError(ClientErrorCode.internal, 'a read transaction cannot write');
    const def = this.#schema[table];
    if (!def) throw new ClientError(ClientErrorCode.internal, `no table ${table}`);
    return def;
  }

  #index(table: string, index: string): void {
    if (!this.#schema[table]?.indexes?.[index]) {
      throw new ClientError(ClientErrorCode.internal, `no index ${index} on ${table}`);
    }
  }
}

/** The WHERE clause and its parameters, the direction and the LIMIT (-1: none) of a range on `column`. */
function rangeSql(
  column: string,
  range: StoreRange,
): { where: string; order: 'ASC' | 'DESC'; params: StoreKey[]; limit: number } {
  const conditions: string[] = [];
  const params: StoreKey[] = [];
  if (range.lower !== undefined) {
    conditions.push(`${column} ${range.lowerOpen ? '>' : '>='} ?`);
    params.push(range.lower);
  }
  if (range.upper !== undefined) {
    conditions.push(`${column} ${range.upperOpen ? '<' : '<='} ?`);
    params.push(range.upper);
  }
  return {
    where: conditions.length === 0 ? '' : `WHERE ${conditions.join(' AND ')}`,
    order: range.reverse ? 'DESC' : 'ASC',
    params,
    limit: range.limit ?? -1,
  };
}

function rowsOf(table: string): string {
  return quote(`rows.${table}`);
}

function entriesOf(table: string, index: string): string {
  return quote(`index.${table}.${index}`);
}

function quote(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Resolves on a later turn of the event loop, after the I/O and timers due by then. */
function nextTask(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function closedError(): ClientError {
  return new ClientError(ClientErrorCode.databaseClosed, 'the store is closed');
}

/** SQLite's errors as the client's: a full disk is `quota-exceeded`, the others `storage`. */
function toSqliteClientError(thrown: unknown): ClientError {
  if (thrown instanceof ClientError) return thrown;
  const code = (thrown as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code.startsWith('SQLITE_')) {
    return new ClientError(
      code === 'SQLITE_FULL' ? ClientErrorCode.quotaExceeded : ClientErrorCode.storage,
      `SQLite: ${(thrown as Error).message}`,
      { cause: thrown },
    );
  }
  return toClientError(thrown);
}
