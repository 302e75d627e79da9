import {
  EPHEMERAL_EVENT_KINDS,
  EVENT_KINDS,
  STORED_EVENT_KINDS,
  type EventKind,
  type StoredEventKind,
} from '@eventloom/protocol';

/**
 * The kinds of event by name, each with its delivery semantics (DESIGN.md §7). Stored kinds are
 * validated, ordered (`position`) and kept by the hub, and travel in envelopes through `push`,
 * `pull` and `events`; ephemeral kinds travel in `notify` and are never stored.
 *
 * @example const draft = { type: 'invoice.requested', data, kind: EventKinds.command };
 */
export const EventKinds = {
  /**
   * A state change, a fact. Stored; delivered to every subscriber of its stream, in position
   * order, at least once (consumers dedupe by id). Projections fold these.
   */
  domain: 'domain',
  /**
   * A request for action that needs the authority. Stored; handled by exactly one handler (a
   * hub-side decider or a named client), which answers with events correlated by
   * `meta.correlationId`; redelivery is deduped by event id.
   */
  command: 'command',
  /**
   * A fact meant for other systems. Stored; relayed by the hub to external systems (CloudEvents
   * JSON over NATS JetStream or webhooks), deduplicated by event id.
   */
  integration: 'integration',
  /**
   * Presence, typing, progress. Never stored; delivered at most once to whoever is connected now,
   * in no guaranteed order. An offline client never sees it.
   */
  notification: 'notification',
  /**
   * A request for information. Never stored; answered by a correlated reply within a timeout, or
   * not at all. Clients answer from their local projections first.
   */
  query: 'query',
} as const satisfies { readonly [K in EventKind]: K };

/** A kind that is never stored: `notification` or `query`. */
export type EphemeralEventKind = (typeof EPHEMERAL_EVENT_KINDS)[number];

/** Whether a value names an event kind. */
export function isEventKind(value: unknown): value is EventKind {
  return typeof value === 'string' && (EVENT_KINDS as readonly string[]).includes(value);
}

/**
 * Whether events of this kind are stored and ordered by the hub (and so sit in the outbox
 * while offline).
 *
 * @example if (!isStoredKind(kind)) socket.emit('notify', …);
 */
export function isStoredKind(kind: EventKind): kind is StoredEventKind {
  return (STORED_EVENT_KINDS as readonly string[]).includes(kind);
}

/** Whether events of this kind are ephemeral: never stored, delivered at most once to whoever is connected. */
export function isEphemeralKind(kind: EventKind): kind is EphemeralEventKind {
  return (EPHEMERAL_EVENT_KINDS as readonly string[]).includes(kind);
}
