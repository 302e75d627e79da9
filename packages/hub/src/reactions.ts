/**
 * `@eventloom/hub/reactions`: handlers and sagas run on the hub (`createHubReactions`), their
 * SQLite store, the outbox relay, the dead-letter admin endpoints and metrics. Kept apart from the
 * main entry so that a hub without reactions never loads them (nor rxjs, which they use).
 */
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
