import { z } from 'zod';
import { Limits } from './limits.ts';

/** `*` (every stream), an exact stream name, or a prefix ending in `*` (`board:*`). */
export const subscriptionSchema = z
  .string()
  .min(1)
  .max(Limits.maxStreamLength + 1)
  // oxlint-disable-next-line no-control-regex -- control characters are what it refuses
  .regex(/^[^\u0000-\u001f\u007f*]*\*?$/, 'a stream name, optionally ending in `*`');

/** A list of subscriptions as sent in `hello` and `subscribe`. */
export const subscriptionsSchema = z.array(subscriptionSchema).max(Limits.maxSubscriptions);

export { matchesSubscription } from './subscription-match.ts';
