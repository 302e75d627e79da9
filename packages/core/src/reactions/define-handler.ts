import type { EventDraft } from '../decider.ts';
import type { EventMap } from '../foldable-event.ts';
import type { ConfirmedEvent, ConfirmedEventOf } from './confirmed-event.ts';
import { resolveRetryPolicy, type RetryPolicy } from './retry-policy.ts';
import type { TraceMeta } from './trace-meta.ts';

/** What a handler's `handle` gets besides the event. Valid during the call only. */
export interface HandlerContext {
  readonly handler: string;
  /** 1 on the first run of this event, then 2, 3… on retries (a dead-letter retry counts on). */
  readonly attempt: number;
  /** The scheduler's time at the start of this attempt, in ms since the Unix epoch. */
  readonly now: number;
  /** The trace of the event: what `emit` and `command` stamp on what they send. */
  readonly trace: TraceMeta;
  /**
   * Emits an event (default kind `domain`, default stream the trigger's) with `correlationId`,
   * `causationId` and `traceparent` set from the trigger. It is written to the outbox in the same
   * transaction as the handler's checkpoint, and only if `handle` succeeds: a failed attempt's
   * emits are dropped.
   */
  emit(draft: EventDraft): void;
  /** Emits a command (kind `command`), like {@link HandlerContext.emit}. */
  command(draft: EventDraft): void;
}

/** Which events a handler takes: a type, several, or a predicate over the confirmed event. */
export type HandlerFilter<K extends string = string> =
  | K
  | readonly K[]
  | ((event: ConfirmedEvent) => boolean);

/** What {@link defineHandler} takes. */
export interface HandlerDefinition<M extends object = EventMap> {
  /** Stable and unique in its runtime: checkpoints and dead letters are stored under it. */
  readonly name: string;
  /** The events it handles; the others only move its checkpoint on. */
  readonly on: HandlerFilter<keyof M & string>;
  /**
   * Reacts to one confirmed event. Runs once per event per runtime, in position order; throwing
   * (or rejecting) retries it with backoff, and after the last attempt dead-letters the event and
   * goes on. Side effects outside `ctx` should be keyed by `event.id` (see `checkpointEvery`).
   */
  readonly handle: (event: ConfirmedEventOf<M>, ctx: HandlerContext) => void | Promise<void>;
  /** Default: {@link DEFAULT_RETRY_POLICY} (5 attempts, 100 ms doubling to 30 s). */
  readonly retry?: RetryPolicy;
  /**
   * Writes the checkpoint after at most this many events (and at the end of every page the feed
   * gives). What `ctx` emits is written with the checkpoint, so it is exactly once whatever this
   * is; an effect outside the store may run again for up to this many events after a crash (the
   * at-least-once window), so key it by `event.id`. Default 100; 1 writes after every event.
   */
  readonly checkpointEvery?: number;
}

/** A handler, checked and ready for a runner: what {@link defineHandler} returns. */
export interface Handler {
  readonly name: string;
  /** Whether the handler takes this event. */
  readonly matches: (event: ConfirmedEvent) => boolean;
  readonly handle: (event: ConfirmedEvent, ctx: HandlerContext) => void | Promise<void>;
  readonly retry: RetryPolicy;
  readonly checkpointEvery: number;
  /**
   * Optional: told, before each page, the events of it this handler will be given (matching, not
   * yet handled), so that it can start their I/O at once (pipelining); `handle` is still called
   * for each, in order, and the checkpoint passes an event only once its `handle` succeeded.
   * Must not throw; what it starts must be safe to repeat (it runs again after a crash or stop).
   */
  readonly prepare?: (events: readonly ConfirmedEvent[]) => void;
}

/** The default of {@link HandlerDefinition.checkpointEvery}. */
export const DEFAULT_CHECKPOINT_EVERY = 100;

/**
 * Defines a handler: a reaction to confirmed events with a checkpoint, dedupe by event id, retries
 * with backoff and a dead-letter queue (DESIGN.md §7). Type the events with an event map (type →
 * data) for typed `data`. Run it with `createReactionRunner`.
 *
 * @example
 * type ShopEvents = { 'order.placed': { orderId: string; total: number } };
 * const sendInvoice = defineHandler<ShopEvents>({
 *   name: 'send-invoice',
 *   on: 'order.placed',
 *   async handle(event, ctx) {
 *     await mailer.send(event.data.orderId, { idempotencyKey: event.id });
 *     ctx.emit({ type: 'invoice.sent', data: { orderId: event.data.orderId } });
 *   },
 *   retry: { attempts: 5, backoff: { initialMs: 500, factor: 2, maxMs: 60_000, jitter: 0.2 } },
 * });
 */
export function defineHandler<M extends object = EventMap>(definition: HandlerDefinition<M>): Handler {
  const { name, on, handle, retry, checkpointEvery = DEFAULT_CHECKPOINT_EVERY } = definition;
  if (typeof name !== 'string' || name.length === 0) throw new TypeError('a handler needs a non-empty name');
  if (typeof handle !== 'function') throw new TypeError(`handler ${name}: handle must be a function`);
  if (!Number.isSafeInteger(checkpointEvery) || checkpointEvery < 1) {
    throw new RangeError(`handler ${name}: checkpointEvery must be an integer ≥ 1, got ${checkpointEvery}`);
  }
  return {
    name,
    matches: toMatcher(name, on),
    // The definition promises that the events its filter takes carry its data types.
    handle: handle as (event: ConfirmedEvent, ctx: HandlerContext) => void | Promise<void>,
    retry: resolveRetryPolicy(`handler ${name}`, retry),
    checkpointEvery,
  };
}

function toMatcher(name: string, on: HandlerFilter): (event: ConfirmedEvent) => boolean {
  if (typeof on === 'function') return on;
  if (typeof on === 'string') return (event) => event.type === on;
  if (Array.isArray(on) && on.every((t) => typeof t === 'string')) {
    const types = new Set<string>(on);
    return (event) => types.has(event.type);
  }
  throw new TypeError(`handler ${name}: on must be an event type, a list of types or a predicate`);
}
