import { ErrorCode, type EventEnvelope, type RejectionCode } from '@eventloom/protocol';
import type { PendingCommand } from '../client-store.ts';

/**
 * What to do with a pushed event the hub refused for good (DESIGN.md §4): decide its command again
 * on fresh state and append anew (`redecide`, events from `execute` only), forget it (`drop`), or
 * park it with the reason for a person (`dead-letter`). Whatever is chosen, the outbox moves on.
 */
export type ConflictAction = 'redecide' | 'drop' | 'dead-letter';

/** A pushed event the hub refused for good, as a {@link ConflictPolicy} sees it. */
export interface PushRejection {
  readonly event: EventEnvelope;
  /** `wrong-expected-version` (a conflict: the stream moved), or `invalid`, `unauthorized`, `too-large`, `id-conflict`. */
  readonly code: RejectionCode;
  readonly message: string;
  /** With `wrong-expected-version`: the stream's version at the hub. */
  readonly currentVersion?: number;
  /** The decision the event came from, if `execute` appended it. */
  readonly command?: PendingCommand;
}

/**
 * The app's policy for refused events. An action applies to conflicts (`wrong-expected-version`)
 * and every other refusal is dead-lettered; a function sees every refusal and chooses. `redecide`
 * falls back to `dead-letter` when the event has no command, its decider was not given to
 * `createSync`, or it was decided again `maxRedecides` times already.
 *
 * @example
 * createSync(loom, { …, deciders: [seats], conflicts: (r) => (r.event.type === 'presence.set' ? 'drop' : 'redecide') });
 */
export type ConflictPolicy = ConflictAction | ((rejection: PushRejection) => ConflictAction);

/** The default policy: decide conflicts again, park every other refusal. */
export const defaultConflictPolicy: ConflictPolicy = 'redecide';

/** The action a policy takes for one refusal (before the `redecide` fallbacks). */
export function conflictAction(policy: ConflictPolicy, rejection: PushRejection): ConflictAction {
  if (typeof policy === 'function') return policy(rejection);
  return rejection.code === ErrorCode.wrongExpectedVersion ? policy : 'dead-letter';
}

/**
 * Push results that are not final: the hub recorded nothing, and the event stays pending to be
 * pushed again — after the hub learns its version (`unknown-event-version`, from a hub older
 * than protocol 4; a newer hub records it and the event is held aside), from the right
 * clientSeq (`sequence-gap`), or later (`internal`, `unavailable`).
 */
export const UNDECIDED_CODES: ReadonlySet<RejectionCode> = new Set<RejectionCode>([
  ErrorCode.unknownEventVersion,
  ErrorCode.sequenceGap,
  ErrorCode.internal,
  ErrorCode.unavailable,
]);
