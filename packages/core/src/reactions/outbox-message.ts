import type { EventMeta, StoredEventKind } from '@eventloom/protocol';

/** An event a handler or saga emitted, completed: its stream, kind and traced meta are set. */
export interface EmittedDraft {
  readonly type: string;
  /** JSON. */
  readonly data: unknown;
  readonly stream: string;
  readonly kind: StoredEventKind;
  /** Carries `correlationId`, `causationId` and, when the trigger had one, `traceparent`. */
  readonly meta: EventMeta;
}

/**
 * An emitted event or command waiting in the reaction store's outbox, written in the same
 * transaction as the state and checkpoint of the reaction that emitted it.
 */
export interface OutboxMessage {
  /**
   * Deterministic: `<handler or saga>/<trigger>/<n>` (the trigger is the causing event's id, or a
   * saga timeout's id and deadline). Re-running the same reaction yields the same ids, so a relay
   * that is told a message twice can tell: it is the idempotency key.
   */
  readonly id: string;
  /** The handler or saga that emitted it. */
  readonly source: string;
  readonly draft: EmittedDraft;
  /** ISO time it was written, by the runtime's scheduler. */
  readonly createdAt: string;
}

/**
 * Where a runner sends its outbox: the client appends the drafts to its own outbox (and so to the
 * hub), the hub to its log. Delivery is at least once — after a crash between `deliver` and the
 * outbox delete, the same messages come again — so `deliver` must skip message ids it has seen.
 * A store that writes emitted events straight into the event log inside its own transaction needs
 * no relay.
 *
 * @example const relay: OutboxRelay = { deliver: (messages) => hubLog.appendOnce(messages) };
 */
export interface OutboxRelay {
  deliver(messages: readonly OutboxMessage[]): Promise<void>;
}
