import { createHash } from 'node:crypto';
import {
  CLOUD_EVENT_HEADER_PREFIX,
  CLOUD_EVENT_MODES,
  CloudEventContentType,
  encodeCloudEvent,
  encodeCloudEventBatch,
  type CloudEvent,
  type CloudEventMessage,
  type CloudEventMode,
  type IntegrationRelay,
} from '@eventloom/core';
import { HubError, HubErrorCode } from '../hub/hub-error.ts';
import { signWebhook, WebhookHeaders } from './webhook-signature.ts';

/** The content type of a `batch` request: a JSON array of CloudEvents. */
export const CLOUD_EVENTS_BATCH_CONTENT_TYPE = CloudEventContentType.batch;

/** The prefix a relay secret must start with: the Standard Webhooks form, `whsec_<base64 key>`. */
export const WEBHOOK_SECRET_PREFIX = 'whsec_';

/** What {@link createWebhookRelay} takes. */
export interface WebhookRelayOptions {
  /** Where to POST, http or https. */
  readonly url: string | URL;
  /**
   * How each request carries the events: `structured` (the default: one request per event, the
   * body the CloudEvent, `application/cloudevents+json`), `binary` (one request per event, the body
   * the event's data, its attributes `ce-*` headers), or `batch` (one request for what the handler
   * publishes at once, a JSON array, `application/cloudevents-batch+json`).
   */
  readonly mode?: CloudEventMode;
  /**
   * Added to every request (an API key, say). Names are case-insensitive; `content-type`,
   * `webhook-*` and `ce-*` are the relay's own and are refused.
   */
  readonly headers?: Readonly<Record<string, string>>;
  /** How long a request may take, answer included. Default 10 s. */
  readonly timeoutMs?: number;
  /**
   * Signs each request (`webhook-signature`, see `signWebhook`) when set: `whsec_<base64 key>`, the
   * Standard Webhooks form that their libraries verify, or the key's raw bytes.
   */
  readonly secret?: string | Uint8Array;
  /** Default the global `fetch`. */
  readonly fetch?: typeof fetch;
  /** The clock of `webhook-timestamp`, in ms since the Unix epoch. Default `Date.now`. */
  readonly now?: () => number;
}

/** The default of {@link WebhookRelayOptions.timeoutMs}. */
export const DEFAULT_WEBHOOK_TIMEOUT_MS = 10_000;

/**
 * An {@link IntegrationRelay} that POSTs the events to a URL as CloudEvents (in the `mode`
 * chosen, structured by default), each request with a `webhook-id` that is the same on every retry
 * of the same events and, given a secret, a `webhook-signature` the receiver can verify. A non-2xx
 * answer, a timeout or a network error rejects with a {@link HubError} `relay` (the handler
 * then retries with backoff, and dead-letters after its last attempt). A bad option throws a
 * `HubError` `config` here, not at the first event.
 *
 * @example
 * const relay = createWebhookRelay({ url: 'https://erp.example/hooks/eventloom', secret: process.env.WEBHOOK_SECRET });
 * const handlers = [integrationHandler(relay, { name: 'erp-webhook', source: '/shop/hub' })];
 */
export function createWebhookRelay(options: WebhookRelayOptions): IntegrationRelay {
  const { timeoutMs = DEFAULT_WEBHOOK_TIMEOUT_MS, secret, now = Date.now, mode = 'structured' } = options;
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
  if (!CLOUD_EVENT_MODES.includes(mode)) {
    throw new HubError(
      HubErrorCode.config,
      `webhook mode must be one of ${CLOUD_EVENT_MODES.join(', ')}, not ${JSON.stringify(mode)}`,
    );
  }
  checkSecret(secret);
  const headers = userHeaders(options.headers ?? {});
  const target = `webhook POST ${url.origin}${url.pathname}`;

  const post = async (message: CloudEventMessage, id: string): Promise<void> => {
    const timestamp = Math.floor(now() / 1000);
    const request: Record<string, string> = {
      ...headers,
      ...message.headers,
      [WebhookHeaders.id]: id,
      [WebhookHeaders.timestamp]: String(timestamp),
    };
    if (secret !== undefined) {
      request[WebhookHeaders.signature] = signWebhook({ secret, id, timestamp, body: message.body });
    }
    let response: Response;
    try {
      response = await send(url, {
        method: 'POST',
        headers: request,
        body: message.body,
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
  };

  return {
    async publish(events: readonly CloudEvent[]): Promise<void> {
      if (events.length === 0) return;
      if (mode === 'batch') return post(encodeCloudEventBatch(events), messageId(events));
      // One request per event, in order: a failure stops there (the handler retries the lot; the
      // receiver dedupes the ones it had by webhook-id or CloudEvent id).
      for (const event of events) await post(encodeCloudEvent(event, mode), event.id);
    },
  };
}

/** The user's headers, lower-cased, refusing the relay's own and two spellings of one name. */
function userHeaders(given: Readonly<Record<string, string>>): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(given)) {
    const lower = name.toLowerCase();
    if (
      lower === 'content-type' ||
      lower.startsWith('webhook-') ||
      lower.startsWith(CLOUD_EVENT_HEADER_PREFIX)
    ) {
      throw new HubError(
        HubErrorCode.config,
        `webhook header ${name} is the relay's own (content-type, webhook-* and ce-* cannot be set)`,
      );
    }
    if (lower in headers) {
      throw new HubError(
        HubErrorCode.config,
        `webhook header ${name} is given twice (names are case-insensitive)`,
      );
    }
    if (typeof value !== 'string') {
      throw new HubError(HubErrorCode.config, `webhook header ${name} must be a string`);
    }
    try {
      new Headers({ [lower]: value });
    } catch (cause) {
      throw new HubError(HubErrorCode.config, `webhook header ${name} is not a valid HTTP header`, {
        cause,
      });
    }
    headers[lower] = value;
  }
  return headers;
}

/**
 * A secret Standard Webhooks libraries can verify with: `whsec_` and a base64 key of at least 16
 * bytes (they decode what follows the prefix), or raw key bytes. A plain string is refused: the
 * relay would sign with its UTF-8 bytes and no such library would verify it.
 */
function checkSecret(secret: string | Uint8Array | undefined): void {
  if (secret === undefined) return;
  if (secret instanceof Uint8Array) {
    if (secret.byteLength < 16) {
      throw new HubError(HubErrorCode.config, 'webhook secret bytes must be at least 16 bytes long');
    }
    return;
  }
  if (typeof secret !== 'string' || !secret.startsWith(WEBHOOK_SECRET_PREFIX)) {
    throw new HubError(
      HubErrorCode.config,
      'webhook secret must be whsec_<base64 key> (the Standard Webhooks form), e.g. whsec_ + 32 random bytes in base64',
    );
  }
  const key = secret.slice(WEBHOOK_SECRET_PREFIX.length);
  if (
    !/^[A-Za-z0-9+/]+={0,2}$/.test(key) ||
    key.length % 4 !== 0 ||
    Buffer.from(key, 'base64').byteLength < 16
  ) {
    throw new HubError(
      HubErrorCode.config,
      'webhook secret after whsec_ must be base64 of at least 16 bytes',
    );
  }
}

/** The same for the same events: the event id for one, a digest of the ids for several. */
function messageId(events: readonly CloudEvent[]): string {
  if (events.length === 1) return events[0]!.id;
  const digest = createHash('sha256');
  for (const event of events) digest.update(`${event.source}\u0000${event.id}\u0000`);
  return `batch_${digest.digest('hex').slice(0, 32)}`;
}
