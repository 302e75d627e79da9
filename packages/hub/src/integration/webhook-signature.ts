import { createHmac, timingSafeEqual } from 'node:crypto';
import { HubError, HubErrorCode } from '../hub/hub-error.ts';

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
  const mac = createHmac('sha256', webhookKey(secret)).update(`${id}.${timestamp}.${body}`).digest('base64');
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
 * body under the secret and its timestamp is within the tolerance. A request replayed within the
 * tolerance passes too: use {@link createWebhookVerifier} with a replay store to refuse those.
 * Throws a {@link HubError} `config` on an empty or undecodable secret (never verifies with it).
 *
 * @example if (!verifyWebhook({ secret, headers: req.headers, body })) return res.writeHead(401).end();
 */
export function verifyWebhook(input: WebhookVerification): boolean {
  return check({ ...input, secret: webhookKey(input.secret) }) === undefined;
}

/** Remembers the webhook ids a receiver has taken, to refuse a request replayed with one. */
export interface WebhookReplayStore {
  /**
   * Records `id` as taken until `expiresAt` (ms since the epoch; it may be forgotten after);
   * false when it was taken already.
   */
  remember(id: string, expiresAt: number): boolean | Promise<boolean>;
}

/**
 * A {@link WebhookReplayStore} in memory, for one receiver process: ids are kept until their
 * request could no longer pass the timestamp check, at most `maxIds` (default 100,000; the oldest go first).
 */
export function memoryReplayStore(
  options: { readonly maxIds?: number; readonly now?: () => number } = {},
): WebhookReplayStore {
  const { maxIds = 100_000, now = Date.now } = options;
  const seen = new Map<string, number>();
  return {
    remember(id, expiresAt) {
      const at = now();
      const known = seen.get(id);
      if (known !== undefined && known > at) return false;
      if (known !== undefined) seen.delete(id);
      for (const [old, until] of seen) {
        if (until > at && seen.size < maxIds) break;
        seen.delete(old);
      }
      seen.set(id, expiresAt);
      return true;
    },
  };
}

/** Why {@link WebhookVerifier.verify} refused a request: answer `replay` with 2xx (already taken), the rest with 401. */
export type WebhookRefusal = 'missing-headers' | 'timestamp' | 'signature' | 'replay';

/** A receiver's check of signed webhook requests; see {@link createWebhookVerifier}. */
export interface WebhookVerifier {
  verify(request: {
    readonly headers: WebhookVerification['headers'];
    readonly body: string;
  }): Promise<
    { readonly ok: true; readonly id: string } | { readonly ok: false; readonly reason: WebhookRefusal }
  >;
}

/**
 * Checks signed webhook requests with one secret, checked once here (a {@link HubError} `config`
 * when empty or undecodable), and with a `replayStore`, refuses a request whose webhook id was
 * taken already (`replay`: the hub sends the same id on retries, so answer it 2xx, do nothing).
 *
 * @example
 * const verifier = createWebhookVerifier({ secret: process.env.WEBHOOK_SECRET!, replayStore: memoryReplayStore() });
 * const checked = await verifier.verify({ headers: req.headers, body });
 * if (!checked.ok) return res.writeHead(checked.reason === 'replay' ? 200 : 401).end();
 */
export function createWebhookVerifier(options: {
  readonly secret: string | Uint8Array;
  readonly toleranceSeconds?: number;
  readonly replayStore?: WebhookReplayStore;
  readonly now?: () => number;
}): WebhookVerifier {
  const key = webhookKey(options.secret);
  const { toleranceSeconds = 300, replayStore, now = Date.now } = options;
  return {
    async verify({ headers, body }) {
      const at = now();
      const refusal = check({ secret: key, headers, body, toleranceSeconds, now: at });
      if (refusal !== undefined) return { ok: false, reason: refusal };
      const id = single(headers[WebhookHeaders.id])!;
      // Only a request whose signature holds is remembered: nobody else can burn an id.
      if (replayStore !== undefined && !(await replayStore.remember(id, at + 2 * toleranceSeconds * 1000))) {
        return { ok: false, reason: 'replay' };
      }
      return { ok: true, id };
    },
  };
}

function check(input: WebhookVerification & { readonly secret: Uint8Array }): WebhookRefusal | undefined {
  const { secret, headers, body, toleranceSeconds = 300, now = Date.now() } = input;
  const id = single(headers[WebhookHeaders.id]);
  const timestamp = Number(single(headers[WebhookHeaders.timestamp]));
  const signatures = single(headers[WebhookHeaders.signature]);
  if (id === undefined || !Number.isSafeInteger(timestamp) || signatures === undefined)
    return 'missing-headers';
  if (Math.abs(now / 1000 - timestamp) > toleranceSeconds) return 'timestamp';
  const expected = Buffer.from(signWebhook({ secret, id, timestamp, body }));
  const matches = signatures.split(' ').some((candidate) => {
    const given = Buffer.from(candidate);
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
  return matches ? undefined : 'signature';
}

/**
 * The key bytes of a secret: `whsec_` and base64 (decoded), another string (its UTF-8 bytes), or
 * bytes. An empty key, or a `whsec_` whose rest is not base64, is refused with a {@link HubError}
 * `config`: an HMAC under an empty key is one anybody can make.
 */
export function webhookKey(secret: string | Uint8Array): Uint8Array {
  const fail = (why: string): never => {
    throw new HubError(HubErrorCode.config, `webhook secret ${why}`);
  };
  if (typeof secret !== 'string') {
    if (!(secret instanceof Uint8Array) || secret.byteLength === 0) fail('is empty');
    return secret;
  }
  if (!secret.startsWith('whsec_')) {
    if (secret.length === 0) fail('is empty');
    return Buffer.from(secret, 'utf8');
  }
  const rest = secret.slice(6);
  if (rest.length === 0) fail('whsec_ has no key after the prefix');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(rest) || rest.length % 4 !== 0) fail('after whsec_ is not base64');
  return Buffer.from(rest, 'base64');
}

function single(value: string | readonly string[] | undefined): string | undefined {
  return typeof value === 'string' ? value : value?.[0];
}
