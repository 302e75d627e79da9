import { BackedClientStore } from '../backed-client-store.ts';
import { CLIENT_SCHEMA, type ClientRows } from '../client-tables.ts';
import { SqliteBackend, type SqliteBackendOptions } from './sqlite-backend.ts';

/** Options of {@link SqliteClientStore}. */
export interface SqliteClientStoreOptions extends SqliteBackendOptions {
  /** Makes the client id on first open; random by default. */
  readonly newClientId?: () => string;
}

/**
 * A durable {@link ClientStore} for Node on a SQLite file (better-sqlite3, an optional peer
 * dependency: install it next to `@eventloom/client`). The store's rules are `BackedClientStore`'s,
 * the same as in the browser, on a {@link SqliteBackend}: a Node service, CLI or test keeps its
 * client id, outbox and confirmed log across restarts, and two processes may share the file.
 *
 * @example
 * import { SqliteClientStore } from '@eventloom/client/sqlite';
 * const loom = await createEventloom({ name: 'todos', registry, storage: { store: new SqliteClientStore({ path: 'todos.db' }) } });
 */
export class SqliteClientStore extends BackedClientStore {
  constructor(options: SqliteClientStoreOptions) {
    const { newClientId, ...backend } = options;
    super(new SqliteBackend<ClientRows>(CLIENT_SCHEMA, backend), newClientId ? { newClientId } : {});
  }
}
