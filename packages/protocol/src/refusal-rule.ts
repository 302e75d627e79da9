/**
 * # The refusal rule: events decided on a refused event are refused too
 *
 * A client decides a guarded event (one that carries `expectedVersion`) on the state it holds:
 * the stream's confirmed events, then its own pending ones. So when the hub refuses one of a
 * client's events, every later guarded event of that client on the same stream, appended while the
 * refused one was still pending, was decided on a state that included an event that will never
 * be committed. Such an event must not be committed by chance (its `expectedVersion` matching
 * because others wrote as many events): it is refused too, and the client decides it again on
 * fresh state. A command's events are all or nothing.
 *
 * The rule has this one implementation, {@link decidedOnRefused}, and both sides call it:
 * - the hub, while it plans a push batch ({@link RefusedInBatch}, used by `planAppend`): a
 *   refusal of a client's event on a stream, or a refused guarded event sent again, refuses the
 *   client's later guarded events on that stream in the same batch;
 * - the client, which cannot know which of its pushes the hub will refuse first: its refusal
 *   reminders send the refused event again just ahead of each event decided on it (`cutBatch`),
 *   so that the hub, answering the repeat with the recorded refusal, refuses the later one with
 *   it; and a refused decision is made again only once those have come back refused too.
 *
 * Once the refused event left the client's outbox (decided again, dead-lettered or dropped), only
 * the events appended up to then (`settledUpTo`) were decided on it; later ones were not.
 */

/** The fields of an event the rule looks at. */
export interface RefusalRuleEvent {
  readonly clientId: string;
  readonly clientSeq: number;
  readonly stream: string;
  readonly expectedVersion?: number | undefined;
}

/**
 * Whether `later` was decided on a state that included `refused`, and must therefore be refused
 * too: a guarded event of the same client on the same stream, appended after it, and (when the
 * refused event already left the client's outbox) no later than `settledUpTo`.
 */
export function decidedOnRefused(
  refused: RefusalRuleEvent,
  later: RefusalRuleEvent,
  settledUpTo = Number.POSITIVE_INFINITY,
): boolean {
  return (
    later.expectedVersion !== undefined &&
    later.clientId === refused.clientId &&
    later.stream === refused.stream &&
    refused.clientSeq < later.clientSeq &&
    later.clientSeq <= settledUpTo
  );
}

/**
 * The refusals seen so far in one push batch, in batch order, per client and stream (the first
 * speaks for the rest): what the hub needs to apply {@link decidedOnRefused} while it plans.
 */
export class RefusedInBatch {
  readonly #first = new Map<string, RefusalRuleEvent>();

  /** An event of the batch was refused, or a refused event was sent again in it. */
  refused(event: RefusalRuleEvent): void {
    const key = streamKey(event);
    if (!this.#first.has(key)) this.#first.set(key, event);
  }

  /** The refused event of this batch that `event` was decided on, if any. */
  decidedOn(event: RefusalRuleEvent): RefusalRuleEvent | undefined {
    const refused = this.#first.get(streamKey(event));
    return refused !== undefined && decidedOnRefused(refused, event) ? refused : undefined;
  }
}

function streamKey(event: RefusalRuleEvent): string {
  return `${event.clientId}\u0000${event.stream}`;
}
