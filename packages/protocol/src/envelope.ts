import { z } from 'zod';
import { HLC_PATTERN } from './hlc-string.ts';
import { guardJson, type JsonValue } from './json-guard.ts';
import { Limits } from './limits.ts';

/** The kinds of event (DESIGN.md §7). Only the stored ones travel in an envelope; the others in `notify`. */
export const EVENT_KINDS = ['domain', 'command', 'integration', 'notification', 'query'] as const;
/** An event kind. */
export type EventKind = (typeof EVENT_KINDS)[number];
/** The kinds the hub stores and orders. */
export const STORED_EVENT_KINDS = ['domain', 'command', 'integration'] as const;
/** A kind the hub stores and orders. */
export type StoredEventKind = (typeof STORED_EVENT_KINDS)[number];
/** The kinds that are never stored: delivered to whoever is connected, at most once. */
export const EPHEMERAL_EVENT_KINDS = ['notification', 'query'] as const;

/** A UUIDv7 in its canonical lower-case form. */
export const UUID_V7_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
/** Event type names: `todo.added`, `board:card-moved`. */
export const EVENT_TYPE_PATTERN = /^[A-Za-z][A-Za-z0-9_.:-]*$/;
/** Client ids: letters, digits, `_` and `-`. */
export const CLIENT_ID_PATTERN = /^[A-Za-z0-9_-]+$/;
/** Stream names: any printable text without `*`, which subscriptions use as a prefix wildcard. */
// oxlint-disable-next-line no-control-regex -- control characters are what it refuses
export const STREAM_PATTERN = /^[^\u0000-\u001f\u007f*]+$/;
/** W3C trace context `traceparent`. */
export const TRACEPARENT_PATTERN = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

/**
 * Any JSON value (finite numbers, plain objects, no `__proto__` keys) within the depth limit.
 * Inside {@link withGuardedInput} the check is skipped: the decoders guard the whole input once,
 * before zod runs, so that no event's data is walked twice on the hot path.
 */
export const jsonValueSchema = z.custom<JsonValue>((v) => guardedDepth > 0 || guardJson(v).ok, {
  message: 'not a JSON value',
});

let guardedDepth = 0;

/**
 * Runs a synchronous parse of input that {@link guardJson} has already accepted, so that
 * {@link jsonValueSchema} does not walk it again. For the decoders only.
 */
export function withGuardedInput<T>(parse: () => T): T {
  guardedDepth++;
  try {
    return parse();
  } finally {
    guardedDepth--;
  }
}

/** Event id: a UUIDv7, the idempotency key. */
export const eventIdSchema = z.string().regex(UUID_V7_PATTERN, 'must be a lower-case UUIDv7');
/** An event type name. */
export const eventTypeSchema = z.string().min(1).max(Limits.maxTypeLength).regex(EVENT_TYPE_PATTERN);
/** A stream name: the consistency boundary. */
export const streamSchema = z.string().min(1).max(Limits.maxStreamLength).regex(STREAM_PATTERN);
/** A client (device) id. */
export const clientIdSchema = z.string().min(1).max(Limits.maxClientIdLength).regex(CLIENT_ID_PATTERN);
/** A serialised hybrid logical clock timestamp. */
export const hlcSchema = z.string().max(160).regex(HLC_PATTERN, 'must be an hlc timestamp');
/** A global position: gapless, from 1. */
export const positionSchema = z.int().min(1);
/** The principal the hub authenticated; written by the hub only. */
export const principalSchema = z.strictObject({
  sub: z.string().min(1).max(256),
  iss: z.string().max(256).optional(),
});
/** A principal. */
export type Principal = z.infer<typeof principalSchema>;

/** Event metadata: tracing ids, the hub-written principal, and free JSON keys. */
export const eventMetaSchema = z
  .object({
    correlationId: z.string().min(1).max(128).optional(),
    causationId: z.string().min(1).max(128).optional(),
    traceparent: z.string().regex(TRACEPARENT_PATTERN).optional(),
    principal: principalSchema.optional(),
  })
  .catchall(jsonValueSchema);
/** Event metadata. */
export type EventMeta = z.infer<typeof eventMetaSchema>;

/** The fields a client sets (DESIGN.md §2): what a client stores in its outbox and pushes. */
export const eventEnvelopeSchema = z.strictObject({
  id: eventIdSchema,
  type: eventTypeSchema,
  version: z.int().min(1).max(Limits.maxEventVersion),
  kind: z.enum(STORED_EVENT_KINDS),
  stream: streamSchema,
  data: jsonValueSchema,
  meta: eventMetaSchema,
  clientId: clientIdSchema,
  clientSeq: z.int().min(1),
  hlc: hlcSchema,
  expectedVersion: z.int().min(0).optional(),
});
/** An event as its client wrote it, before the hub ordered it. */
export type EventEnvelope = z.infer<typeof eventEnvelopeSchema>;

/** The fields the hub adds when it commits an event. */
export const commitFieldsSchema = z.strictObject({
  position: positionSchema,
  streamVersion: z.int().min(1),
  recordedAt: z.iso.datetime({ offset: false }),
});

/** An event the hub has committed: the envelope plus its global position, stream version and time. */
export const committedEventSchema = z.strictObject({
  ...eventEnvelopeSchema.shape,
  ...commitFieldsSchema.shape,
});
/** An event with its place in the global order. */
export type CommittedEvent = z.infer<typeof committedEventSchema>;
