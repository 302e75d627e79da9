import { z } from 'zod';
import { subscriptionsSchema } from './subscription.ts';

/**
 * Client → hub: replace this connection's subscriptions; answered by `subscribe` ack. Pure, so
 * that a client's bundle (which decodes only the ack) drops it.
 */
export const subscribeSchema = /* @__PURE__ */ z.strictObject({
  subscriptions: subscriptionsSchema,
});
/** The `subscribe` message. */
export type Subscribe = z.infer<typeof subscribeSchema>;

/** Hub → client: the subscriptions now in force and the head at that moment. */
export const subscribeAckSchema = z.strictObject({
  subscriptions: subscriptionsSchema,
  head: z.int().min(0),
});
/** The `subscribe` ack. */
export type SubscribeAck = z.infer<typeof subscribeAckSchema>;
