import { Dexie } from 'dexie';
import { BackedClientStore } from './backed-client-store.ts';
import type { ClientError } from './client-error.ts';
import { CLIENT_SCHEMA, type ClientRows } from './client-tables.ts';
import { DexieBackend } from './dexie-backend.ts';
import { defineSchema, SCHEMA_VERSION } from './dexie-schema.ts';

export { PAGE_SIZE, TAIL_FILL } from './confirmed-pages.ts';
export { SCHEMA_VERSION } from './dexie-schema.ts';

/** Where Dexie finds IndexedDB: the browser's by default; in Node, `fake-indexeddb` or another implementation. */
export interface IndexedDbDeps {
  readonly indexedDB: IDBFactory;
  readonly IDBKeyRange: typeof IDBKeyRange;
}

/** Options of {@link DexieClientStore}. */
export interface DexieClientStoreOptions {
  /** The database name. */
  readonly name: string;
  /** IndexedDB to use; the global one (the browser's) by default. */
  readonly indexedDB?: IndexedDbDeps;
  /** Called when the database closes under the store: a newer version took it over, or the browser closed it. */
  readonly onClosed?: (error: ClientError) => void;
  /** Makes the client id on first open; random by default. */
  readonly newClientId?: () => string;
  /**
   * Chromium's transaction durability: the browser's default (`relaxed` in current Chromium:
   * committed data survives a crash of the tab or the browser, not of the OS), or `strict` to
   * flush to disk before each commit resolves, at a cost in write speed.
   */
  readonly durability?: 'default' | 'strict' | 'relaxed';
}

/**
 * The {@link ClientStore} on Dexie (IndexedDB): `BackedClientStore`'s rules on a
 * {@link DexieBackend}, with the tables of `CLIENT_SCHEMA` (see `client-tables.ts` for each, and
 * `BackedClientStore` for the page layout of the confirmed log). The database also holds the
 * reaction runtime's tables (`checkpoints`, `applied`, `sagas`, `timeouts`, `reactionOutbox`; its
 * dead letters share `deadLetters`), read and written by `DexieReactionStore` only.
 * `dexie-schema.ts` keeps every schema version and its upgrade.
 */
export class DexieClientStore extends BackedClientStore {
  /** The Dexie database, for tests and tools; never write to it directly. */
  readonly db: Dexie;

  constructor(options: DexieClientStoreOptions) {
    const { db, backend } = dexieBackendOf(options);
    super(backend, options.newClientId ? { newClientId: options.newClientId } : {});
    this.db = db;
  }
}

/**
 * The Dexie database (its schema declared, not opened) and the backend a {@link DexieClientStore}
 * with these options runs on; the testing kit wraps that backend (`powerCutDexieStore`).
 */
export function dexieBackendOf(options: DexieClientStoreOptions): {
  readonly db: Dexie;
  readonly backend: DexieBackend<ClientRows>;
} {
  const deps = options.indexedDB;
  const db = new Dexie(options.name, {
    ...(deps ? { indexedDB: deps.indexedDB, IDBKeyRange: deps.IDBKeyRange } : {}),
    ...(options.durability ? { chromeTransactionDurability: options.durability } : {}),
    autoOpen: false,
  });
  defineSchema(db);
  const backend = new DexieBackend<ClientRows>(db, CLIENT_SCHEMA, SCHEMA_VERSION, {
    ...(options.onClosed ? { onClosed: options.onClosed } : {}),
    ...(deps ? { IDBKeyRange: deps.IDBKeyRange } : {}),
    ...(options.durability && options.durability !== 'default' ? { durability: options.durability } : {}),
    // The reaction store hears of the sync's dead letters through Dexie (`DexieReactionStore.watch`).
    observed: ['deadLetters'],
  });
  return { db, backend };
}
