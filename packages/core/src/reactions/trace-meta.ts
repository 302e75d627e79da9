import type { EventMeta } from '@eventloom/protocol';
import type { EventDraft } from '../decider.ts';
import type { FoldableEvent } from '../foldable-event.ts';

/** The tracing fields an emitted event inherits from what caused it (DESIGN.md §2, `meta`). */
export interface TraceMeta {
  /** The whole conversation: the trigger's own correlationId, or its id when it had none. */
  readonly correlationId: string;
  /** The id of the event that caused this one. */
  readonly causationId: string;
  /** The W3C trace context of the trigger, passed on unchanged when it had one. */
  readonly traceparent?: string;
}

/**
 * The trace an event's reactions carry: correlation = the trigger's `correlationId` or its id,
 * causation = the trigger's id, and its `traceparent` when present.
 *
 * @example traceOf(orderPlaced) // { correlationId: orderPlaced.id, causationId: orderPlaced.id }
 */
export function traceOf(trigger: Pick<FoldableEvent, 'id' | 'meta'>): TraceMeta {
  const { correlationId, traceparent } = trigger.meta;
  const trace = { correlationId: correlationId ?? trigger.id, causationId: trigger.id };
  return traceparent === undefined ? trace : { ...trace, traceparent };
}

/**
 * Sets a draft's `meta.correlationId`, `causationId` and `traceparent` from a trace. Fields the
 * draft sets itself win: a handler that starts a new conversation says so explicitly.
 *
 * @example withTrace({ type: 'invoice.sent', data }, traceOf(orderPlaced))
 */
export function withTrace<D extends EventDraft>(
  draft: D,
  trace: TraceMeta,
): D & { readonly meta: EventMeta } {
  return { ...draft, meta: { ...trace, ...draft.meta } };
}
