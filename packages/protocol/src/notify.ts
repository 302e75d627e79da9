import { z } from 'zod';
import {
  clientIdSchema,
  eventIdSchema,
  eventMetaSchema,
  eventTypeSchema,
  jsonValueSchema,
  streamSchema,
} from './envelope.ts';

/**
 * Ephemeral messages, never stored, delivered at most once to whoever is connected now:
 * notifications (presence, typing), queries, and replies to queries.
 */
export const notifySchema = z.strictObject({
  id: eventIdSchema,
  kind: z.enum(['notification', 'query', 'reply']),
  type: eventTypeSchema,
  /** The stream whose subscribers receive it. */
  stream: streamSchema,
  data: jsonValueSchema,
  meta: eventMetaSchema.optional(),
  /** Set by the hub: the sending client. */
  from: clientIdSchema.optional(),
  /** Deliver to this client only. */
  to: clientIdSchema.optional(),
  /** With `reply`: the id of the query it answers. */
  replyTo: eventIdSchema.optional(),
  /** With `query`: how long the sender waits for replies. */
  timeoutMs: z.int().min(1).max(300_000).optional(),
});
/** The `notify` message. */
export type Notify = z.infer<typeof notifySchema>;
