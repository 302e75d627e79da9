/**
 * `@eventloom/protocol/codes`: the error codes, the refusal rule and the subscription match,
 * without the message schemas (so without zod). For code that judges events but never decodes a
 * message, such as the hub's SQLite thread, which then does not pay for zod and every schema in
 * its own heap.
 */
export { ErrorCode, ERROR_CODES, REJECTION_CODES, type RejectionCode } from './error-codes.ts';
export { decidedOnRefused, RefusedInBatch, type RefusalRuleEvent } from './refusal-rule.ts';
export { matchesSubscription } from './subscription-match.ts';
