import { z } from 'zod';
import { committedEventSchema } from './envelope.ts';
import { Limits } from './limits.ts';

/** Hub → client: a page of committed events in position order. */
export const pullResultSchema = z.strictObject({
  events: z.array(committedEventSchema).max(Limits.maxPullLimit),
  /** The highest committed position when the page was read. */
  head: z.int().min(0),
  /** The position the page covers up to (inclusive); the next pull starts after it. */
  until: z.int().min(0),
  /** True when more events follow after `until`. */
  more: z.boolean(),
});
/** The answer to `pull`. */
export type PullResult = z.infer<typeof pullResultSchema>;
