import { Dexie, type Collection, type Table } from 'dexie';
import { ClientError, ClientErrorCode, toClientError } from './client-error.ts';
import { IdbTx } from './idb-tx.ts';
import {
  compareKeys,
  type ReadTx,
  type StoreBackend,
  type StoreKey,
  type StoreRange,
  type StoreSchema,
  type WriteTx,
} from './store-backend.ts';

/** Options of a {@link DexieBackend}. */
export interface DexieBackendOptions {
  /** Called when the database closes under the backend (a newer version, or the browser). */
  readonly onClosed?: (error: ClientError) => void;
  /** The `IDBKeyRange` of the IndexedDB the database is on; the global one by default. */
  readonly IDBKeyRange?: typeof IDBKeyRange;
  /** The durability of write transactions (Chromium); the browser's default when undefined. */
  readonly durability?: IDBTransactionDurability;
  /**
   * Tables whose writes others follow through Dexie (its `storagemutated` event, its hooks): the
   * transactions over them run through Dexie, every other one straight on IndexedDB.
   */
  readonly observed?: readonly string[];
}

/**
 * A {@link StoreBackend} on a Dexie database (IndexedDB) whose tables and indexes are declared
 * as the schema says (`defineSchema`): each transaction is an IndexedDB transaction over the
 * tables it names, and ranges become key ranges of the primary key or of an index. Dexie opens
 * and upgrades the database; a transaction runs on the IndexedDB connection it opened (`IdbTx`),
 * unless it touches an `observed` table.
 */
export class DexieBackend<R> implements StoreBackend<R> {
  readonly #db: Dexie;
  readonly #schema: StoreSchema;
  readonly #version: number;
  readonly #onClosed: ((error: ClientError) => void) | undefined;
  readonly #keyRange: typeof IDBKeyRange;
  readonly #durability: IDBTransactionDurability | undefined;
  readonly #observed: ReadonlySet<string>;
  #closing = false;
  /** Why the database closed under us, to tell callers instead of a bare `database-closed`. */
  #closedBecause: ClientError | undefined;

  /** `version`: the schema version this code writes (Dexie's); a newer database is refused. */
  constructor(db: Dexie, schema: StoreSchema, version: number, options: DexieBackendOptions = {}) {
    const onClosed = options.onClosed;
    this.#db = db;
    this.#schema = schema;
    this.#version = version;
    this.#onClosed = onClosed;
    this.#keyRange = options.IDBKeyRange ?? globalThis.IDBKeyRange;
    this.#durability = options.durability;
    this.#observed = new Set(options.observed ?? []);
    // A newer version wants the database: step aside (or it stays blocked) and say why, instead of
    // letting Dexie reopen it silently under an old schema.
    db.on('versionchange', () => {
      this.#closing = true;
      db.close();
      this.#closedBecause = new ClientError(
        ClientErrorCode.versionConflict,
        `a newer version of database ${db.name} was opened elsewhere; this one is closed (reload to continue)`,
      );
      onClosed?.(this.#closedBecause);
      return false;
    });
    // Dexie fires `close` for every close, ours included: report only those we did not ask for.
    db.on('close', () => {
      if (this.#closing) return;
      this.#onClosed?.(
        new ClientError(ClientErrorCode.databaseClosed, `database ${db.name} was closed by the browser`),
      );
    });
  }

  async open(): Promise<void> {
    const db = this.#db;
    let onBlocked: () => void = () => undefined;
    const blocked = new Promise<never>((_, reject) => {
      onBlocked = () =>
        reject(
          new ClientError(
            ClientErrorCode.databaseBlocked,
            `opening ${db.name} is blocked by another tab that keeps an older version open`,
          ),
        );
    });
    db.on('blocked', onBlocked);
    try {
      await Promise.race([db.open(), blocked]);
    } catch (thrown) {
      this.close();
      throw toClientError(thrown);
    } finally {
      db.on('blocked').unsubscribe(onBlocked);
    }
    // Dexie opens a newer installed version rather than fail; this code cannot read it.
    const installed = db.backendDB().version / 10;
    if (installed > this.#version) {
      this.close();
      throw new ClientError(
        ClientErrorCode.versionConflict,
        `database ${db.name} is at version ${installed}, newer than this code's ${this.#version}; reload to continue`,
      );
    }
  }

  close(): void {
    this.#closing = true;
    this.#db.close();
  }

  read<T>(tables: readonly (keyof R & string)[], body: (tx: ReadTx<R>) => Promise<T>): Promise<T> {
    return this.#run('r', tables, body);
  }

  write<T>(tables: readonly (keyof R & string)[], body: (tx: WriteTx<R>) => Promise<T>): Promise<T> {
    return this.#run('rw', tables, body);
  }

  // Every transaction's failure leaves as a ClientError.
  async #run<T>(
    mode: 'r' | 'rw',
    tables: readonly string[],
    body: (tx: WriteTx<R>) => Promise<T>,
  ): Promise<T> {
    try {
      if (tables.some((t) => this.#observed.has(t))) return await this.#runDexie(mode, tables, body);
      return await this.#runNative(mode, tables, body);
    } catch (thrown) {
      const error = toClientError(thrown);
      throw error.code === ClientErrorCode.databaseClosed && this.#closedBecause
        ? this.#closedBecause
        : error;
    }
  }

  /**
   * A transaction straight on IndexedDB: Dexie's own (its zones, its promises, its middleware)
   * costs about as much again as the requests of a small write in Chromium.
   */
  async #runNative<T>(
    mode: 'r' | 'rw',
    tables: readonly string[],
    body: (tx: WriteTx<R>) => Promise<T>,
  ): Promise<T> {
    const idb = this.#db.isOpen() ? this.#db.backendDB() : undefined;
    if (!idb) throw new ClientError(ClientErrorCode.databaseClosed, `database ${this.#db.name} is closed`);
    const tx =
      mode === 'rw' && this.#durability !== undefined
        ? idb.transaction(tables, 'readwrite', { durability: this.#durability })
        : idb.transaction(tables, mode === 'rw' ? 'readwrite' : 'readonly');
    const done = new Promise<void>((resolve, reject) => {
      tx.oncomplete = () => resolve();
      // A failed request aborts the transaction (none is caught): the abort carries its error.
      tx.onabort = () => reject(tx.error ?? new DOMException('the transaction was aborted', 'AbortError'));
    });
    let result: T;
    try {
      result = await body(new IdbTx<R>(tx, this.#keyRange));
    } catch (error) {
      try {
        tx.abort();
      } catch {
        // Already finished (aborted by the failure itself).
      }
      await done.catch(() => undefined);
      throw error;
    }
    await done;
    return result;
  }

  #runDexie<T>(
    mode: 'r' | 'rw',
    tables: readonly string[],
    body: (tx: WriteTx<R>) => Promise<T>,
  ): Promise<T> {
    const db = this.#db;
    return db.transaction(
      mode,
      tables.map((t) => db.table(t)),
      // An async scope function: Dexie keeps the transaction across its native awaits.
      async () => await body(new DexieTx<R>(db, this.#schema)),
    );
  }
}

class DexieTx<R> implements WriteTx<R> {
  readonly #db: Dexie;
  readonly #schema: StoreSchema;

  constructor(db: Dexie, schema: StoreSchema) {
    this.#db = db;
    this.#schema = schema;
  }

  get<T extends keyof R & string>(table: T, key: StoreKey): Promise<R[T] | undefined> {
    return this.#table(table).get(key);
  }

  getMany<T extends keyof R & string>(table: T, keys: readonly StoreKey[]): Promise<(R[T] | undefined)[]> {
    return keys.length === 0 ? Promise.resolve([]) : this.#table(table).bulkGet([...keys]);
  }

  async scan<T extends keyof R & string>(table: T, range: StoreRange = {}): Promise<R[T][]> {
    const c = this.#collection(table, this.#schema[table]!.key, range);
    return c ? ((await c.toArray()) as R[T][]) : [];
  }

  async scanKeys<T extends keyof R & string>(table: T, range: StoreRange = {}): Promise<StoreKey[]> {
    const c = this.#collection(table, this.#schema[table]!.key, range);
    return c ? ((await c.primaryKeys()) as StoreKey[]) : [];
  }

  async scanIndex<T extends keyof R & string>(
    table: T,
    index: string,
    range: StoreRange = {},
  ): Promise<R[T][]> {
    const c = this.#collection(table, index, range);
    return c ? ((await c.toArray()) as R[T][]) : [];
  }

  async count<T extends keyof R & string>(table: T, range: StoreRange = {}): Promise<number> {
    const { limit: _, ...bounds } = range;
    const c = this.#collection(table, this.#schema[table]!.key, bounds);
    return c ? await c.count() : 0;
  }

  async put<T extends keyof R & string>(table: T, rows: readonly R[T][]): Promise<void> {
    if (rows.length > 0) await this.#table(table).bulkPut([...rows]);
  }

  async delete<T extends keyof R & string>(table: T, keys: readonly StoreKey[]): Promise<void> {
    if (keys.length > 0) await this.#table(table).bulkDelete([...keys]);
  }

  clear<T extends keyof R & string>(table: T): Promise<void> {
    return this.#table(table).clear();
  }

  outside<T>(fn: () => T): T {
    // Dexie carries the transaction along every promise made in its scope: leave it.
    return Dexie.ignoreTransaction(fn);
  }

  #table<T extends keyof R & string>(name: T): Table<R[T], StoreKey> {
    return this.#db.table(name);
  }

  /** The rows of a range of the primary key or of an index; undefined when the range is empty. */
  #collection(table: string, index: string, range: StoreRange): Collection | undefined {
    const t = this.#db.table(table);
    const { lower, upper } = range;
    if (range.limit === 0) return undefined;
    let c: Collection;
    if (lower !== undefined && upper !== undefined) {
      const order = compareKeys(lower, upper);
      if (order > 0 || (order === 0 && (range.lowerOpen || range.upperOpen))) return undefined;
      c = t.where(index).between(lower, upper, !range.lowerOpen, !range.upperOpen);
    } else if (lower !== undefined) {
      c = range.lowerOpen ? t.where(index).above(lower) : t.where(index).aboveOrEqual(lower);
    } else if (upper !== undefined) {
      c = range.upperOpen ? t.where(index).below(upper) : t.where(index).belowOrEqual(upper);
    } else {
      c = t.orderBy(index);
    }
    if (range.reverse) c = c.reverse();
    if (range.limit !== undefined) c = c.limit(range.limit);
    return c;
  }
}
