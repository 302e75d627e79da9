import { expect, it } from 'vitest';
import { BackedClientStore } from './backed-client-store.ts';
import type { OutboxRow } from './client-store.ts';
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
