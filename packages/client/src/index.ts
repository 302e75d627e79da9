export {
  createEventloom,
  type Eventloom,
  type EventloomOptions,
  type AnyProjection,
  type AppendInput,
  type AppendInputOf,
  type AppendOptions,
  type EventFilter,
  type ExecuteResult,
  type SyncPort,
  type AckInput,
  type RejectInput,
} from './eventloom.ts';
export { ClientError, ClientErrorCode, toClientError } from './client-error.ts';
export {
  type ClientStore,
  type ClientMeta,
  type OutboxRow,
  type RejectedRow,
  type RejectionInput,
  type SnapshotRow,
  type StoreCursor,
  type StoreChanges,
  type ConfirmedQuery,
  type InsertConfirmedResult,
  type PendingBuild,
  type AppendPendingResult,
} from './client-store.ts';
export {
  DexieClientStore,
  PAGE_SIZE,
  SCHEMA_VERSION,
  type DexieClientStoreOptions,
  type IndexedDbDeps,
} from './dexie-client-store.ts';
export {
  MemoryClientStore,
  type MemoryClientStoreOptions,
  type MemoryDatabase,
} from './memory-client-store.ts';
export type { TabEnvironment } from './tab-coordinator.ts';
export { createUuidV7, type UuidV7Options } from './uuid-v7.ts';
