export { createEventloom, type Eventloom, type EventloomOptions } from './eventloom.ts';
export type { AppendOutcome, CommandOutcome } from './outcomes.ts';
export type { EventFilter } from './event-filter.ts';
export type { AnyProjection } from './projection-host.ts';
export type {
  AppendInput,
  AppendInputOf,
  AppendOptions,
  AppendManyOptions,
  ExecuteResult,
} from './appender.ts';
export type {
  SyncPort,
  AckInput,
  RejectInput,
  RedecideInput,
  RedecideOutcome,
  SyncRecord,
} from './sync-port.ts';
export { ClientError, ClientErrorCode, toClientError } from './client-error.ts';
export {
  type ClientStore,
  type ClientMeta,
  type OutboxRow,
  type PendingCommand,
  type DeadLetterRow,
  SYNC_DEAD_LETTERS,
  type AckRecord,
  type RejectionInput,
  type RejectResult,
  type InsertHistoryResult,
  type SnapshotRow,
  type StoreCursor,
  type StoreChanges,
  type ConfirmedQuery,
  type InsertConfirmedResult,
  type PendingBuild,
  type AppendPendingResult,
  type AppendPendingOptions,
} from './client-store.ts';
export {
  DexieClientStore,
  PAGE_SIZE,
  SCHEMA_VERSION,
  type DexieClientStoreOptions,
  type IndexedDbDeps,
} from './dexie-client-store.ts';
export { BackedClientStore, type BackedClientStoreOptions } from './backed-client-store.ts';
export { CLIENT_SCHEMA, type ClientRows, type ClientTable } from './client-tables.ts';
export type {
  StoreBackend,
  ReadTx,
  WriteTx,
  StoreKey,
  StoreRange,
  StoreSchema,
  TableSchema,
  IndexSchema,
} from './store-backend.ts';
export {
  MemoryClientStore,
  type MemoryClientStoreOptions,
  type MemoryDatabase,
} from './memory-client-store.ts';
export type { TabEnvironment } from './tab-coordinator.ts';
export { createSync } from './sync/create-sync.ts';
export type {
  Sync,
  SyncOptions,
  SyncState,
  SyncMetrics,
  SyncTarget,
  RejectionReport,
  AnyDecider,
  SyncTap,
} from './sync/sync-types.ts';
export {
  createMessaging,
  type Messaging,
  DEFAULT_QUERY_TIMEOUT_MS,
  type NotifyOptions,
  type NotificationFilter,
  type ReceivedNotification,
  type ReceivedQuery,
  type QueryAnswerer,
  type QueryOptions,
  type QueryResult,
} from './sync/messaging.ts';
export { flowOf, type FlowRecord, type FlowOptions } from './sync/flow-of.ts';
export {
  defaultConflictPolicy,
  type ConflictPolicy,
  type ConflictAction,
  type PushRejection,
} from './sync/conflict-policy.ts';
export {
  browserOnlineDetector,
  alwaysOnline,
  manualOnlineDetector,
  defaultOnlineDetector,
  type OnlineDetector,
  type BrowserOnlineTarget,
} from './sync/online-detector.ts';
export { createBackoff, seededRandom, type Backoff, type BackoffOptions } from './sync/backoff.ts';
export {
  defaultSocketFactory,
  type SocketFactory,
  type SocketIoOptions,
  type SyncSocket,
} from './sync/sync-socket.ts';
export { createUuidV7, type UuidV7Options } from './uuid-v7.ts';
export {
  createReactions,
  type Reactions,
  type ReactionsOptions,
  type ReactionsTarget,
} from './reactions/create-reactions.ts';
export { DexieReactionStore } from './reactions/dexie-reaction-store.ts';
export { routeDeadLetters, type DeadLetterTarget } from './reactions/client-dead-letter-queue.ts';
export { loomOutboxRelay, REACTION_APPEND_KEY, type RelayTarget } from './reactions/loom-outbox-relay.ts';
export { timerScheduler } from './reactions/timer-scheduler.ts';
