import { CoreError, CoreErrorCode } from '../core-error.ts';
import { defineHandler, type Handler } from '../reactions/define-handler.ts';
import type { RetryPolicy } from '../reactions/retry-policy.ts';
import { toCloudEvent } from './cloud-event.ts';
import type { IntegrationRelay } from './integration-relay.ts';

/** What {@link integrationHandler} takes besides the relay. */
export interface IntegrationHandlerOptions {
  /** Stable and unique in its runtime: the checkpoint and dead letters are stored under it. */
  readonly name: string;
  /** The CloudEvents `source`. Default `/eventloom`. */
  readonly source?: string;
  /** Only these event types (all `integration` events by default). */
  readonly types?: readonly string[];
  /** Default: 5 attempts, 100 ms doubling to 30 s; then the event is dead-lettered. */
  readonly retry?: RetryPolicy;
  /**
   * Events between checkpoint writes (default 1). A relay whose receiver dedupes by event id (as
   * JetStream does within its duplicate window) can take more: after a crash it sends up to this
   * many events again, and the receiver drops them.
   */
  readonly checkpointEvery?: number;
}

/**
 * A handler that publishes the confirmed `integration` events to a relay, one at a time in
 * position order, as CloudEvents: at least once (its checkpoint is stored after each event), a
 * failure retried with backoff and then dead-lettered — a DLQ retry publishes it again, after the
 * events that followed it. Run it on the hub's runner.
 *
 * @example
 * const relay = createWebhookRelay({ url: 'https://erp.example/hooks/eventloom', secret });
 * createReactionRunner({ store, feed, scheduler, handlers: [integrationHandler(relay, { name: 'erp-webhook' })] });
 */
export function integrationHandler(relay: IntegrationRelay, options: IntegrationHandlerOptions): Handler {
  const { name, source, types, retry, checkpointEvery } = options;
  if (typeof relay?.publish !== 'function') {
    throw new CoreError(
      CoreErrorCode.invalidDefinition,
      `integration handler ${name}: relay needs publish()`,
    );
  }
  const only = types === undefined ? undefined : new Set(types);
  const cloudOptions = source === undefined ? {} : { source };
  const handler = defineHandler({
    name,
    on: (event) => event.kind === 'integration' && (only === undefined || only.has(event.type)),
    handle: (event) => relay.publish([toCloudEvent(event, cloudOptions)]),
    checkpointEvery: checkpointEvery ?? 1,
    ...(retry === undefined ? {} : { retry }),
  });
  const prepare = relay.prepare?.bind(relay);
  if (prepare === undefined) return handler;
  return { ...handler, prepare: (events) => prepare(events.map((e) => toCloudEvent(e, cloudOptions))) };
}
