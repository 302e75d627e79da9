import type { EventDraft } from '../decider.ts';
import type { EventMap } from '../foldable-event.ts';
import type { ConfirmedEvent, ConfirmedEventOf } from './confirmed-event.ts';
import { resolveRetryPolicy, type RetryPolicy } from './retry-policy.ts';
import type { TraceMeta } from './trace-meta.ts';

/** What a saga's reactions get besides the state. */
export interface SagaContext {
  readonly saga: string;
  /** The correlation key of this instance. */
  readonly key: string;
  /** 1 on the first run of this reaction, then 2, 3… on retries. */
  readonly attempt: number;
  /** The scheduler's time, in ms since the Unix epoch. */
  readonly now: number;
  /** The trace of the trigger: what the reaction emits is stamped with it. */
  readonly trace: TraceMeta;
}

/** What a compensation gets: the saga context, the step it undoes and why the saga failed. */
export interface SagaCompensationContext extends SagaContext {
  readonly step: string;
  readonly reason: string;
}

/** A durable timer: `afterMs` from now, the saga's `timeout.on` runs with this `name`. */
export interface SagaTimeout {
  /** Scheduling a name again replaces its earlier deadline. */
  readonly name: string;
  readonly afterMs: number;
}

/**
 * What a saga reaction returns. All of it — the state, the completed step, the emitted events and
 * commands, the timeouts — is written in one store transaction with the saga's checkpoint.
 */
export interface SagaReaction<S> {
  /** The next state (JSON); the same one when absent. */
  readonly state?: S;
  /** Events to emit (default kind `domain`, default stream the trigger's), traced from the trigger. */
  readonly emit?: readonly EventDraft[];
  /** Commands to emit (kind `command`), traced from the trigger. */
  readonly commands?: readonly EventDraft[];
  /**
   * The step the trigger completed, whose compensation (if `compensate` has one) runs should the
   * saga fail — later, or in this very reaction (`fail`, or throwing after the last attempt): the
   * trigger happened whatever the saga makes of it. Defaults to the trigger's event type
   * (`timeout:<name>` for a timeout); `false` completes none.
   */
  readonly step?: string | false;
  /** The saga finished: later events for it are ignored, its timeouts cancelled. */
  readonly done?: boolean;
  /**
   * The saga failed, for this reason (a rejection, a timeout…): the compensations of its completed
   * steps run, in reverse order, in the same transaction; its timeouts are cancelled.
   */
  readonly fail?: string;
  /** Timeouts to arm (durably: a restarted runner arms them again). */
  readonly schedule?: readonly SagaTimeout[];
  /** Names of timeouts to cancel. */
  readonly cancel?: readonly string[];
}

/** What a compensation returns: the events and commands that undo its step. */
export interface SagaCompensation {
  readonly emit?: readonly EventDraft[];
  readonly commands?: readonly EventDraft[];
}

/** A saga's reaction to one event type. */
export type SagaStep<S, E extends ConfirmedEvent = ConfirmedEvent> = (
  state: S,
  event: E,
  ctx: SagaContext,
) => SagaReaction<S> | Promise<SagaReaction<S>>;

/** Undoes one completed step. */
export type SagaCompensator<S> = (
  state: S,
  ctx: SagaCompensationContext,
) => SagaCompensation | Promise<SagaCompensation>;

/** The saga's timeouts: one armed at start when `afterMs` is set (named `saga`), and those reactions schedule. */
export interface SagaTimeoutHandler<S> {
  /** Arms a timeout named `saga` when an instance starts. */
  readonly afterMs?: number;
  readonly on: (
    state: S,
    timeout: { readonly name: string; readonly dueAt: number },
    ctx: SagaContext,
  ) => SagaReaction<S> | Promise<SagaReaction<S>>;
}

/** What {@link defineSaga} takes. */
export interface SagaDefinition<S, M extends object = EventMap> {
  /** Stable and unique in its runtime: the checkpoint, instances and timeouts are stored under it. */
  readonly name: string;
  /** The event types that start an instance (when none exists for the correlation key). */
  readonly startedBy: readonly (keyof M & string)[];
  /** The instance an event belongs to; `undefined` when it belongs to none. */
  readonly correlate: (event: ConfirmedEventOf<M>) => string | undefined;
  /** The state of a new instance (JSON). */
  readonly initial: S;
  /** Reactions by event type, to confirmed events only, in position order. */
  readonly on: { readonly [K in keyof M & string]?: SagaStep<S, ConfirmedEvent<K, M[K]>> };
  /** Compensations by step name. */
  readonly compensate?: { readonly [step: string]: SagaCompensator<S> };
  readonly timeout?: SagaTimeoutHandler<S>;
  /** How often a throwing reaction or compensation runs before the saga fails. Default: 5 attempts. */
  readonly retry?: RetryPolicy;
}

/** A saga, checked and ready for a runner: what {@link defineSaga} returns (state typing erased). */
export interface Saga {
  readonly name: string;
  readonly startedBy: ReadonlySet<string>;
  readonly correlate: (event: ConfirmedEvent) => string | undefined;
  readonly initial: unknown;
  readonly on: ReadonlyMap<string, SagaStep<unknown>>;
  readonly compensate: ReadonlyMap<string, SagaCompensator<unknown>>;
  readonly timeout?: SagaTimeoutHandler<unknown>;
  readonly retry: RetryPolicy;
}

/**
 * Defines a saga (a process manager, DESIGN.md §7): a state per correlation key, advanced by
 * confirmed events, that emits commands and events, compensates its completed steps in reverse
 * when it fails, and keeps durable timeouts. Its state, checkpoint and emits are written in one
 * transaction. Run it with `createReactionRunner` where exactly one runtime runs it: the client's
 * leader tab, or the hub.
 *
 * @example
 * type Checkout = { 'order.placed': { orderId: string }; 'payment.charged': { orderId: string };
 *   'payment.declined': { orderId: string; reason: string } };
 * const checkout = defineSaga<{ paid: boolean }, Checkout>({
 *   name: 'checkout',
 *   startedBy: ['order.placed'],
 *   correlate: (e) => e.data.orderId,
 *   initial: { paid: false },
 *   on: {
 *     'order.placed': (s, e) => ({ state: s, commands: [{ type: 'payment.charge', data: e.data }],
 *       schedule: [{ name: 'payment', afterMs: 60_000 }] }),
 *     'payment.charged': () => ({ state: { paid: true }, done: true }),
 *     'payment.declined': (s, e) => ({ state: s, fail: e.data.reason }),
 *   },
 *   compensate: { 'order.placed': (s, ctx) => ({ commands: [{ type: 'order.cancel', data: { orderId: ctx.key } }] }) },
 *   timeout: { on: (s) => ({ state: s, fail: 'payment timed out' }) },
 * });
 */
export function defineSaga<S, M extends object = EventMap>(definition: SagaDefinition<S, M>): Saga {
  const { name, startedBy, correlate, initial, on, compensate = {}, timeout, retry } = definition;
  if (typeof name !== 'string' || name.length === 0) throw new TypeError('a saga needs a non-empty name');
  if (typeof correlate !== 'function') throw new TypeError(`saga ${name}: correlate must be a function`);
  const steps = functionsOf<SagaStep<unknown>>(name, 'on', on);
  const compensations = functionsOf<SagaCompensator<unknown>>(name, 'compensate', compensate);
  if (!Array.isArray(startedBy) || startedBy.length === 0) {
    throw new TypeError(`saga ${name}: startedBy must list at least one event type`);
  }
  for (const type of startedBy) {
    if (!steps.has(type)) throw new TypeError(`saga ${name}: starts with ${type} but has no reaction to it`);
  }
  if (timeout !== undefined) {
    if (typeof timeout.on !== 'function') throw new TypeError(`saga ${name}: timeout.on must be a function`);
    if (timeout.afterMs !== undefined && !(timeout.afterMs >= 0 && Number.isFinite(timeout.afterMs))) {
      throw new RangeError(`saga ${name}: timeout.afterMs must be ≥ 0, got ${timeout.afterMs}`);
    }
  }
  const saga = {
    name,
    startedBy: new Set<string>(startedBy),
    // The definition promises the event typing; the runner only passes events of the types it lists.
    correlate: correlate as (event: ConfirmedEvent) => string | undefined,
    initial,
    on: steps,
    compensate: compensations,
    retry: resolveRetryPolicy(`saga ${name}`, retry),
  };
  return timeout === undefined ? saga : { ...saga, timeout: timeout as SagaTimeoutHandler<unknown> };
}

function functionsOf<F>(saga: string, field: string, record: object): Map<string, F> {
  const out = new Map<string, F>();
  for (const key of Object.keys(record)) {
    const value: unknown = (record as Record<string, unknown>)[key];
    if (value === undefined) continue;
    if (typeof value !== 'function') throw new TypeError(`saga ${saga}: ${field}.${key} is not a function`);
    out.set(key, value as F);
  }
  return out;
}
