import { IDBKeyRange, IDBRequest, indexedDB } from 'fake-indexeddb';
import { expect, it } from 'vitest';
import { IdbTx } from './idb-tx.ts';

interface Rows {
  readonly rows: { readonly seq: number; readonly text: string };
}

/** A database of one table keyed by `seq`, holding the given seqs. */
async function open(seqs: readonly number[]): Promise<IDBDatabase> {
  const request = indexedDB.open(`idb-tx-${Math.random()}`, 1);
  request.onupgradeneeded = () => request.result.createObjectStore('rows', { keyPath: 'seq' });
  const db = await new Promise<IDBDatabase>((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  await inTx(db, 'readwrite', (tx) =>
    tx.put(
      'rows',
      seqs.map((seq) => ({ seq, text: `row ${seq}` })),
    ),
  );
  return db;
}

/** Runs `body` in a transaction; each request it makes on an object store is pushed to `requests` (its method). */
async function inTx<T>(
  db: IDBDatabase,
  mode: IDBTransactionMode,
  body: (tx: IdbTx<Rows>) => Promise<T>,
  requests: string[] = [],
): Promise<T> {
  const tx = db.transaction(['rows'], mode);
  const done = new Promise<void>((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onabort = () => reject(tx.error);
  });
  const result = await body(new IdbTx<Rows>(counting(tx, requests), IDBKeyRange));
  await done;
  return result;
}

/** `tx` with its object stores wrapped: each method call that makes a request is recorded by name. */
function counting(tx: IDBTransaction, requests: string[]): IDBTransaction {
  return new Proxy(tx, {
    get(target, name) {
      if (name !== 'objectStore') return Reflect.get(target, name, target) as unknown;
      return (table: string) =>
        new Proxy(target.objectStore(table), {
          get(store, method) {
            const value = Reflect.get(store, method, store) as unknown;
            if (typeof value !== 'function') return value;
            return (...args: unknown[]) => {
              const made = (value as (...a: unknown[]) => unknown).apply(store, args);
              if (made instanceof IDBRequest) requests.push(String(method));
              return made;
            };
          },
        });
    },
  });
}

const seqsIn = (db: IDBDatabase) =>
  inTx(db, 'readonly', (tx) => tx.scanKeys('rows')).then((keys) => keys.map(Number));

it('getMany answers a run of consecutive keys in order with one request, undefined where a row is missing', async () => {
  const db = await open([1, 2, 4, 5, 7]);
  const requests: string[] = [];
  const rows = await inTx(db, 'readonly', (tx) => tx.getMany('rows', [2, 3, 4, 5, 6]), requests);
  expect(rows.map((r) => r?.seq)).toEqual([2, undefined, 4, 5, undefined]);
  expect(requests).toEqual(['getAll']);
  requests.length = 0;
  const all = await inTx(db, 'readonly', (tx) => tx.getMany('rows', [4, 5]), requests);
  expect(all.map((r) => r?.text)).toEqual(['row 4', 'row 5']);
  expect(requests).toEqual(['getAll']);
  // Not a run: key by key, in the order asked.
  requests.length = 0;
  const scattered = await inTx(db, 'readonly', (tx) => tx.getMany('rows', [5, 1, 3, 7]), requests);
  expect(scattered.map((r) => r?.seq)).toEqual([5, 1, undefined, 7]);
  expect(requests).toEqual(['get', 'get', 'get', 'get']);
  db.close();
});

it('delete of a run of consecutive keys removes those rows and no other, in one request', async () => {
  const db = await open([1, 2, 3, 4, 5, 6, 8, 9]);
  const requests: string[] = [];
  await inTx(db, 'readwrite', (tx) => tx.delete('rows', [2, 3, 4]), requests);
  expect(await seqsIn(db)).toEqual([1, 5, 6, 8, 9]);
  expect(requests).toEqual(['delete']);
  // Scattered keys (and a key of no row): each alone, the rows between them stay.
  requests.length = 0;
  await inTx(db, 'readwrite', (tx) => tx.delete('rows', [9, 5, 7]), requests);
  expect(await seqsIn(db)).toEqual([1, 6, 8]);
  expect(requests).toEqual(['delete', 'delete', 'delete']);
  requests.length = 0;
  await inTx(db, 'readwrite', (tx) => tx.delete('rows', [6, 7, 8]), requests);
  expect(await seqsIn(db)).toEqual([1]);
  expect(requests).toEqual(['delete']);
  db.close();
});
