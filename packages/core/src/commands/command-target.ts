import type { EventMeta } from '@eventloom/protocol';
import type { EventDraft } from '../decider.ts';
import type { FoldableEvent } from '../foldable-event.ts';

/** The target of a command decided by the hub: also what a command without `meta.target` goes to. */
export const HUB_TARGET = 'hub';

/**
 * Addresses a command (DESIGN.md §7): sets `kind: 'command'` and `meta.target`, which names the one
 * handler that takes it — {@link HUB_TARGET} for a decider registered on the hub, or a clientId for
 * a named client (so no client may be called `hub`). The event's id is the command id.
 *
 * @example await loom.append('show:42', commandTo('hub', { type: 'seat.book', data: { seat: 'A1' } }));
 */
export function commandTo<D extends EventDraft>(
  target: string,
  draft: D,
): D & { readonly kind: 'command'; readonly meta: EventMeta } {
  if (typeof target !== 'string' || target.length === 0) {
    throw new TypeError('a command target is "hub" or a clientId, not an empty string');
  }
  return { ...draft, kind: 'command', meta: { ...draft.meta, target } };
}

/**
 * The handler a command event is addressed to: its `meta.target` when it is a non-empty string,
 * else the hub.
 *
 * @example if (event.kind === 'command' && commandTargetOf(event) === loom.clientId) …
 */
export function commandTargetOf(event: Pick<FoldableEvent, 'meta'>): string {
  const target = event.meta['target'];
  return typeof target === 'string' && target.length > 0 ? target : HUB_TARGET;
}
