import { z } from 'zod';
import { Limits } from './limits.ts';
import { subscriptionsSchema } from './subscription.ts';

/** Client → hub: committed events after position `from`, at most `limit`, optionally only some streams. */
export const pullSchema = z.strictObject({
  /** Exclusive: the page starts at `from + 1`. */
  from: z.int().min(0),
  limit: z.int().min(1).max(Limits.maxPullLimit),
  /** Subscriptions to filter by (exact names or `prefix*`); all readable streams when absent. */
  streams: subscriptionsSchema.optional(),
});
/** The `pull` message. */
export type Pull = z.infer<typeof pullSchema>;
