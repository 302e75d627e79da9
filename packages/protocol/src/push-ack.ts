import { z } from 'zod';
import { eventIdSchema, positionSchema } from './envelope.ts';
import { REJECTION_CODES } from './error-codes.ts';
import { Limits } from './limits.ts';

/** The event was committed now. */
export const pushOkSchema = z.strictObject({
  status: z.literal('ok'),
  id: eventIdSchema,
  position: positionSchema,
  streamVersion: z.int().min(1),
});

/** The event had been committed before (same id and content, or a `clientSeq` already accepted). */
export const pushDuplicateSchema = z.strictObject({
  status: z.literal('duplicate'),
  id: eventIdSchema,
  position: positionSchema,
});

/** The event was not committed, with why. `id` echoes what was sent, or '' when it was not readable. */
export const pushRejectedSchema = z.strictObject({
  status: z.literal('rejected'),
  id: z.string().max(64),
  code: z.enum(REJECTION_CODES),
  message: z.string().max(1024),
  /** With `wrong-expected-version`: the stream's version now. */
  currentVersion: z.int().min(0).optional(),
});

/** The result for one pushed event. */
export const pushResultSchema = z.discriminatedUnion('status', [
  pushOkSchema,
  pushDuplicateSchema,
  pushRejectedSchema,
]);
/** The result for one pushed event. */
export type PushResult = z.infer<typeof pushResultSchema>;

/** Hub → client: one result per pushed event, in the order they were sent. */
export const pushAckSchema = z.strictObject({
  results: z.array(pushResultSchema).max(Limits.maxBatchSize),
});
/** The `push` ack. */
export type PushAck = z.infer<typeof pushAckSchema>;
