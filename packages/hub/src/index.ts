export type {
  EventStore,
  StoreAppend,
  StoreAppendResult,
  StoreReadResult,
  StoreImportResult,
  ClientRecord,
  HeadChange,
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
export {
  createWebhookRelay,
  CLOUD_EVENTS_BATCH_CONTENT_TYPE,
  DEFAULT_WEBHOOK_TIMEOUT_MS,
  WEBHOOK_SECRET_PREFIX,
  type WebhookRelayOptions,
} from './integration/webhook-relay.ts';
export {
  signWebhook,
  verifyWebhook,
  createWebhookVerifier,
  memoryReplayStore,
  webhookKey,
  type WebhookReplayStore,
  type WebhookRefusal,
  type WebhookVerifier,
  WebhookHeaders,
  type WebhookSigningInput,
  type WebhookVerification,
} from './integration/webhook-signature.ts';
export {
  createHubReactions,
  HUB_REACTIONS_CLIENT_ID,
  type HubReactions,
  type HubReactionsOptions,
} from './reactions/create-hub-reactions.ts';
export {
  createSqliteReactionStore,
  type SqliteReactionStore,
  type SqliteReactionStoreOptions,
  type SagaCount,
} from './reactions/sqlite-reaction-store.ts';
export { hubEventFeed, type HubEventFeedOptions } from './reactions/hub-event-feed.ts';
export {
  createHubOutboxRelay,
  RELAY_CHECKPOINT,
  type HubOutboxRelayOptions,
  type ReactionRegistry,
} from './reactions/hub-outbox-relay.ts';
export { hubEventId } from './reactions/hub-event-id.ts';
export { adminEventsHandler, ADMIN_EVENTS_MAX_LIMIT } from './hub/admin-events-handler.ts';
export {
  reactionAdminHandler,
  AdminErrorCode,
  type AdminTarget,
  type AuthorizeAdmin,
  type ReactionAdminOptions,
} from './reactions/reaction-admin-handler.ts';
export {
  registerReactionMetrics,
  ReactionMetricNames,
  type ReactionMetricsSource,
} from './reactions/reaction-metrics.ts';
