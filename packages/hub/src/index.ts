export type {
  EventStore,
  StoreAppend,
  StoreAppendResult,
  StoreReadResult,
  ClientRecord,
} from './store/event-store.ts';
export { createMemoryStore, type MemoryStoreOptions } from './store/memory-store.ts';
export { createSqliteStore, type SqliteStoreOptions } from './store/sqlite-store.ts';
export { createHub, type Hub } from './hub/create-hub.ts';
export {
  DEFAULT_HUB_LIMITS,
  type HubOptions,
  type HubLimits,
  type HubAction,
  type Authorize,
  type HubRegistry,
} from './hub/hub-options.ts';
export {
  jwtAuthenticator,
  insecureDevAuthenticator,
  type Authenticator,
  type AuthRequest,
  type AuthOutcome,
  type JwtAuthOptions,
} from './hub/authenticator.ts';
export { HubFailure, HubFailureCode, toHubFailure } from './hub/hub-failure.ts';
export { createHubMetrics, type HubMetrics } from './hub/hub-metrics.ts';
