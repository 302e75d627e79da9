import { z } from 'zod';
import { eventEnvelopeSchema } from './envelope.ts';
import { Limits } from './limits.ts';

/** Client → hub: outbox events in `clientSeq` order, answered by a `push` ack. */
export const pushSchema = z.strictObject({
  events: z.array(eventEnvelopeSchema).min(1).max(Limits.maxBatchSize),
  /**
   * Set on a batch of events the hub had acknowledged before and lost (its log was restored from
   * an older backup): the device sends them again, same ids, for new positions. Protocol 3.
   */
  repair: z.literal(true).optional(),
});
/** The `push` message. */
export type Push = z.infer<typeof pushSchema>;
