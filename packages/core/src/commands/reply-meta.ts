import type { FoldableEvent } from '../foldable-event.ts';

/**
 * What a command handler stamps on each event of its reply, as `meta.reply`: the command it
 * answers and how many events the reply has, so that a waiting caller knows when it has them all.
 * A rejection is one event with `rejected: true`.
 */
export interface ReplyMeta {
  /** The command's event id. */
  readonly to: string;
  /** The events in this reply (1 for a rejection). */
  readonly count: number;
  readonly rejected?: true;
}

/**
 * The {@link ReplyMeta} of an event, if it is part of a command's reply.
 *
 * @example const reply = replyOf(event); if (reply?.to === commandId) …
 */
export function replyOf(event: Pick<FoldableEvent, 'meta'>): ReplyMeta | undefined {
  const reply = event.meta['reply'];
  if (typeof reply !== 'object' || reply === null || Array.isArray(reply)) return undefined;
  const { to, count, rejected } = reply as { to?: unknown; count?: unknown; rejected?: unknown };
  if (typeof to !== 'string' || !Number.isSafeInteger(count) || (count as number) < 1) return undefined;
  return rejected === true ? { to, count: count as number, rejected } : { to, count: count as number };
}
