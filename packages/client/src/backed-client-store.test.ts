import { sampleCommitted } from '@eventloom/protocol/testing';
import { expect, it } from 'vitest';
import { BackedClientStore } from './backed-client-store.ts';
import type { OutboxRow } from './client-store.ts';
import type { ReadTx, StoreBackend, StoreRange, WriteTx } from './store-backend.ts';
import { CLIENT_SCHEMA, type ClientRows } from './client-tables.ts';
import { MemoryBackend } from './memory-backend.ts';
import { build } from './testing/client-store-contract-fixtures.ts';

it('forgets its guess of the meta when a write fails: the next append is not told seqs past the counter', async () => {
  const inner = new MemoryBackend<ClientRows>(CLIENT_SCHEMA, 'failing-write', new Map());
  let failNext = false;
  // A write whose body ran (it put the meta) and that fails at the end, as on a full disk.
  const store = new BackedClientStore({
    open: () => inner.open(),
    close: () => inner.close(),
    read: (tables, body) => inner.read(tables, body),
    write: (tables, body) =>
      inner.write(tables, async (tx) => {
        const result = await body(tx);
        if (failNext) {
          failNext = false;
          throw new Error('disk full');
        }
        return result;
      }),
  });
  await store.open();
  const told: number[][] = [];
  const sole = {
    sole: true,
    stamped: (rows: readonly OutboxRow[]) => told.push(rows.map((r) => r.clientSeq)),
  };
  failNext = true;
  await expect(store.appendPending((m) => build(m, 2), { key: 'k' })).rejects.toThrow('disk full');
  // Nothing landed: the counter is still 0, and the next append is told (and stores) seq 1.
  const next = await store.appendPending((m) => build(m, 1), sole);
  expect(next.rows.map((r) => r.clientSeq)).toEqual([1]);
  expect(told).toEqual([[1]]);
  expect((await store.readMeta()).clientSeq).toBe(1);
});

it('realigns a device in line with the hub at hello without reading its outbox rows', async () => {
  const inner = new MemoryBackend<ClientRows>(CLIENT_SCHEMA, 'realign-reads', new Map());
  let rowsRead = 0;
  /** The transaction, counting the outbox rows its scans read (both tables). */
  const counting = <T extends ReadTx<ClientRows>>(tx: T): T =>
    new Proxy(tx, {
      get: (target, key) =>
        key === 'scan'
          ? async (table: keyof ClientRows, range?: StoreRange) => {
              const rows = await target.scan(table, range);
              if (table === 'outbox' || table === 'acked') rowsRead += rows.length;
              return rows;
            }
          : (Reflect.get(target, key) as (...args: unknown[]) => unknown).bind(target),
    });
  const backend: StoreBackend<ClientRows> = {
    open: () => inner.open(),
    close: () => inner.close(),
    read: (tables, body) => inner.read(tables, (tx) => body(counting(tx))),
    write: (tables, body) => inner.write(tables, (tx) => body(counting<WriteTx<ClientRows>>(tx))),
  };
  const store = new BackedClientStore(backend);
  await store.open();
  // A backlog: 3 rows the hub acked, 200 it has not seen.
  await store.appendPending((m) => build(m, 203));
  await store.markAcked([1, 2, 3].map((clientSeq) => ({ clientSeq, position: clientSeq })));
  const before = await store.readMeta();
  rowsRead = 0;
  const result = await store.realign({ hubClientSeq: 3, hubHead: 3 });
  expect(result).toEqual({ before, meta: before, returned: [], dropped: [], renumbered: new Map() });
  expect(rowsRead).toBe(0);
  expect(await store.readMeta()).toEqual(before);
  // One out of line (the hub holds other events at 4 and 5) still reads them, and is realigned.
  expect((await store.realign({ hubClientSeq: 5, hubHead: 3, usedFrom: 4 })).meta.epoch).toBe(
    before.epoch + 1,
  );
  expect(rowsRead).toBeGreaterThan(0);
});

it('trusts the tail it wrote only in the same database: another one at the same position and history is read', async () => {
  const databases = new Map();
  let inner = new MemoryBackend<ClientRows>(CLIENT_SCHEMA, 'first', databases);
  // A backend whose database is swapped under the store, as a SQLite file replaced by a backup.
  const store = new BackedClientStore({
    open: () => inner.open(),
    close: () => inner.close(),
    read: (tables, body) => inner.read(tables, body),
    write: (tables, body) => inner.write(tables, body),
  });
  await store.open();
  const mine = Array.from({ length: 31 }, (_, i) => sampleCommitted({ position: i + 1, stream: 'mine' }));
  for (const event of mine) await store.insertConfirmed([event]);
  // The other database reached position 31 at history 0 too, with other events.
  const other = new BackedClientStore(new MemoryBackend<ClientRows>(CLIENT_SCHEMA, 'second', databases));
  await other.open();
  const theirs = Array.from({ length: 31 }, (_, i) => sampleCommitted({ position: i + 1, stream: 'theirs' }));
  await other.insertConfirmed(theirs);
  inner = new MemoryBackend<ClientRows>(CLIENT_SCHEMA, 'second', databases);
  await inner.open();
  // The 32nd event makes a page of the tail: the tail of this database, not the one written before.
  const next = sampleCommitted({ position: 32, stream: 'theirs' });
  await store.insertConfirmed([next]);
  expect(await store.readConfirmed()).toEqual([...theirs, next]);
});
