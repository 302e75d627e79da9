import { z } from 'zod';
import { clientIdSchema } from './envelope.ts';
import { subscriptionsSchema } from './subscription.ts';

/** Client → hub, first message on every connection. Answered by `welcome` or a hub error. */
export const helloSchema = z.strictObject({
  /** The protocol version the client speaks. */
  protocol: z.int().min(0),
  clientId: clientIdSchema,
  /** The highest position the client has stored as confirmed; 0 when it has none. */
  lastPosition: z.int().min(0),
  /** The streams to receive live `events` for. */
  subscriptions: subscriptionsSchema,
  /** The fingerprint of the client's event registry; null when it has none. */
  schemaFingerprint: z.string().min(1).max(128).nullable(),
});
/** The `hello` message. */
export type Hello = z.infer<typeof helloSchema>;
