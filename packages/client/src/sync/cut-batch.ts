import type { OutboxRow } from '../client-store.ts';

/** What {@link cutBatch} decides from: the outbox and what the session and the engine know about it. */
export interface BatchInput {
  /** Unacked outbox rows after the push cursor, in clientSeq order (the session reads `limit + 1`). */
  readonly rows: readonly OutboxRow[];
  /** Events per batch. */
  readonly limit: number;
  /** Bytes per batch (the events' JSON, with the message's envelope). */
  readonly maxBytes: number;
  /** Whether a row waits to be decided again (refused, queued for a new decision): not pushed. */
  readonly parked: (clientSeq: number) => boolean;
  /** Streams with guarded events (`expectedVersion`) in a batch in flight. */
  readonly guardedInFlight: ReadonlySet<string> | ReadonlyMap<string, unknown>;
  /** The refused event `row` was decided on, to send again just ahead of it (the refusal rule). */
  readonly reminder: (row: OutboxRow) => OutboxRow | undefined;
}

/** The next push batch. */
export interface Batch {
  /** The rows to push, in order: outbox rows, each reminder just ahead of the first row it is for. */
  readonly batch: OutboxRow[];
  /** The clientSeqs of the reminders in `batch` (refused events sent again, their answer known). */
  readonly reminders: ReadonlySet<number>;
  /** Whether it stopped at a guarded event whose stream has guarded events in flight. */
  readonly blocked: boolean;
}

/** Room for the message around the events: `{"events":[...]}` and change. */
const MESSAGE_OVERHEAD = 64;

/**
 * Cuts the next push batch from the outbox: pure, so that the push pipeline's rules can be checked
 * on their own (see cut-batch.test.ts).
 *
 * - At most `limit` rows and `maxBytes` bytes, unless one row (with its reminder) alone is more.
 * - Rows parked for a new decision are left out: skipped at the start, and the batch ends before
 *   one after it (the rows after a parked one go in a later batch, in order).
 * - A decision's events (same `command.first`) are not split over two batches unless the decision
 *   alone is larger than a batch, so the hub judges them together.
 * - It stops (`blocked`) at a guarded event whose stream has guarded events in flight: a refusal
 *   must be known before the events decided on it go out.
 * - A refused event that a row was decided on goes just ahead of it again (once per batch), so the
 *   hub refuses the row too (the refusal rule, `decidedOnRefused` in `@eventloom/protocol`). A
 *   reminder is never last: the push cursor stays on the rows themselves.
 */
export function cutBatch(input: BatchInput): Batch {
  const { rows, limit, maxBytes } = input;
  const batch: OutboxRow[] = [];
  const reminders = new Set<number>();
  // The batch's size, measured (its rows' JSON made) only once another row may join it: a batch of
  // one row (an append pushed ahead, a live trickle) goes without, since a row alone goes whatever
  // its size.
  let bytes: number | undefined;
  let blocked = false;
  for (const row of rows) {
    if (input.parked(row.clientSeq)) {
      if (batch.length > 0) break;
      continue;
    }
    if (row.event.expectedVersion !== undefined && input.guardedInFlight.has(row.event.stream)) {
      blocked = true;
      break;
    }
    const found = input.reminder(row);
    const reminder = found !== undefined && !reminders.has(found.clientSeq) ? found : undefined;
    const count = reminder === undefined ? 1 : 2;
    let size = 0;
    let full = false;
    if (batch.length > 0) {
      full = batch.length + count > limit;
      if (!full) {
        size = rowBytes(row) + (reminder === undefined ? 0 : rowBytes(reminder));
        bytes ??= batch.reduce((sum, r) => sum + rowBytes(r), MESSAGE_OVERHEAD);
        full = bytes + size > maxBytes;
      }
    }
    if (full) {
      const next = row.command?.first;
      if (next !== undefined && batch[batch.length - 1]!.command?.first === next) {
        // Back to where the decision starts, unless nothing but reminders stands before it (the
        // decision alone fills the batch then: cut it, or the batch would be empty).
        const start = batch.findIndex((r) => r.command?.first === next);
        if (batch.slice(0, start).some((r) => !reminders.has(r.clientSeq))) batch.length = start;
      }
      break;
    }
    if (reminder !== undefined) {
      batch.push(reminder);
      reminders.add(reminder.clientSeq);
    }
    batch.push(row);
    if (bytes !== undefined) bytes += size;
  }
  while (batch.length > 0 && reminders.has(batch[batch.length - 1]!.clientSeq)) batch.pop();
  return { batch, reminders, blocked };
}

/** Seqs the session cuts a batch at, on top of {@link cutBatch}'s rules. */
export interface Boundaries {
  /**
   * Own events a restored log lost, at or below this seq, go in repair pushes of their own (0: none),
   * with the rest of a decision that starts at or below it (see {@link cutAtBoundaries}).
   */
  readonly repairUpTo: number;
  /** Rows at or below the welcome's seq go in settle batches of their own. */
  readonly settleUpTo: number;
}

/** A batch cut at the session's boundaries. */
export interface BoundedBatch {
  readonly batch: OutboxRow[];
  /**
   * Its rows are own events a restored log lost, with the rest of a decision that starts at or
   * below `repairUpTo` (see {@link cutAtBoundaries}).
   */
  readonly repair: boolean;
  /** Its rows are at or below the welcome's seq. */
  readonly settle: boolean;
}

/**
 * Cuts a batch from {@link cutBatch} (not empty) where a boundary lies between its rows: the side
 * of each boundary is the one its first row (reminders aside: their answers are known, they decide
 * nothing) is on. Reminders left last are dropped, as `cutBatch` does: the push cursor stays on
 * the rows themselves, never going back below rows already sent.
 *
 * A decision across a boundary:
 * - The repair boundary does not split it: a repair batch takes the rows past it whose decision
 *   starts at or below it (as far as `cutBatch` took them). They are the events of a decision the
 *   device has no answer for, where the restored log lost others of it (those came back confirmed,
 *   the answer to the rest was lost): split, the restored hub would store the first part in the
 *   repair push and judge the rest in a later one, where a write in between refuses it
 *   (`expectedVersion`), and the decision would be stored in part.
 * - The settle boundary does split it. A settle batch stores nothing: every seq at or below the
 *   welcome's is decided at the hub (final from protocol 6). Its rows there are either decided
 *   already (the decision was larger than a batch, and split at this very seq before) or are
 *   refused `seq-used` (the hub holds other events there), which stores none of them and numbers
 *   the whole decision anew before any of it goes again. Sent whole instead, the rest would be
 *   judged at its old seqs after a `seq-used`: refused by the refusal rule, or stored ahead of the
 *   events before it.
 */
export function cutAtBoundaries(cut: Batch, bounds: Boundaries): BoundedBatch {
  const { reminders } = cut;
  const batch = [...cut.batch];
  const row = (r: OutboxRow) => !reminders.has(r.clientSeq);
  const lead = (): OutboxRow => batch.find(row) ?? batch[0]!;
  const split = (upTo: number, wholeDecisions: boolean): boolean => {
    const below = lead().clientSeq <= upTo;
    let at = batch.findIndex((r) => row(r) && r.clientSeq <= upTo !== below);
    if (wholeDecisions && below && at > 0) at = decisionEnd(batch, at, upTo, row);
    if (at > 0) batch.splice(at);
    while (batch.length > 1 && reminders.has(batch[batch.length - 1]!.clientSeq)) batch.pop();
    return below;
  };
  const repair = bounds.repairUpTo > 0 && split(bounds.repairUpTo, true);
  const settle = split(bounds.settleUpTo, false);
  return { batch, repair, settle };
}

/**
 * Past the rows from `at` on (and the reminders among them) whose decision starts at or below
 * `upTo`: the rest of a decision across the boundary. By `command.first`, which such a row keeps
 * (numbered anew with its decision), while a decision's events that came back from the log do not.
 */
function decisionEnd(
  batch: readonly OutboxRow[],
  at: number,
  upTo: number,
  row: (r: OutboxRow) => boolean,
): number {
  let end = at;
  for (let i = at; i < batch.length; i++) {
    const r = batch[i]!;
    if (!row(r)) continue;
    const first = r.command?.first;
    if (first === undefined || first > upTo) break;
    end = i + 1;
  }
  return end;
}

/** A row's share of a push message: its event's JSON and a comma. */
export function rowBytes(row: OutboxRow): number {
  return utf8Length(JSON.stringify(row.event)) + 1;
}

/** The UTF-8 length of a string, without encoding it. */
export function utf8Length(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x80) bytes += c >= 0x800 && (c < 0xd800 || c > 0xdfff) ? 2 : 1;
  }
  return bytes;
}
