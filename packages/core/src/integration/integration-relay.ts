import type { CloudEvent } from './cloud-event.ts';

/**
 * Where the hub hands `integration` events (DESIGN.md §7): a webhook, later NATS JetStream. Delivery
 * is at least once — a failed or interrupted `publish` is called again with the same events — so
 * receivers dedupe by CloudEvent `source` + `id`. `publish` resolves once the other side has taken
 * the events, and rejects (or throws) otherwise.
 *
 * @example const relay: IntegrationRelay = { publish: (events) => jetstream.publish(events) };
 */
export interface IntegrationRelay {
  publish(events: readonly CloudEvent[]): Promise<void>;
  /**
   * Optional: told the events of a page before they are published one by one, so that a relay
   * whose receiver dedupes by id (JetStream's `Nats-Msg-Id`) can send them all at once and let
   * each `publish` await its own acknowledgement. The checkpoint still passes an event only once
   * its `publish` resolved.
   */
  prepare?(events: readonly CloudEvent[]): void;
}
