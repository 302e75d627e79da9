import { decidedOnRefused } from '@eventloom/protocol';
import type { OutboxRow } from '../client-store.ts';

/**
 * The client's half of the refusal rule (`decidedOnRefused` in `@eventloom/protocol`, where the
 * rule is stated): the refused guarded events (with `expectedVersion`) of this client, one per
 * stream, that later guarded events on the stream may have been decided on. Such a later event
 * must not be accepted by chance: the session sends the refused event again just ahead of it
 * (`cutBatch`), and the hub, which answers the repeat with the recorded refusal, refuses the later
 * one with it. It is then decided again on fresh state, like the first.
 *
 * While the refused event is pending (parked for a new decision), every later guarded event on
 * its stream was decided with it in the state; once it leaves the outbox (decided again,
 * dead-lettered or dropped), only the events up to `upTo` — those already there — were.
 */
export class RefusalReminders {
  readonly #byStream = new Map<string, { readonly row: OutboxRow; upTo: number }>();

  /** A guarded event was refused: later guarded events on its stream depend on it. */
  refused(row: OutboxRow): void {
    if (row.event.expectedVersion === undefined) return;
    const current = this.#byStream.get(row.event.stream);
    // The earliest refusal still pending speaks for the ones decided on it.
    if (current !== undefined && current.upTo === Infinity && current.row.clientSeq < row.clientSeq) return;
    this.#byStream.set(row.event.stream, { row, upTo: Infinity });
  }

  /** The refused event `seq` left the outbox; events after `upTo` were decided without it. */
  settled(seq: number, upTo: number): void {
    for (const reminder of this.#byStream.values()) {
      if (reminder.row.clientSeq === seq && reminder.upTo === Infinity) reminder.upTo = upTo;
    }
  }

  /**
   * Outbox rows were numbered anew (`seqs`: old to new; rows not in it keep theirs, all below the
   * new ones): a pending refused row takes its new seq, and `upTo` moves to the new seq of the last
   * row at or below it, so the same rows stay decided on the refused event.
   */
  renumbered(seqs: ReadonlyMap<number, number>): void {
    const lowest = Math.min(...seqs.values());
    for (const [stream, reminder] of this.#byStream) {
      const seq = seqs.get(reminder.row.clientSeq);
      const row =
        seq === undefined
          ? reminder.row
          : { ...reminder.row, clientSeq: seq, event: { ...reminder.row.event, clientSeq: seq } };
      let upTo = reminder.upTo;
      if (upTo !== Infinity) {
        upTo = Math.min(upTo, lowest - 1);
        for (const [from, to] of seqs) if (from <= reminder.upTo) upTo = Math.max(upTo, to);
      }
      this.#byStream.set(stream, { row, upTo });
    }
  }

  /** The refused event to send again ahead of `row`, if `row` was decided on it. */
  for(row: OutboxRow): OutboxRow | undefined {
    const reminder = this.#byStream.get(row.event.stream);
    if (reminder === undefined) return undefined;
    return decidedOnRefused(reminder.row.event, row.event, reminder.upTo) ? reminder.row : undefined;
  }
}
