import { BackedClientStore } from './backed-client-store.ts';
import { CLIENT_SCHEMA, type ClientRows } from './client-tables.ts';
import { MemoryBackend, type MemoryDatabase } from './memory-backend.ts';

export type { MemoryDatabase } from './memory-backend.ts';

/** Options of {@link MemoryClientStore}. */
export interface MemoryClientStoreOptions {
  readonly name: string;
  /** Where databases live by name; a module-wide map by default (like an origin's IndexedDB). */
  readonly databases?: Map<string, MemoryDatabase>;
  /** Makes the client id on first open; random by default. */
  readonly newClientId?: () => string;
}

/**
 * A {@link ClientStore} in memory: for tests, server-side rendering and tools that need no
 * persistence. The store's rules are `BackedClientStore`'s, on a {@link MemoryBackend}: rows are
 * structured-cloned in and out, as IndexedDB does, and each method is one transaction.
 *
 * @example const loom = await createEventloom({ name: 'todos', registry, storage: { store: new MemoryClientStore({ name: 'todos' }) } });
 */
export class MemoryClientStore extends BackedClientStore {
  constructor(options: MemoryClientStoreOptions) {
    super(
      new MemoryBackend<ClientRows>(CLIENT_SCHEMA, options.name, options.databases),
      options.newClientId ? { newClientId: options.newClientId } : {},
    );
  }
}
