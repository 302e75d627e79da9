import type { ErrorSnapshot } from './dead-letter.ts';
import type { TraceMeta } from './trace-meta.ts';

/**
 * Where a saga instance is: `active` until a reaction says `done`; `compensated` after a failure
 * whose compensations were emitted; `failed` when the compensations themselves kept failing (a dead
 * letter then holds the error, and retrying it runs them again).
 */
export type SagaStatus = 'active' | 'done' | 'compensated' | 'failed';

/** Why a saga failed. */
export interface SagaFailure {
  /** The reason a reaction gave with `fail`, or the message of the error a step threw. */
  readonly reason: string;
  /** The error, when a step threw after its last attempt. */
  readonly error?: ErrorSnapshot;
  /** ISO time. */
  readonly at: string;
}

/**
 * One run of a saga, stored: its state and the steps it completed, written in the same transaction
 * as its checkpoint and what it emitted. Instances stay after they finish, so a start event seen
 * again (or another with the same correlation key) never runs the saga twice.
 */
export interface SagaInstance {
  /** `<saga>/<correlation key>`. */
  readonly id: string;
  readonly saga: string;
  /** What `correlate` returned. */
  readonly key: string;
  readonly status: SagaStatus;
  /** JSON. */
  readonly state: unknown;
  /** 1 on the first write, one more on each: the optimistic-concurrency token. */
  readonly version: number;
  /** Completed steps, in order; compensations run for them in reverse. */
  readonly steps: readonly string[];
  /** The compensations emitted, in the order they ran. */
  readonly compensated: readonly string[];
  /** The stream of the start event: the default stream of what the saga emits. */
  readonly stream: string;
  /** The trace of the start event (its correlation id carries through the whole saga). */
  readonly trace: TraceMeta;
  readonly startedAt: string;
  readonly updatedAt: string;
  readonly failure?: SagaFailure;
}

/** A saga timeout, stored durably so that a restarted runner arms it again. */
export interface SagaTimeoutRecord {
  /** `<instance id>/<timeout name>`: scheduling a name again replaces it. */
  readonly id: string;
  readonly saga: string;
  readonly instance: string;
  readonly name: string;
  /** When it fires, in ms since the Unix epoch by the runtime's scheduler. */
  readonly dueAt: number;
  /** The trace of what scheduled it: what the timeout's reaction emits is caused by that. */
  readonly trace: TraceMeta;
}

/**
 * The id of a saga instance.
 *
 * @example sagaInstanceId('checkout', 'order-42') // 'checkout/order-42'
 */
export function sagaInstanceId(saga: string, key: string): string {
  return `${saga}/${key}`;
}
