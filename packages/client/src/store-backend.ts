/**
 * A key of a row or of an index entry. Numbers sort before strings, numbers by value and strings
 * by UTF-16 code units, as in IndexedDB.
 */
export type StoreKey = number | string;

/** A range of keys, in key order (or reversed), at most `limit` of them. No bound: every key. */
export interface StoreRange {
  readonly lower?: StoreKey;
  /** Leave `lower` itself out. */
  readonly lowerOpen?: boolean;
  readonly upper?: StoreKey;
  /** Leave `upper` itself out. */
  readonly upperOpen?: boolean;
  readonly limit?: number;
  readonly reverse?: boolean;
}

/** One secondary index of a table: the (dotted) path of the indexed value in each row. */
export interface IndexSchema {
  readonly path: string;
  /** The value is an array: one index entry per element (IndexedDB's multiEntry). */
  readonly multi?: boolean;
}

/** One table: the field that holds each row's key, and the secondary indexes by name. */
export interface TableSchema {
  readonly key: string;
  readonly indexes?: Readonly<Record<string, IndexSchema>>;
}

/** The tables of a database, by name. */
export type StoreSchema = Readonly<Record<string, TableSchema>>;

/** The reads of a transaction. `R` maps each table name to the type of its rows. */
export interface ReadTx<R> {
  get<T extends keyof R & string>(table: T, key: StoreKey): Promise<R[T] | undefined>;
  /** The rows of these keys, in the same order (undefined where none). */
  getMany<T extends keyof R & string>(table: T, keys: readonly StoreKey[]): Promise<(R[T] | undefined)[]>;
  /** The rows whose key is in the range, in key order. */
  scan<T extends keyof R & string>(table: T, range?: StoreRange): Promise<R[T][]>;
  /** The keys in the range, in order, without reading the rows. */
  scanKeys<T extends keyof R & string>(table: T, range?: StoreRange): Promise<StoreKey[]>;
  /** How many rows have a key in the range (its limit and direction aside), without reading them. */
  count<T extends keyof R & string>(table: T, range?: StoreRange): Promise<number>;
  /**
   * The rows whose index value is in the range, in (index value, key) order. With a multi-entry
   * index a row comes once per matching entry.
   */
  scanIndex<T extends keyof R & string>(table: T, index: string, range?: StoreRange): Promise<R[T][]>;
}

/** The reads and writes of a read-write transaction. Rows are stored under their key field. */
export interface WriteTx<R> extends ReadTx<R> {
  /** Stores rows, replacing those with the same key. */
  put<T extends keyof R & string>(table: T, rows: readonly R[T][]): Promise<void>;
  /** Deletes rows by key; missing keys are skipped. */
  delete<T extends keyof R & string>(table: T, keys: readonly StoreKey[]): Promise<void>;
  clear<T extends keyof R & string>(table: T): Promise<void>;
  /** Runs `fn` outside the transaction: what it starts (promises, other transactions) never joins it. */
  outside<T>(fn: () => T): T;
}

/**
 * The thin storage a {@link BackedClientStore} runs on: tables of structured-cloneable rows, read and
 * written in transactions. Implemented on IndexedDB (Dexie), in memory and on SQLite.
 *
 * What every implementation keeps:
 * - a transaction happens whole or not at all: if `body` throws, nothing it wrote stays;
 * - transactions are isolated: none sees another's writes half done, and two write transactions
 *   on one database never interleave (also across every backend opened on the same database);
 * - rows come back as structured clones of what was stored (Maps, Dates, undefined fields kept);
 * - failures leave as a `ClientError` (`database-closed` once closed).
 */
export interface StoreBackend<R> {
  open(): Promise<void>;
  close(): void;
  read<T>(tables: readonly (keyof R & string)[], body: (tx: ReadTx<R>) => Promise<T>): Promise<T>;
  write<T>(tables: readonly (keyof R & string)[], body: (tx: WriteTx<R>) => Promise<T>): Promise<T>;
}

/** Compares two keys as IndexedDB does (numbers first). */
export function compareKeys(a: StoreKey, b: StoreKey): number {
  if (typeof a === 'number') return typeof b === 'number' ? a - b : -1;
  if (typeof b === 'number') return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Whether a key is inside a range's bounds (the limit and direction aside). */
export function inRange(key: StoreKey, range: StoreRange): boolean {
  if (range.lower !== undefined) {
    const c = compareKeys(key, range.lower);
    if (c < 0 || (c === 0 && range.lowerOpen)) return false;
  }
  if (range.upper !== undefined) {
    const c = compareKeys(key, range.upper);
    if (c > 0 || (c === 0 && range.upperOpen)) return false;
  }
  return true;
}

/** The index values of a row: none when the path holds no valid key, each element of a multi-entry array. */
export function indexValues(row: unknown, index: IndexSchema): StoreKey[] {
  let value: unknown = row;
  for (const part of index.path.split('.')) {
    if (value === null || typeof value !== 'object') return [];
    value = (value as Record<string, unknown>)[part];
  }
  if (index.multi && Array.isArray(value)) return [...new Set(value.filter(isKey))];
  return isKey(value) ? [value] : [];
}

function isKey(value: unknown): value is StoreKey {
  return typeof value === 'string' || (typeof value === 'number' && !Number.isNaN(value));
}
