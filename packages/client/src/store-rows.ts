import type { CommittedEvent } from '@eventloom/protocol';
import { ClientError, ClientErrorCode } from './client-error.ts';
import {
  SYNC_DEAD_LETTERS,
  type AckRecord,
  type DeadLetterRow,
  type OutboxRow,
  type RejectionInput,
} from './client-store.ts';

// Row helpers every ClientStore implementation shares, so that they store alike.

/** Throws `invalid` unless the positions are safe integers ≥ 1, strictly increasing. */
export function checkOrder(events: readonly CommittedEvent[]): void {
  for (let i = 0; i < events.length; i++) {
    const p = events[i]!.position;
    if (!Number.isSafeInteger(p) || p < 1 || (i > 0 && p <= events[i - 1]!.position)) {
      throw new ClientError(
        ClientErrorCode.invalid,
        `confirmed events must have strictly increasing positions ≥ 1; event ${i} has ${String(p)}`,
        { path: `${i}.position` },
      );
    }
  }
}

/** The `acked` field of an outbox row for an ack. */
export function ackOf(ack: AckRecord): NonNullable<OutboxRow['acked']> {
  return ack.streamVersion === undefined
    ? { position: ack.position }
    : { position: ack.position, streamVersion: ack.streamVersion };
}

/** The dead letter of an outbox row rejected for `r`, parked at `at` (ms since the epoch). */
export function deadLetterOf(row: OutboxRow, r: RejectionInput, at: number): DeadLetterRow {
  const time = new Date(at).toISOString();
  return {
    id: `${SYNC_DEAD_LETTERS}/${row.event.id}`,
    handler: SYNC_DEAD_LETTERS,
    event: row.event,
    error: { name: 'ClientError', message: r.message, code: r.code },
    attempts: 1,
    firstFailedAt: time,
    lastFailedAt: time,
    rejection: {
      clientSeq: row.clientSeq,
      ...(r.currentVersion === undefined ? {} : { currentVersion: r.currentVersion }),
      ...(row.command === undefined ? {} : { command: row.command }),
    },
  };
}
