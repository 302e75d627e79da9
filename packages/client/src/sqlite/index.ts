// `@eventloom/client/sqlite`: the durable client store for Node. Apart from the main entry so that
// browser builds never see better-sqlite3.
export { SqliteClientStore, type SqliteClientStoreOptions } from './sqlite-client-store.ts';
export { SqliteBackend, type SqliteBackendOptions } from './sqlite-backend.ts';
