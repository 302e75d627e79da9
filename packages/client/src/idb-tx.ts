import { compareKeys, type StoreKey, type StoreRange, type WriteTx } from './store-backend.ts';

/**
 * A {@link WriteTx} (or, in a read-only transaction, its reads) straight on an `IDBTransaction`,
 * one IndexedDB request per row, except a run of consecutive keys, read or deleted in one. The
 * body awaits these requests only: a transaction stays active while the promise reactions of its
 * requests run, so the next request joins it.
 */
export class IdbTx<R> implements WriteTx<R> {
  readonly #tx: IDBTransaction;
  readonly #keyRange: typeof IDBKeyRange;

  constructor(tx: IDBTransaction, keyRange: typeof IDBKeyRange) {
    this.#tx = tx;
    this.#keyRange = keyRange;
  }

  get<T extends keyof R & string>(table: T, key: StoreKey): Promise<R[T] | undefined> {
    return settled(this.#tx.objectStore(table).get(key)) as Promise<R[T] | undefined>;
  }

  getMany<T extends keyof R & string>(table: T, keys: readonly StoreKey[]): Promise<(R[T] | undefined)[]> {
    if (keys.length === 0) return Promise.resolve([]);
    const store = this.#tx.objectStore(table);
    const run = runOf(keys);
    if (run !== undefined && typeof store.keyPath === 'string') {
      // One request for a run of consecutive seqs (an acked batch), where a get each is one each.
      const keyPath = store.keyPath;
      return settled(store.getAll(this.#keyRange.bound(run[0], run[1]))).then((found) => {
        const rows = found as R[T][];
        if (rows.length === keys.length) return rows;
        const byKey = new Map(rows.map((row) => [(row as Record<string, unknown>)[keyPath], row]));
        return keys.map((key) => byKey.get(key));
      });
    }
    return new Promise((resolve, reject) => {
      const rows: (R[T] | undefined)[] = [];
      let left = keys.length;
      keys.forEach((key, i) => {
        const request = store.get(key) as IDBRequest<R[T] | undefined>;
        request.onsuccess = () => {
          rows[i] = request.result;
          if (--left === 0) resolve(rows);
        };
        request.onerror = () => reject(request.error);
      });
    });
  }

  scan<T extends keyof R & string>(table: T, range: StoreRange = {}): Promise<R[T][]> {
    return this.#read(this.#tx.objectStore(table), range, true) as Promise<R[T][]>;
  }

  scanKeys<T extends keyof R & string>(table: T, range: StoreRange = {}): Promise<StoreKey[]> {
    return this.#read(this.#tx.objectStore(table), range, false) as Promise<StoreKey[]>;
  }

  scanIndex<T extends keyof R & string>(table: T, index: string, range: StoreRange = {}): Promise<R[T][]> {
    return this.#read(this.#tx.objectStore(table).index(index), range, true) as Promise<R[T][]>;
  }

  count<T extends keyof R & string>(table: T, range: StoreRange = {}): Promise<number> {
    const keys = this.#keyRangeOf(range);
    if (keys === EMPTY) return Promise.resolve(0);
    return settled(this.#tx.objectStore(table).count(keys ?? undefined));
  }

  put<T extends keyof R & string>(table: T, rows: readonly R[T][]): Promise<void> {
    if (rows.length === 0) return Promise.resolve();
    const store = this.#tx.objectStore(table);
    // Requests complete in order, and a failed one aborts the transaction: the last one answers for all.
    let last: IDBRequest | undefined;
    for (const row of rows) last = store.put(row);
    return settled(last!).then(() => undefined);
  }

  delete<T extends keyof R & string>(table: T, keys: readonly StoreKey[]): Promise<void> {
    if (keys.length === 0) return Promise.resolve();
    const store = this.#tx.objectStore(table);
    const run = runOf(keys);
    // A run of consecutive seqs goes in one request: no other key lies between them.
    if (run !== undefined)
      return settled(store.delete(this.#keyRange.bound(run[0], run[1]))).then(() => undefined);
    let last: IDBRequest | undefined;
    for (const key of keys) last = store.delete(key);
    return settled(last!).then(() => undefined);
  }

  clear<T extends keyof R & string>(table: T): Promise<void> {
    return settled(this.#tx.objectStore(table).clear()).then(() => undefined);
  }

  outside<T>(fn: () => T): T {
    // Nothing follows the body around: what `fn` starts is on its own already.
    return fn();
  }

  /** Rows (or keys) of a range, in key order or reversed, at most `range.limit`. */
  #read(source: IDBObjectStore | IDBIndex, range: StoreRange, values: boolean): Promise<unknown[]> {
    const { limit } = range;
    const keys = this.#keyRangeOf(range);
    if (limit === 0 || keys === EMPTY) return Promise.resolve([]);
    if (!range.reverse) {
      return settled(values ? source.getAll(keys, limit) : source.getAllKeys(keys, limit)) as Promise<
        unknown[]
      >;
    }
    // In reverse: a cursor from the top, as far as the limit.
    return new Promise((resolve, reject) => {
      const out: unknown[] = [];
      const request = values ? source.openCursor(keys, 'prev') : source.openKeyCursor(keys, 'prev');
      request.onsuccess = () => {
        const cursor = request.result;
        if (cursor === null) return resolve(out);
        out.push(values ? (cursor as IDBCursorWithValue).value : cursor.primaryKey);
        if (out.length === limit) return resolve(out);
        cursor.continue();
      };
      request.onerror = () => reject(request.error);
    });
  }

  /** The range's bounds as an `IDBKeyRange` (null: every key), or {@link EMPTY} when no key fits. */
  #keyRangeOf(range: StoreRange): IDBKeyRange | null | typeof EMPTY {
    const { lower, upper } = range;
    if (lower !== undefined && upper !== undefined) {
      const order = compareKeys(lower, upper);
      if (order > 0 || (order === 0 && (range.lowerOpen || range.upperOpen))) return EMPTY;
      return this.#keyRange.bound(lower, upper, range.lowerOpen ?? false, range.upperOpen ?? false);
    }
    if (lower !== undefined) return this.#keyRange.lowerBound(lower, range.lowerOpen ?? false);
    if (upper !== undefined) return this.#keyRange.upperBound(upper, range.upperOpen ?? false);
    return null;
  }
}

/** A range no key fits in (IndexedDB refuses to make one). */
const EMPTY = Symbol('empty range');

/**
 * The first and last of `keys` when they are two or more consecutive integers in ascending order
 * (seqs of a batch): every key of that range, and no other.
 */
function runOf(keys: readonly StoreKey[]): readonly [number, number] | undefined {
  const first = keys[0];
  if (keys.length < 2 || typeof first !== 'number' || !Number.isInteger(first)) return undefined;
  for (let i = 1; i < keys.length; i++) if (keys[i] !== first + i) return undefined;
  return [first, first + keys.length - 1];
}

/** The result of a request, once it succeeded. */
function settled<T>(request: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}
