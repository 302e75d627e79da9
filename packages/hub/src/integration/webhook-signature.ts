import { createHmac, timingSafeEqual } from 'node:crypto';

/** The headers of a signed webhook request (the Standard Webhooks scheme). */
export const WebhookHeaders = {
  /** The message id: the same on every retry of the same events, for the receiver to dedupe. */
  id: 'webhook-id',
  /** Seconds since the Unix epoch when this attempt was sent. */
  timestamp: 'webhook-timestamp',
  /** `v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`. */
  signature: 'webhook-signature',
} as const;

/** What {@link signWebhook} signs. */
export interface WebhookSigningInput {
  /** `whsec_<base64>` (the Standard Webhooks form), any other string (its UTF-8 bytes), or raw bytes. */
  readonly secret: string | Uint8Array;
  readonly id: string;
  /** Seconds since the Unix epoch. */
  readonly timestamp: number;
  readonly body: string;
}

/**
 * The `webhook-signature` value of a request: `v1,` and the base64 HMAC-SHA256 of
 * `<id>.<timestamp>.<body>` under the secret, so that a receiver holding the secret can check that
 * the body is the hub's and recent (compatible with Standard Webhooks libraries for `whsec_` secrets).
 *
 * @example signWebhook({ secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', id, timestamp, body })
 */
export function signWebhook(input: WebhookSigningInput): string {
  const { secret, id, timestamp, body } = input;
  const mac = createHmac('sha256', secretBytes(secret)).update(`${id}.${timestamp}.${body}`).digest('base64');
  return `v1,${mac}`;
}

/** What {@link verifyWebhook} checks. */
export interface WebhookVerification {
  readonly secret: string | Uint8Array;
  /** The request's headers (lower-case names, as Node gives them). */
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>>;
  /** The raw body, exactly as received. */
  readonly body: string;
  /** How old (or how far ahead) the timestamp may be, in seconds. Default 300. */
  readonly toleranceSeconds?: number;
  /** Now, in ms since the Unix epoch. Default `Date.now()`. */
  readonly now?: number;
}

/**
 * Checks a signed webhook request, for receivers: true when one of its `v1` signatures matches the
 * body under the secret and its timestamp is within the tolerance (against replays).
 *
 * @example if (!verifyWebhook({ secret, headers: req.headers, body })) return res.writeHead(401).end();
 */
export function verifyWebhook(input: WebhookVerification): boolean {
  const { secret, headers, body, toleranceSeconds = 300, now = Date.now() } = input;
  const id = single(headers[WebhookHeaders.id]);
  const timestamp = Number(single(headers[WebhookHeaders.timestamp]));
  const signatures = single(headers[WebhookHeaders.signature]);
  if (id === undefined || !Number.isSafeInteger(timestamp) || signatures === undefined) return false;
  if (Math.abs(now / 1000 - timestamp) > toleranceSeconds) return false;
  const expected = Buffer.from(signWebhook({ secret, id, timestamp, body }));
  return signatures.split(' ').some((candidate) => {
    const given = Buffer.from(candidate);
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}

function secretBytes(secret: string | Uint8Array): Uint8Array {
  if (typeof secret !== 'string') return secret;
  return secret.startsWith('whsec_') ? Buffer.from(secret.slice(6), 'base64') : Buffer.from(secret, 'utf8');
}

function single(value: string | readonly string[] | undefined): string | undefined {
  return typeof value === 'string' ? value : value?.[0];
}
