import { ClientError, ClientErrorCode, toClientError } from './client-error.ts';
import { SortedKeys } from './sorted-keys.ts';
import {
  compareKeys,
  indexValues,
  type IndexSchema,
  type ReadTx,
  type StoreBackend,
  type StoreKey,
  type StoreRange,
  type StoreSchema,
  type WriteTx,
} from './store-backend.ts';

/** The contents of one in-memory database, shared by every {@link MemoryBackend} of its name. */
export interface MemoryDatabase {
  readonly tables: Map<string, MemoryTable>;
  /** The end of the queue its transactions run in, one at a time. */
  queue: Promise<unknown>;
}

/**
 * A {@link StoreBackend} in memory: tables of structured clones, kept in key order (and each index
 * in its order) so that range reads cost what they return, not the table's size. Transactions run
 * one at a time per database; a write transaction that throws is rolled back from its undo log.
 */
export class MemoryBackend<R> implements StoreBackend<R> {
  readonly #schema: StoreSchema;
  readonly #name: string;
  readonly #databases: Map<string, MemoryDatabase>;
  #db: MemoryDatabase | undefined;
  #closed = false;

  constructor(schema: StoreSchema, name: string, databases: Map<string, MemoryDatabase> = SHARED) {
    this.#schema = schema;
    this.#name = name;
    this.#databases = databases;
  }

  async open(): Promise<void> {
    await Promise.resolve();
    if (this.#closed) throw closedError();
    let db = this.#databases.get(this.#name);
    if (!db) {
      db = { tables: new Map(), queue: Promise.resolve() };
      this.#databases.set(this.#name, db);
    }
    for (const [name, schema] of Object.entries(this.#schema)) {
      if (!db.tables.has(name)) db.tables.set(name, new MemoryTable(schema));
    }
    this.#db = db;
  }

  close(): void {
    this.#closed = true;
  }

  read<T>(_tables: readonly (keyof R & string)[], body: (tx: ReadTx<R>) => Promise<T>): Promise<T> {
    return this.#run((db) => body(new MemoryTx<R>(db, undefined)));
  }

  write<T>(_tables: readonly (keyof R & string)[], body: (tx: WriteTx<R>) => Promise<T>): Promise<T> {
    return this.#run(async (db) => {
      const undo: (() => void)[] = [];
      try {
        return await body(new MemoryTx<R>(db, undo));
      } catch (error) {
        for (const step of undo.reverse()) step();
        throw error;
      }
    });
  }

  #run<T>(work: (db: MemoryDatabase) => Promise<T>): Promise<T> {
    const db = this.#db;
    if (this.#closed || !db) return Promise.reject(closedError());
    const run = db.queue.then(() => {
      if (this.#closed) throw closedError();
      return work(db);
    });
    db.queue = run.catch(() => undefined);
    return run.catch((thrown: unknown) => {
      throw toClientError(thrown);
    });
  }
}

const SHARED = new Map<string, MemoryDatabase>();

/** One table: its rows by key, the keys in order, and each index's (value, key) entries in order. */
class MemoryTable {
  readonly schema: { readonly key: string; readonly indexes: Readonly<Record<string, IndexSchema>> };
  readonly rows = new Map<StoreKey, unknown>();
  readonly order: SortedKeys<StoreKey>;
  readonly indexes = new Map<string, MemoryIndex>();

  constructor(schema: StoreSchema[string]) {
    this.schema = { key: schema.key, indexes: schema.indexes ?? {} };
    this.order = new SortedKeys(compareKeys, (key) => this.rows.has(key));
    for (const [name, index] of Object.entries(this.schema.indexes)) {
      this.indexes.set(name, new MemoryIndex(index));
    }
  }

  /** Stores a clone of `row` (or deletes the key when undefined); returns what was there. */
  set(key: StoreKey, row: unknown): unknown {
    const old = this.rows.get(key);
    if (row === undefined) {
      if (!this.rows.delete(key)) return undefined;
      this.order.deleted();
    } else {
      const had = this.rows.has(key);
      this.rows.set(key, row);
      if (!had) this.order.added(key);
    }
    for (const index of this.indexes.values()) index.update(key, row);
    return old;
  }

  clear(): void {
    this.rows.clear();
    this.order.clear();
    for (const index of this.indexes.values()) index.clear();
  }
}

/** A secondary index: the values each key holds, and the (value, key) entries in order. */
class MemoryIndex {
  readonly #schema: IndexSchema;
  readonly #byKey = new Map<StoreKey, StoreKey[]>();
  readonly entries = new SortedKeys<readonly [StoreKey, StoreKey]>(
    (a, b) => compareKeys(a[0], b[0]) || compareKeys(a[1], b[1]),
    ([value, key]) => this.#byKey.get(key)?.some((v) => compareKeys(v, value) === 0) ?? false,
  );

  constructor(schema: IndexSchema) {
    this.#schema = schema;
  }

  update(key: StoreKey, row: unknown): void {
    const before = this.#byKey.get(key) ?? [];
    const after = row === undefined ? [] : indexValues(row, this.#schema);
    if (after.length === 0) this.#byKey.delete(key);
    else this.#byKey.set(key, after);
    for (const value of before) {
      if (!after.some((v) => compareKeys(v, value) === 0)) this.entries.deleted();
    }
    for (const value of after) {
      if (!before.some((v) => compareKeys(v, value) === 0)) this.entries.added([value, key]);
    }
  }

  clear(): void {
    this.#byKey.clear();
    this.entries.clear();
  }
}

class MemoryTx<R> implements WriteTx<R> {
  readonly #db: MemoryDatabase;
  /** Set in a write transaction: how to undo each write, in order. */
  readonly #undo: (() => void)[] | undefined;

  constructor(db: MemoryDatabase, undo: (() => void)[] | undefined) {
    this.#db = db;
    this.#undo = undo;
  }

  async get<T extends keyof R & string>(table: T, key: StoreKey): Promise<R[T] | undefined> {
    return clone(this.#table(table).rows.get(key)) as R[T] | undefined;
  }

  async getMany<T extends keyof R & string>(
    table: T,
    keys: readonly StoreKey[],
  ): Promise<(R[T] | undefined)[]> {
    const rows = this.#table(table).rows;
    return keys.map((key) => clone(rows.get(key)) as R[T] | undefined);
  }

  async scan<T extends keyof R & string>(table: T, range: StoreRange = {}): Promise<R[T][]> {
    const t = this.#table(table);
    return this.#keys(t, range).map((key) => clone(t.rows.get(key)) as R[T]);
  }

  async scanKeys<T extends keyof R & string>(table: T, range: StoreRange = {}): Promise<StoreKey[]> {
    return this.#keys(this.#table(table), range);
  }

  async count<T extends keyof R & string>(table: T, range: StoreRange = {}): Promise<number> {
    const { limit: _, ...bounds } = range;
    return this.#keys(this.#table(table), bounds).length;
  }

  async scanIndex<T extends keyof R & string>(
    table: T,
    index: string,
    range: StoreRange = {},
  ): Promise<R[T][]> {
    const t = this.#table(table);
    const entries = t.indexes.get(index);
    if (!entries) throw new ClientError(ClientErrorCode.internal, `no index ${index} on ${table}`);
    const { below, above } = bounds(range);
    return entries.entries
      .range(
        (e) => below(e[0]),
        (e) => above(e[0]),
        range.limit ?? Infinity,
        range.reverse ?? false,
      )
      .map(([, key]) => clone(t.rows.get(key)) as R[T]);
  }

  async put<T extends keyof R & string>(table: T, rows: readonly R[T][]): Promise<void> {
    const t = this.#writable(table);
    for (const row of rows) {
      const key = (row as Record<string, unknown>)[t.schema.key] as StoreKey;
      const old = t.set(key, clone(row));
      this.#undo!.push(() => t.set(key, old));
    }
  }

  async delete<T extends keyof R & string>(table: T, keys: readonly StoreKey[]): Promise<void> {
    const t = this.#writable(table);
    for (const key of keys) {
      const old = t.set(key, undefined);
      if (old !== undefined) this.#undo!.push(() => t.set(key, old));
    }
  }

  async clear<T extends keyof R & string>(table: T): Promise<void> {
    const t = this.#writable(table);
    const old = [...t.rows];
    t.clear();
    this.#undo!.push(() => {
      for (const [key, row] of old) t.set(key, row);
    });
  }

  outside<T>(fn: () => T): T {
    return fn();
  }

  #keys(t: MemoryTable, range: StoreRange): StoreKey[] {
    const { below, above } = bounds(range);
    return t.order.range(below, above, range.limit ?? Infinity, range.reverse ?? false);
  }

  #table(name: string): MemoryTable {
    const t = this.#db.tables.get(name);
    if (!t) throw new ClientError(ClientErrorCode.internal, `no table ${name}`);
    return t;
  }

  #writable(name: string): MemoryTable {
    if (!this.#undo) throw new ClientError(ClientErrorCode.internal, 'a read transaction cannot write');
    return this.#table(name);
  }
}

/** The range's bounds as the two monotone tests `SortedKeys.range` takes. */
function bounds(range: StoreRange): {
  below: (key: StoreKey) => boolean;
  above: (key: StoreKey) => boolean;
} {
  const { lower, upper } = range;
  return {
    below: (key) => {
      if (lower === undefined) return false;
      const c = compareKeys(key, lower);
      return c < 0 || (c === 0 && range.lowerOpen === true);
    },
    above: (key) => {
      if (upper === undefined) return false;
      const c = compareKeys(key, upper);
      return c > 0 || (c === 0 && range.upperOpen === true);
    },
  };
}

function clone<T>(value: T): T {
  return value === undefined ? value : structuredClone(value);
}

function closedError(): ClientError {
  return new ClientError(ClientErrorCode.databaseClosed, 'the store is closed');
}
