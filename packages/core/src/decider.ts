import type { EventMeta, JsonValue, StoredEventKind } from '@eventloom/protocol';
import type { EventMap, FoldableEventOf } from './foldable-event.ts';

/**
 * An event a decider wants recorded: type and data (of the latest version), and optionally its
 * stream, kind and meta. The client completes it into an envelope (id, version, clientId,
 * clientSeq, hlc, expectedVersion).
 */
export interface EventDraft<T extends string = string, D = unknown> {
  readonly type: T;
  readonly data: D;
  /** Defaults to the stream the decider decided on. */
  readonly stream?: string;
  /** Defaults to `domain`. */
  readonly kind?: StoredEventKind;
  readonly meta?: EventMeta;
}

/** The union of {@link EventDraft}s that an {@link EventMap} allows, discriminated by `type`. */
export type EventDraftOf<M extends object> = { [K in keyof M & string]: EventDraft<K, M[K]> }[keyof M &
  string];

/** A command refused by a decider, as a value: a code the app can branch on, a message, details. */
export interface Rejection<Code extends string = string> {
  readonly rejected: true;
  readonly code: Code;
  readonly message: string;
  /** JSON, so that a rejection can be stored (dead letters) and sent. */
  readonly details?: JsonValue;
}

/** What `decide` returns: the events to record (possibly none), or a {@link Rejection}. */
export type Decision<M extends object = EventMap, Code extends string = string> =
  | readonly EventDraftOf<M>[]
  | Rejection<Code>;

/** What {@link defineDecider} takes. */
export interface DeciderDefinition<S, C, M extends object = EventMap, Code extends string = string> {
  /** Stable name, for logs, metrics and dead letters. */
  readonly name: string;
  /** The state of a stream with no events. Shared, so never mutated. */
  readonly initial: S;
  /** Pure: the state after one more event of the stream. Return `state` for types it does not care about. */
  readonly evolve: (state: S, event: FoldableEventOf<M>) => S;
  /** Pure: accept the command with the events it causes, or refuse it with {@link reject}. Never throws for a business rule. */
  readonly decide: (command: C, state: S) => Decision<M, Code>;
  /** The stream (consistency boundary) a command is decided on; the client reads and appends there. */
  readonly stream?: (command: C) => string;
}

/**
 * A decider (command model): `evolve` folds a stream's events into the state an invariant needs,
 * `decide` turns a command (a plain object, not a `command`-kind event) and that state into new
 * events or a rejection. Events are facts; only `decide` can say no.
 *
 * A client runs one with `execute(decider, command)`: it reads the stream `decider.stream(command)`
 * (confirmed events in position order, then its pending ones in clientSeq order), folds them with
 * `evolve`, calls `decide`, and appends the drafts with `expectedVersion` set to the stream version
 * the state was folded at — the last confirmed `streamVersion` plus the stream's pending events,
 * which the hub orders first — and one more for each further draft of the same stream. If the hub
 * rejects with `wrong-expected-version` because the stream moved, the default policy runs the
 * decider again on the fresh state and appends anew (DESIGN.md §4).
 */
export type Decider<S, C, M extends object = EventMap, Code extends string = string> = DeciderDefinition<
  S,
  C,
  M,
  Code
>;

/** The outcome of {@link runDecider}: the drafts to append, or the rejection; with the state decided on. */
export type DecideResult<S, M extends object = EventMap, Code extends string = string> =
  | { readonly ok: true; readonly events: readonly EventDraftOf<M>[]; readonly state: S }
  | { readonly ok: false; readonly rejection: Rejection<Code>; readonly state: S };

/**
 * Defines a decider.
 *
 * @example
 * type Events = { 'seat.booked': { seat: string; by: string } };
 * type Book = { seat: string; by: string };
 * const seats = defineDecider<ReadonlySet<string>, Book, Events, 'seat-taken'>({
 *   name: 'seats',
 *   initial: new Set(),
 *   evolve: (taken, e) => new Set(taken).add(e.data.seat),
 *   decide: (cmd, taken) =>
 *     taken.has(cmd.seat)
 *       ? reject('seat-taken', `seat ${cmd.seat} is sold`, { seat: cmd.seat })
 *       : [{ type: 'seat.booked', data: cmd }],
 *   stream: () => 'show:42',
 * });
 */
export function defineDecider<S, C, M extends object = EventMap, Code extends string = string>(
  definition: DeciderDefinition<S, C, M, Code>,
): Decider<S, C, M, Code> {
  const { name, evolve, decide } = definition;
  if (typeof name !== 'string' || name.length === 0) throw new TypeError('a decider needs a non-empty name');
  if (typeof evolve !== 'function' || typeof decide !== 'function') {
    throw new TypeError(`decider ${name}: evolve and decide must be functions`);
  }
  return { ...definition };
}

/**
 * Refuses a command: returns a {@link Rejection} for `decide` to return (it does not throw).
 *
 * @example return reject('column-full', 'the column holds 5 cards at most', { limit: 5 });
 */
export function reject<Code extends string>(
  code: Code,
  message: string,
  details?: JsonValue,
): Rejection<Code> {
  return details === undefined
    ? { rejected: true, code, message }
    : { rejected: true, code, message, details };
}

/** Whether a decision is a {@link Rejection}. */
export function isRejection<M extends object, Code extends string>(
  decision: Decision<M, Code>,
): decision is Rejection<Code> {
  return !Array.isArray(decision);
}

/**
 * Folds a stream's events with `evolve` (from `from`, e.g. a snapshot, or the initial state), then
 * decides the command on the result.
 *
 * @example
 * const result = runDecider(seats, { seat: 'A1', by: 'ann' }, history);
 * if (result.ok) await append(result.events); else show(result.rejection.message);
 */
export function runDecider<S, C, M extends object, Code extends string>(
  decider: Decider<S, C, M, Code>,
  command: C,
  events: Iterable<FoldableEventOf<M>>,
  from: S = decider.initial,
): DecideResult<S, M, Code> {
  const { evolve } = decider;
  let state = from;
  for (const event of events) state = evolve(state, event);
  const decision = decider.decide(command, state);
  return isRejection(decision)
    ? { ok: false, rejection: decision, state }
    : { ok: true, events: decision, state };
}
