import { IDBKeyRange, IDBFactory } from 'fake-indexeddb';
import { expect, it } from 'vitest';
import type { ClientRows } from '../client-tables.ts';
import { dexieBackendOf } from '../dexie-client-store.ts';
import type { StoreBackend } from '../store-backend.ts';
import { PowerCut } from './power-cut.ts';

type Row = ClientRows['meta'];
const row = (key: string) => ({ key }) as unknown as Row;

/** A database on a fresh fake-indexeddb, and a way to open another connection on it. */
function database() {
  const indexedDB = new IDBFactory();
  const open = () => dexieBackendOf({ name: 'cut', indexedDB: { indexedDB, IDBKeyRange } }).backend;
  return { open };
}

/** A database, and a PowerCut open on a connection to it. */
async function powered() {
  const { open } = database();
  const power = new PowerCut(open());
  await power.open();
  return { open, power };
}

/** The keys of the meta table, as a new connection reads them. */
async function stored(open: () => StoreBackend<ClientRows>): Promise<string[]> {
  const backend = open();
  await backend.open();
  try {
    return (await backend.read(['meta'], (tx) => tx.scan('meta'))).map((r) => (r as { key: string }).key);
  } finally {
    backend.close();
  }
}

/** Whether the promise settled within a while: long enough for fake-indexeddb to commit or abort. */
async function settles(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  await new Promise((resolve) => setTimeout(resolve, 50));
  return settled;
}

it('rolls back the write transaction it cuts mid-body; nobody hears of it; what committed before stays', async () => {
  const { open, power } = await powered();
  await power.write(['meta'], (tx) => tx.put('meta', [row('before')]));
  const cutWrite = power.write(['meta'], async (tx) => {
    await tx.put('meta', [row('half')]);
    power.cut();
    await tx.put('meta', [row('after')]);
  });
  expect(await settles(cutWrite)).toBe(false);
  expect(power.report).toEqual({ writesRolledBack: 1, writesCommitting: 0, operations: 2 });
  expect(await stored(open)).toEqual(['before']);
});

it('cuts at the n-th operation from now, inside the transaction that issues it', async () => {
  const { open, power } = await powered();
  const cut = power.cutAfter(1);
  const write = power.write(['meta'], async (tx) => {
    await tx.put('meta', [row('a')]);
    await tx.put('meta', [row('b')]);
    await tx.put('meta', [row('c')]);
  });
  expect(await cut).toEqual({ writesRolledBack: 1, writesCommitting: 0, operations: 2 });
  expect(await settles(write)).toBe(false);
  expect(await stored(open)).toEqual([]);
});

it('lets a write whose body had finished commit, unheard; later calls never settle nor store', async () => {
  const { open } = database();
  const inner = open();
  // The real backend, whose report of each commit waits for `report`: the body is over, the
  // commit is the backend's, and the cut falls before anyone hears of it.
  let report!: () => void;
  const held = new Promise<void>((resolve) => (report = resolve));
  const slow: StoreBackend<ClientRows> = {
    open: () => inner.open(),
    close: () => inner.close(),
    read: (tables, body) => inner.read(tables, body),
    write: async (tables, body) => {
      const result = await inner.write(tables, body);
      await held;
      return result;
    },
  };
  const power = new PowerCut(slow);
  await power.open();
  const finished = power.write(['meta'], (tx) => tx.put('meta', [row('landed')]));
  await new Promise((resolve) => setTimeout(resolve, 20));
  expect(power.cut()).toEqual({ writesRolledBack: 0, writesCommitting: 1, operations: 1 });
  report();
  expect(await settles(finished)).toBe(false);
  const later = power.write(['meta'], (tx) => tx.put('meta', [row('later')]));
  const read = power.read(['meta'], (tx) => tx.scan('meta'));
  expect(await settles(later)).toBe(false);
  expect(await settles(read)).toBe(false);
  expect(await stored(open)).toEqual(['landed']);
});

it('lets what waits for a cut inside a transaction run outside it: a new connection works at once', async () => {
  const { open, power } = await powered();
  const cut = power.cutAfter(1);
  void power.write(['meta'], async (tx) => {
    await tx.put('meta', [row('a')]);
    await tx.put('meta', [row('b')]);
  });
  await cut;
  // Dexie follows a transaction along the promises made in it: were the waiter resumed inside the
  // cut one, this new connection's transactions would be taken for part of it.
  const next = open();
  await next.open();
  await next.write(['meta'], async (tx) => {
    await tx.put('meta', [row('c')]);
    await tx.put('meta', [row('d')]);
  });
  expect(await next.read(['meta'], (tx) => tx.scanKeys('meta'))).toEqual(['c', 'd']);
  next.close();
});
