export {
  createHlc,
  compareHlc,
  DEFAULT_HLC_MAX_DRIFT_MS,
  type HlcOptions,
  type HybridLogicalClock,
} from './hlc.ts';
export {
  type FoldableEvent,
  type FoldableEventOf,
  type EventMap,
  type EventMapOf,
} from './foldable-event.ts';
export {
  defineProjection,
  projectionId,
  fold,
  foldByKey,
  applyEvent,
  keyOfEvent,
  type Projection,
  type ProjectionDefinition,
  type ProjectionHandlers,
  type ProjectionReducer,
} from './projection.ts';
export {
  defineDecider,
  reject,
  isRejection,
  runDecider,
  type Decider,
  type DeciderDefinition,
  type Decision,
  type DecideResult,
  type EventDraft,
  type EventDraftOf,
  type Rejection,
} from './decider.ts';
export {
  EventKinds,
  isEventKind,
  isStoredKind,
  isEphemeralKind,
  type EphemeralEventKind,
} from './event-kinds.ts';
export { CoreError, CoreErrorCode, toCoreError } from './core-error.ts';
export {
  defineEvent,
  type EventDefinition,
  type EventData,
  type NewEvent,
  type NewEventOf,
  type VersionSchemas,
  type LatestVersion,
  type Upcasters,
  type DefineEventOptions,
  type CreateEventOptions,
} from './define-event.ts';
export {
  EventRegistry,
  createRegistry,
  type VersionedEvent,
  type LatestEventOf,
  type UpcastEvent,
} from './event-registry.ts';
export {
  snapshotDefinitions,
  toJsonSchema,
  REGISTRY_SNAPSHOT_FORMAT,
  type RegistrySnapshot,
  type EventTypeSnapshot,
  type EventVersionSnapshot,
} from './registry-snapshot.ts';
export {
  parseRegistrySnapshot,
  stringifyRegistrySnapshot,
  registrySnapshotSchema,
} from './registry-snapshot-file.ts';
export {
  checkCompatibility,
  formatBreakingChange,
  parseCompatibilityMode,
  CompatibilityMode,
  COMPATIBILITY_MODES,
  type BreakingChange,
} from './check-compatibility.ts';
export { CompatibilityChange } from './compatibility-change.ts';
export {
  compareJsonSchemas,
  type JsonSchema,
  type SchemaIncompatibility,
  type SchemaSides,
} from './compare-json-schemas.ts';
export { canonicalJson } from './canonical-json.ts';
export { fingerprint, sha256Hex } from './fingerprint.ts';
export { type ConfirmedEvent, type ConfirmedEventOf } from './reactions/confirmed-event.ts';
export { MAX_TIMER_DELAY_MS, type Scheduler } from './reactions/scheduler.ts';
export {
  DEFAULT_RETRY_POLICY,
  backoffDelay,
  type BackoffPolicy,
  type RetryPolicy,
} from './reactions/retry-policy.ts';
export { traceOf, withTrace, type TraceMeta } from './reactions/trace-meta.ts';
export { FlowSteps, type FlowStep, type FlowStepName } from './reactions/flow-step.ts';
export { type EmittedDraft, type OutboxMessage, type OutboxRelay } from './reactions/outbox-message.ts';
export { deadLetterId, snapshotError, type DeadLetter, type ErrorSnapshot } from './reactions/dead-letter.ts';
export {
  sagaInstanceId,
  type SagaFailure,
  type SagaInstance,
  type SagaStatus,
  type SagaTimeoutRecord,
} from './reactions/saga-instance.ts';
export {
  type Checkpoint,
  type ReactionStore,
  type ReactionTable,
  type ReactionTransaction,
} from './reactions/reaction-store.ts';
export { createMemoryReactionStore, type MemoryReactionStore } from './reactions/memory-reaction-store.ts';
export { type EventFeed } from './reactions/event-feed.ts';
export { observableFeed } from './reactions/observable-feed.ts';
export {
  defineHandler,
  DEFAULT_CHECKPOINT_EVERY,
  type Handler,
  type HandlerContext,
  type HandlerDefinition,
  type HandlerFilter,
} from './reactions/define-handler.ts';
export {
  defineSaga,
  type Saga,
  type SagaCompensation,
  type SagaCompensationContext,
  type SagaCompensator,
  type SagaContext,
  type SagaDefinition,
  type SagaReaction,
  type SagaStep,
  type SagaTimeout,
  type SagaTimeoutHandler,
} from './reactions/define-saga.ts';
export {
  createDeadLetterQueue,
  type DeadLetterOutcome,
  type DeadLetterQueue,
  type DeadLetterQueueOptions,
} from './reactions/dead-letter-queue.ts';
export {
  createReactionRunner,
  DEFAULT_DEDUPE_WINDOW,
  type ReactionRunner,
  type ReactionRunnerOptions,
} from './reactions/reaction-runner.ts';
export { HUB_TARGET, commandTo, commandTargetOf } from './commands/command-target.ts';
export { replyOf, type ReplyMeta } from './commands/reply-meta.ts';
export {
  defineCommandHandler,
  type CommandHandler,
  type CommandHandlerDefinition,
} from './commands/define-command-handler.ts';
export { routeCommands, isCommandHandler } from './commands/route-commands.ts';
export {
  commandRejectedEvent,
  commandRejectedSchema,
  rejectedTypeOf,
  type CommandRejectedData,
} from './commands/command-rejected-event.ts';
export {
  awaitReply,
  DEFAULT_REPLY_TIMEOUT_MS,
  type AwaitReplyOptions,
  type CommandReply,
} from './commands/await-reply.ts';
export {
  toCloudEvent,
  DEFAULT_CLOUD_EVENT_SOURCE,
  type CloudEvent,
  type CloudEventOptions,
} from './integration/cloud-event.ts';
export {
  encodeCloudEvent,
  encodeCloudEventBatch,
  decodeCloudEvent,
  CLOUD_EVENT_MODES,
  CLOUD_EVENT_HEADER_PREFIX,
  CloudEventContentType,
  type CloudEventMode,
  type CloudEventMessage,
  type ReceivedCloudEvent,
  type DecodedCloudEvent,
} from './integration/cloud-event-message.ts';
export { type IntegrationRelay } from './integration/integration-relay.ts';
export { integrationHandler, type IntegrationHandlerOptions } from './integration/integration-handler.ts';
