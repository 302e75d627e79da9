import { ErrorCode, type PushResult } from '@eventloom/protocol';
import type { OutboxRow } from '../client-store.ts';
import type { AckInput } from '../sync-port.ts';
import { UNDECIDED_CODES } from './conflict-policy.ts';
import type { Refusal } from './session-host.ts';

/** A push's results sorted by what the session does with them. */
export interface SortedPushResults {
  /** Events the hub recorded (or held already). */
  readonly acks: AckInput[];
  /** Events the hub refused for good. */
  readonly refusals: Refusal[];
  /** Push again from after this seq; undefined if nothing needs to go again. */
  readonly rewind: number | undefined;
  /** Events held back until the hub changes (not a sequence gap), in batch order. */
  readonly held: { row: OutboxRow; result: Extract<PushResult, { status: 'rejected' }> }[];
}

/**
 * Sorts the hub's results for a pushed batch: acks, final refusals, and the undecided ones (no
 * result, or an undecided code) that rewind the push cursor. Reminders' answers are known already.
 */
export function sortPushResults(
  batch: readonly OutboxRow[],
  results: readonly PushResult[],
  reminders: ReadonlySet<number>,
): SortedPushResults {
  const acks: AckInput[] = [];
  const refusals: Refusal[] = [];
  const held: SortedPushResults['held'] = [];
  let rewind: number | undefined;
  batch.forEach((row, i) => {
    if (reminders.has(row.clientSeq)) return; // its answer is known: refused
    const result = results[i]?.id === row.event.id ? results[i] : results.find((r) => r.id === row.event.id);
    if (result === undefined) {
      rewind = Math.min(rewind ?? Infinity, row.clientSeq - 1);
      return;
    }
    if (result.status === 'ok')
      acks.push({ id: row.event.id, position: result.position, streamVersion: result.streamVersion });
    else if (result.status === 'duplicate') acks.push({ id: row.event.id, position: result.position });
    else if (UNDECIDED_CODES.has(result.code)) {
      rewind = Math.min(rewind ?? Infinity, row.clientSeq - 1);
      // A gap only needs the events before it pushed again; the others need the hub to change.
      if (result.code !== ErrorCode.sequenceGap) held.push({ row, result });
    } else refusals.push({ row, result });
  });
  return { acks, refusals, rewind, held };
}
