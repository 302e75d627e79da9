import { z } from 'zod';
import { eventEnvelopeSchema } from './envelope.ts';
import { Limits } from './limits.ts';

/** Client → hub: outbox events in `clientSeq` order, answered by a `push` ack. */
export const pushSchema = z.strictObject({
  events: z.array(eventEnvelopeSchema).min(1).max(Limits.maxBatchSize),
});
/** The `push` message. */
export type Push = z.infer<typeof pushSchema>;
