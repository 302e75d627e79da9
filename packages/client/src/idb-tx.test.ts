import { IDBKeyRange, indexedDB } from 'fake-indexeddb';
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

async function inTx<T>(
  db: IDBDatabase,
  mode: IDBTransactionMode,
  body: (tx: IdbTx<Rows>) => Promise<T>,
): Promise<T> {
  const tx = db.transaction(['rows'], mode);
  const done = new Promise<void>((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onabort = () => reject(tx.error);
  });
  const result = await body(new IdbTx<Rows>(tx, IDBKeyRange));
  await done;
  return result;
}

const seqsIn = (db: IDBDatabase) =>
  inTx(db, 'readonly', (tx) => tx.scanKeys('rows')).then((keys) => keys.map(Number));

it('getMany answers a run of consecutive keys in order, undefined where a row is missing', async () => {
  const db = await open([1, 2, 4, 5, 7]);
  const rows = await inTx(db, 'readonly', (tx) => tx.getMany('rows', [2, 3, 4, 5, 6]));
  expect(rows.map((r) => r?.seq)).toEqual([2, undefined, 4, 5, undefined]);
  const all = await inTx(db, 'readonly', (tx) => tx.getMany('rows', [4, 5]));
  expect(all.map((r) => r?.text)).toEqual(['row 4', 'row 5']);
  // Not a run: key by key, in the order asked.
  const scattered = await inTx(db, 'readonly', (tx) => tx.getMany('rows', [5, 1, 3, 7]));
  expect(scattered.map((r) => r?.seq)).toEqual([5, 1, undefined, 7]);
  db.close();
});

it('delete of a run of consecutive keys removes those rows and no other', async () => {
  const db = await open([1, 2, 3, 4, 5, 6, 8, 9]);
  await inTx(db, 'readwrite', (tx) => tx.delete('rows', [2, 3, 4]));
  expect(await seqsIn(db)).toEqual([1, 5, 6, 8, 9]);
  // Scattered keys (and a key of no row): each alone, the rows between them stay.
  await inTx(db, 'readwrite', (tx) => tx.delete('rows', [9, 5, 7]));
  expect(await seqsIn(db)).toEqual([1, 6, 8]);
  await inTx(db, 'readwrite', (tx) => tx.delete('rows', [6, 7, 8]));
  expect(await seqsIn(db)).toEqual([1]);
  db.close();
});
