import type { EventMeta } from '@eventloom/protocol';
import { CoreError, CoreErrorCode } from '../core-error.ts';
import { isRejection, type Decider, type Decision, type EventDraft, type Rejection } from '../decider.ts';
import type { EventMap, FoldableEvent, FoldableEventOf } from '../foldable-event.ts';
import type { ConfirmedEvent } from '../reactions/confirmed-event.ts';
import { defineHandler, type Handler, type HandlerContext } from '../reactions/define-handler.ts';
import type { RetryPolicy } from '../reactions/retry-policy.ts';
import { commandTargetOf, HUB_TARGET } from './command-target.ts';
import type { CommandRejectedData } from './command-rejected-event.ts';
import { rejectedTypeOf } from './command-rejected-event.ts';
import { replyOf, type ReplyMeta } from './reply-meta.ts';

/** What {@link defineCommandHandler} takes. */
export interface CommandHandlerDefinition<S, C, M extends object = EventMap, Code extends string = string> {
  /** Stable and unique in its runtime: the checkpoint and dead letters are stored under it. */
  readonly name: string;
  /** The command type it decides (the `type` of the `command`-kind events it takes). */
  readonly command: string;
  /** Whose commands it takes: {@link HUB_TARGET} (the default) on the hub, the clientId on a client. */
  readonly target?: string;
  /** Folds the stream and decides: the same decider a client runs with `execute`. */
  readonly decider: Decider<S, C, M, Code>;
  /**
   * The stream's confirmed events in position order (commands among them are skipped): on the hub
   * from its event store, on a client with `loom.readEvents({ stream })`. The stream is
   * `decider.stream(command data)`, or the command event's own stream when the decider has none.
   */
  readonly load: (
    stream: string,
    command: ConfirmedEvent<string, C>,
  ) => Iterable<FoldableEvent> | Promise<Iterable<FoldableEvent>>;
  /** The type of the rejection event. Default `<command>.rejected` (see `commandRejectedEvent`). */
  readonly rejectedType?: string;
  /** Retries of unexpected failures (a `load` or `decide` that throws), then a dead letter. */
  readonly retry?: RetryPolicy;
  /** Default 1: each command's reply is stored with the checkpoint before the next command runs. */
  readonly checkpointEvery?: number;
}

/** A command handler: a core {@link Handler} that knows the route it serves, for {@link routeCommands}. */
export interface CommandHandler extends Handler {
  readonly command: string;
  readonly target: string;
  readonly rejectedType: string;
}

/** How many decided-but-not-yet-visible replies a handler remembers (see {@link defineCommandHandler}). */
const MAX_UNSEEN = 1024;

/**
 * Defines the one handler of a command type for one target (DESIGN.md §7): for each confirmed
 * `command` event of that type addressed to it, it loads the stream, runs the decider and emits
 * the decided events — or, when `decide` returns (or throws) a {@link Rejection}, one
 * `<command>.rejected` event — traced from the command (`correlationId`, `causationId`) and stamped
 * `meta.reply` (see {@link ReplyMeta}), the reply that `awaitReply` waits for. Anything else thrown
 * retries with backoff and then dead-letters, as for any handler.
 *
 * Idempotent by command id: the runner dedupes redelivery and writes the reply with the checkpoint
 * (deterministic outbox ids), and a command whose reply `load` already shows is not decided again.
 * Replies it emitted that `load` does not show yet (still in the outbox) are folded on top, so
 * commands in a row decide on each other's outcome. Register it through {@link routeCommands}.
 *
 * @example
 * const bookSeat = defineCommandHandler({
 *   name: 'book-seat',
 *   command: 'seat.book',
 *   decider: seats,
 *   load: async (stream) => (await hubStore.read({ from: 0, limit: 5000, streams: [stream] })).events,
 * });
 * const runner = createReactionRunner({ store, feed, scheduler, handlers: routeCommands([bookSeat]) });
 */
export function defineCommandHandler<S, C, M extends object = EventMap, Code extends string = string>(
  definition: CommandHandlerDefinition<S, C, M, Code>,
): CommandHandler {
  const { name, command, target = HUB_TARGET, decider, load, retry, checkpointEvery = 1 } = definition;
  if (typeof command !== 'string' || command.length === 0) {
    throw new CoreError(CoreErrorCode.invalidDefinition, `command handler ${name}: command must be a type`);
  }
  if (typeof target !== 'string' || target.length === 0) {
    throw new CoreError(CoreErrorCode.invalidDefinition, `command handler ${name}: target must be non-empty`);
  }
  if (typeof load !== 'function' || typeof decider?.decide !== 'function') {
    throw new CoreError(
      CoreErrorCode.invalidDefinition,
      `command handler ${name}: needs a decider and a load function`,
    );
  }
  const rejectedType = definition.rejectedType ?? rejectedTypeOf(command);
  const unseen = new UnseenReplies();
  const evolve = decider.evolve as (state: S, event: FoldableEvent) => S;

  async function handle(event: ConfirmedEvent, ctx: HandlerContext): Promise<void> {
    const data = event.data as C;
    const stream = decider.stream?.(data) ?? event.stream;
    const history = [...(await load(stream, event as ConfirmedEvent<string, C>))];
    const answered = new Set<string>();
    for (const e of history) {
      const reply = replyOf(e);
      if (reply !== undefined) answered.add(reply.to);
    }
    unseen.shown(answered);
    if (answered.has(event.id)) return;
    let state = decider.initial;
    for (const e of history) if (e.kind !== 'command') state = evolve(state, e);
    for (const e of unseen.events(stream, event.id)) state = evolve(state, e);
    const decision = decide(decider, data, state);
    if (isRejection(decision)) {
      const { code, message, details } = decision;
      const rejected: CommandRejectedData =
        details === undefined ? { code, message } : { code, message, details };
      const reply = { to: event.id, count: 1, rejected: true } satisfies ReplyMeta;
      ctx.emit({ type: rejectedType, data: rejected, stream, meta: { reply } });
      unseen.add(event.id, []);
      return;
    }
    const reply = { to: event.id, count: decision.length } satisfies ReplyMeta;
    const drafts = decision.map((draft): EventDraft => {
      const meta: EventMeta = { ...draft.meta };
      meta['reply'] = reply;
      const base = { type: draft.type, data: draft.data, stream: draft.stream ?? stream, meta };
      return draft.kind === undefined ? base : { ...base, kind: draft.kind };
    });
    for (const draft of drafts) ctx.emit(draft);
    unseen.add(
      event.id,
      drafts.map((draft, i) => pendingEvent(event, draft, i)),
    );
  }

  const handler = defineHandler({
    name,
    on: (event) => event.kind === 'command' && event.type === command && commandTargetOf(event) === target,
    handle,
    checkpointEvery,
    ...(retry === undefined ? {} : { retry }),
  });
  return { ...handler, command, target, rejectedType };
}

/** Runs `decide`; a thrown {@link Rejection} counts as returned. */
function decide<S, C, M extends object, Code extends string>(
  decider: Decider<S, C, M, Code>,
  command: C,
  state: S,
): Decision<M, Code> {
  try {
    return decider.decide(command, state);
  } catch (thrown) {
    if (isThrownRejection(thrown)) return thrown as Rejection<Code>;
    throw thrown;
  }
}

function isThrownRejection(thrown: unknown): thrown is Rejection {
  if (typeof thrown !== 'object' || thrown === null) return false;
  const { rejected, code, message } = thrown as Partial<Rejection>;
  return rejected === true && typeof code === 'string' && typeof message === 'string';
}

/** An emitted draft as the decider folds it before the log shows it: pending, like a client's outbox. */
function pendingEvent(command: ConfirmedEvent, draft: EventDraft, index: number): FoldableEvent {
  return {
    id: `${command.id}/reply/${index}`,
    type: draft.type,
    version: 1,
    kind: draft.kind ?? 'domain',
    stream: draft.stream ?? command.stream,
    data: draft.data,
    meta: draft.meta ?? {},
    clientId: command.clientId,
    clientSeq: command.clientSeq,
    hlc: command.hlc,
  } as FoldableEventOf<EventMap>;
}

/**
 * The replies this handler decided that `load` has not shown yet, oldest first. The outbox delivers
 * in order, so once a reply shows, those decided before it have shown too (or never will, if the
 * log refused them): they are forgotten with it.
 */
class UnseenReplies {
  readonly #replies = new Map<string, readonly FoldableEvent[]>();

  add(commandId: string, events: readonly FoldableEvent[]): void {
    this.#replies.delete(commandId);
    this.#replies.set(commandId, events);
    if (this.#replies.size > MAX_UNSEEN) {
      const oldest = this.#replies.keys().next().value;
      if (oldest !== undefined) this.#replies.delete(oldest);
    }
  }

  shown(commandIds: ReadonlySet<string>): void {
    let last: string | undefined;
    for (const id of this.#replies.keys()) if (commandIds.has(id)) last = id;
    if (last === undefined) return;
    for (const id of this.#replies.keys()) {
      this.#replies.delete(id);
      if (id === last) return;
    }
  }

  /** The unseen events of a stream, leaving out the reply to `except` (a command decided again). */
  *events(stream: string, except: string): Iterable<FoldableEvent> {
    for (const [id, events] of this.#replies) {
      if (id === except) continue;
      for (const event of events) if (event.stream === stream) yield event;
    }
  }
}
