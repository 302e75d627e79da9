/**
 * `@eventloom/hub/webhooks`: integration events as signed CloudEvents over HTTP (the relay, run as
 * a reaction handler) and the receiver's side (signature check, replay store). Kept apart from the
 * main entry, like the reactions: the relay runs on `@eventloom/core`'s handlers (and rxjs), which a
 * hub without it never loads.
 */
export {
  createWebhookRelay,
  CLOUD_EVENTS_BATCH_CONTENT_TYPE,
  DEFAULT_WEBHOOK_TIMEOUT_MS,
  WEBHOOK_SECRET_PREFIX,
  type WebhookRelayOptions,
} from './integration/webhook-relay.ts';
export {
  signWebhook,
  verifyWebhook,
  createWebhookVerifier,
  memoryReplayStore,
  webhookKey,
  type WebhookReplayStore,
  type WebhookRefusal,
  type WebhookVerifier,
  WebhookHeaders,
  type WebhookSigningInput,
  type WebhookVerification,
} from './integration/webhook-signature.ts';
