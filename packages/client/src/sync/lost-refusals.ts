import { decidedOnRefused } from '@eventloom/protocol';
import type { OutboxRow } from '../client-store.ts';

/** A refusal a restored hub no longer holds: the refused row and the rows decided on it (`upTo`). */
export interface LostRefusal {
  readonly row: OutboxRow;
  readonly upTo: number;
}

/**
 * The outbox rows to refuse on the device itself after a restored hub lost refusals it knew of
 * (`lost`): what the hub would have refused by the refusal rule (`decidedOnRefused` in
 * `@eventloom/protocol`) had it kept them. Per stream, the first guarded row decided on the lost
 * refused event and every guarded row on that stream after it (each was decided on the one before,
 * refused too, as `RefusedInBatch` chains them on the hub). Rows parked for a new decision (`parked`)
 * are refused already and left out; so is the refused row itself. In clientSeq order.
 * Both under the seqs the hub was pushed (before a realign numbers the outbox anew).
 */
export function decidedOnLost(
  lost: readonly LostRefusal[],
  rows: readonly OutboxRow[],
  parked: (clientSeq: number) => boolean,
): OutboxRow[] {
  const refuse: OutboxRow[] = [];
  const byStream = new Map<string, LostRefusal>();
  for (const entry of lost) byStream.set(entry.row.event.stream, entry);
  const chained = new Set<string>();
  const sorted = [...rows].sort((a, b) => a.clientSeq - b.clientSeq);
  for (const row of sorted) {
    const { stream, expectedVersion } = row.event;
    const entry = byStream.get(stream);
    if (entry === undefined || expectedVersion === undefined) continue;
    if (row.event.id === entry.row.event.id || parked(row.clientSeq)) continue;
    if (!chained.has(stream) && !decidedOnRefused(entry.row.event, row.event, entry.upTo)) continue;
    chained.add(stream);
    refuse.push(row);
  }
  return refuse;
}
