import type { OutboxMessage, OutboxRelay } from '@eventloom/core';
import type { AppendInput, AppendManyOptions } from '../appender.ts';

/** What {@link loomOutboxRelay} needs of an Eventloom: an idempotent append. */
export interface RelayTarget {
  appendMany(stream: string, events: readonly AppendInput[], options?: AppendManyOptions): Promise<unknown>;
}

/** The prefix of the idempotency key under which a reaction's message is appended: `reaction:<message id>`. */
export const REACTION_APPEND_KEY = 'reaction:';

/**
 * The reaction runtime's {@link OutboxRelay} on the client: each emitted event or command is
 * appended to this device's own outbox (and so synced to the hub), validated by the registry,
 * with the message id as the append's idempotency key, recorded in the same IndexedDB
 * transaction as the outbox row. A message delivered again (the tab died between the append and
 * the reaction outbox's delete) stores nothing the second time. Messages are appended one at a
 * time, oldest first; one the registry refuses fails the delivery, which the runner retries with
 * backoff (and reports on `errors$`), so later messages wait behind it rather than overtake it.
 *
 * @example createReactionRunner({ store, feed, scheduler, sagas, outbox: loomOutboxRelay(loom) });
 */
export function loomOutboxRelay(loom: RelayTarget): OutboxRelay {
  return {
    async deliver(messages: readonly OutboxMessage[]): Promise<void> {
      for (const { id, draft } of messages) {
        const { type, data, kind, meta, stream } = draft;
        await loom.appendMany(stream, [{ type, data, kind, meta }], {
          idempotencyKey: `${REACTION_APPEND_KEY}${id}`,
        });
      }
    },
  };
}
