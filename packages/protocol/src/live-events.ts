import { z } from 'zod';
import { committedEventSchema } from './envelope.ts';
import { Limits } from './limits.ts';

/**
 * Hub → client, live: newly committed events of the client's subscriptions, in position order.
 * `prev` is the position up to which this socket was sent everything it subscribes to; a client
 * whose own last position differs has missed something and pulls.
 */
export const liveEventsSchema = z.strictObject({
  events: z.array(committedEventSchema).min(1).max(Limits.maxBatchSize),
  prev: z.int().min(0),
});
/** The live `events` message. */
export type LiveEvents = z.infer<typeof liveEventsSchema>;
