import { createHash } from 'node:crypto';
import type { CloudEvent, IntegrationRelay } from '@eventloom/core';
import { HubError, HubErrorCode } from '../hub/hub-error.ts';
import { signWebhook, WebhookHeaders } from './webhook-signature.ts';

/** The content type of the requests: a JSON array of CloudEvents (the CloudEvents batch format). */
export const CLOUD_EVENTS_BATCH_CONTENT_TYPE = 'application/cloudevents-batch+json';

/** What {@link createWebhookRelay} takes. */
export interface WebhookRelayOptions {
  /** Where to POST, http or https. */
  readonly url: string | URL;
  /** Added to every request (an API key, say); they cannot replace the content type or the webhook-* headers. */
  readonly headers?: Readonly<Record<string, string>>;
  /** How long a request may take, answer included. Default 10 s. */
  readonly timeoutMs?: number;
  /** Signs each request (`webhook-signature`, see `signWebhook`) when set. */
  readonly secret?: string | Uint8Array;
  /** Default the global `fetch`. */
  readonly fetch?: typeof fetch;
  /** The clock of `webhook-timestamp`, in ms since the Unix epoch. Default `Date.now`. */
  readonly now?: () => number;
}

/** The default of {@link WebhookRelayOptions.timeoutMs}. */
export const DEFAULT_WEBHOOK_TIMEOUT_MS = 10_000;

/**
 * An {@link IntegrationRelay} that POSTs the events to a URL as one CloudEvents batch
 * (`application/cloudevents-batch+json`), with a `webhook-id` that is the same on every retry of
 * the same events and, given a secret, a `webhook-signature` the receiver can verify. A non-2xx
 * answer, a timeout or a network error rejects with a {@link HubError} `relay` (the handler
 * then retries with backoff, and dead-letters after its last attempt).
 *
 * @example
 * const relay = createWebhookRelay({ url: 'https://erp.example/hooks/eventloom', secret: process.env.WEBHOOK_SECRET });
 * const handlers = [integrationHandler(relay, { name: 'erp-webhook', source: '/shop/hub' })];
 */
export function createWebhookRelay(options: WebhookRelayOptions): IntegrationRelay {
  const { headers = {}, timeoutMs = DEFAULT_WEBHOOK_TIMEOUT_MS, secret, now = Date.now } = options;
  const send = options.fetch ?? globalThis.fetch;
  let url: URL;
  try {
    url = new URL(options.url);
  } catch (error) {
    throw new HubError(HubErrorCode.config, `webhook url ${String(options.url)} is not a URL`, {
      cause: error,
    });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new HubError(HubErrorCode.config, `webhook url must be http or https, not ${url.protocol}`);
  }
  if (!(timeoutMs > 0) || !Number.isFinite(timeoutMs)) {
    throw new HubError(HubErrorCode.config, `webhook timeoutMs must be > 0, got ${timeoutMs}`);
  }
  const target = `webhook POST ${url.origin}${url.pathname}`;

  return {
    async publish(events: readonly CloudEvent[]): Promise<void> {
      if (events.length === 0) return;
      const body = JSON.stringify(events);
      const id = messageId(events);
      const timestamp = Math.floor(now() / 1000);
      const request: Record<string, string> = {
        ...headers,
        'content-type': `${CLOUD_EVENTS_BATCH_CONTENT_TYPE}; charset=utf-8`,
        [WebhookHeaders.id]: id,
        [WebhookHeaders.timestamp]: String(timestamp),
      };
      if (secret !== undefined)
        request[WebhookHeaders.signature] = signWebhook({ secret, id, timestamp, body });
      let response: Response;
      try {
        response = await send(url, {
          method: 'POST',
          headers: request,
          body,
          signal: AbortSignal.timeout(timeoutMs),
          redirect: 'error',
        });
      } catch (error) {
        const timedOut = error instanceof Error && error.name === 'TimeoutError';
        throw new HubError(
          HubErrorCode.relay,
          timedOut
            ? `${target} timed out after ${timeoutMs} ms`
            : `${target} failed: ${error instanceof Error ? error.message : String(error)}`,
          { cause: error },
        );
      }
      // Read the answer to its end so that the connection can be reused (and the timeout covers it).
      const answer = await response.text().catch(() => '');
      if (!response.ok) {
        const detail = answer.length > 0 ? `: ${answer.slice(0, 200)}` : '';
        throw new HubError(
          HubErrorCode.relay,
          `${target} answered ${response.status} ${response.statusText}${detail}`,
        );
      }
    },
  };
}

/** The same for the same events: the event id for one, a digest of the ids for several. */
function messageId(events: readonly CloudEvent[]): string {
  if (events.length === 1) return events[0]!.id;
  const digest = createHash('sha256');
  for (const event of events) digest.update(`${event.source}\u0000${event.id}\u0000`);
  return `batch_${digest.digest('hex').slice(0, 32)}`;
}
