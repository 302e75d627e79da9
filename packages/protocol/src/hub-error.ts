import { z } from 'zod';
import { ErrorCode } from './error-codes.ts';

/**
 * Hub → client: a whole message or the connection was refused. Sent as the `hub-error` event, or
 * as `{ error }` in place of an ack's answer.
 */
export const hubErrorSchema = z.strictObject({
  code: z.enum(ErrorCode),
  message: z.string().max(1024),
  /** True when the same request may succeed later (rate limit, shutdown, sequence gap). */
  retryable: z.boolean(),
});
/** A hub error. */
export type HubError = z.infer<typeof hubErrorSchema>;

/** An ack's answer when the request failed as a whole. */
export const hubErrorReplySchema = z.strictObject({ error: hubErrorSchema });
/** An ack's answer when the request failed as a whole. */
export type HubErrorReply = z.infer<typeof hubErrorReplySchema>;
