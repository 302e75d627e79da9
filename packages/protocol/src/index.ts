export { PROTOCOL_VERSION, MIN_PROTOCOL_VERSION } from './protocol-version.ts';
export { ErrorCode, ERROR_CODES, REJECTION_CODES, type RejectionCode } from './error-codes.ts';
export { Limits, type ProtocolLimits } from './limits.ts';
export { ok, err, type Result, type ProtocolIssue } from './result.ts';
export { guardJson, jsonStringBytes, type JsonValue, type JsonGuardOptions } from './json-guard.ts';
export {
  formatHlc,
  parseHlc,
  HLC_PATTERN,
  HLC_MAX_WALL,
  HLC_MAX_COUNTER,
  type HlcTimestamp,
} from './hlc-string.ts';
export {
  EVENT_KINDS,
  STORED_EVENT_KINDS,
  EPHEMERAL_EVENT_KINDS,
  UUID_V7_PATTERN,
  EVENT_TYPE_PATTERN,
  CLIENT_ID_PATTERN,
  STREAM_PATTERN,
  TRACEPARENT_PATTERN,
  jsonValueSchema,
  eventIdSchema,
  eventTypeSchema,
  streamSchema,
  clientIdSchema,
  hlcSchema,
  positionSchema,
  principalSchema,
  eventMetaSchema,
  eventEnvelopeSchema,
  commitFieldsSchema,
  committedEventSchema,
  type EventKind,
  type StoredEventKind,
  type Principal,
  type EventMeta,
  type EventEnvelope,
  type CommittedEvent,
} from './envelope.ts';
export { isStreamName } from './envelope-fast-path.ts';
export { subscriptionSchema, subscriptionsSchema, matchesSubscription } from './subscription.ts';
export { helloSchema, type Hello } from './hello.ts';
export { welcomeSchema, type Welcome } from './welcome.ts';
export { pushSchema, type Push } from './push.ts';
export {
  pushOkSchema,
  pushDuplicateSchema,
  pushRejectedSchema,
  pushResultSchema,
  pushAckSchema,
  type PushResult,
  type PushAck,
} from './push-ack.ts';
export { pullSchema, type Pull } from './pull.ts';
export { pullResultSchema, type PullResult } from './pull-result.ts';
export { liveEventsSchema, type LiveEvents } from './live-events.ts';
export { subscribeSchema, subscribeAckSchema, type Subscribe, type SubscribeAck } from './subscribe.ts';
export { notifySchema, type Notify } from './notify.ts';
export { hubErrorSchema, hubErrorReplySchema, type HubError, type HubErrorReply } from './hub-error.ts';
export { MessageName } from './message-names.ts';
export {
  decodeWith,
  decodeHello,
  decodePush,
  decodePushEvent,
  decodePull,
  decodeSubscribe,
  decodeNotify,
  decodeWelcome,
  decodePushAck,
  decodePullResult,
  decodeSubscribeAck,
  decodeLiveEvents,
  decodeHubError,
  type DecodedPush,
  type DecodedPushEvent,
} from './decode.ts';
export { decidedOnRefused, RefusedInBatch, type RefusalRuleEvent } from './refusal-rule.ts';
