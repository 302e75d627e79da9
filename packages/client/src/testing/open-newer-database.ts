import { Dexie } from 'dexie';
import { DexieClientStore, SCHEMA_VERSION } from '../dexie-client-store.ts';

/**
 * Opens database `name` at the next schema version (this version's tables, read from a store
 * that is never opened, and one more), as a newer version of the app in another tab would: an open
 * `DexieClientStore` on it must step aside. The caller closes it.
 */
export async function openNewerDatabase(name: string): Promise<Dexie> {
  const current = new DexieClientStore({ name }).db.tables.map((table) => [
    table.name,
    [table.schema.primKey, ...table.schema.indexes].map((index) => index.src).join(', '),
  ]);
  const newer = new Dexie(name);
  newer.version(SCHEMA_VERSION + 1).stores({
    ...Object.fromEntries(current),
    // What the next version adds.
    projectionsV4: 'id',
  });
  await newer.open();
  return newer;
}
