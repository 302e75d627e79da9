export type {
  EventStore,
  StoreAppend,
  StoreAppendResult,
  StoreReadResult,
  StoreJsonPage,
  StoreImportResult,
  ClientRecord,
  HeadChange,
  CommittedJson,
} from './store/event-store.ts';
export { planImport, type ImportPlan, type ImportSnapshot } from './store/plan-import.ts';
export { createMemoryStore, type MemoryStoreOptions } from './store/memory-store.ts';
export { createSqliteStore, type SqliteStoreOptions } from './store/sqlite-store.ts';
export { createHub, type Hub } from './hub/create-hub.ts';
export {
  DEFAULT_HUB_LIMITS,
  type HubCluster,
  type HubOptions,
  type HubLimits,
  type HubAction,
  type Authorize,
  type AuthorizeContext,
  type HubRegistry,
} from './hub/hub-options.ts';
export {
  streamRules,
  parseStreamRules,
  openStreamsExceptCommands,
  HUB_ACTIONS,
  type StreamRule,
} from './hub/stream-rules.ts';
export {
  DEFAULT_MAX_TOKEN_AGE_SECONDS,
  jwtAuthenticator,
  insecureDevAuthenticator,
  type Authenticator,
  type AuthRequest,
  type AuthOutcome,
  type JwtAuthOptions,
} from './hub/authenticator.ts';
export { HubError, HubErrorCode, toHubError } from './hub/hub-error.ts';
export { createHubMetrics, type HubMetrics } from './hub/hub-metrics.ts';
export type { HubQueryHandler } from './hub/hub-options.ts';
export { adminEventsHandler, ADMIN_EVENTS_MAX_LIMIT } from './hub/admin-events-handler.ts';
export { AdminErrorCode, type AuthorizeAdmin, type ReactionAdminOptions } from './hub/admin-http.ts';
