import type { CommittedEvent } from '@eventloom/protocol';
import { ClientError, ClientErrorCode } from './client-error.ts';
import {
  SYNC_DEAD_LETTERS,
  type AckRecord,
  type DeadLetterRow,
  type ClientMeta,
  type OutboxRow,
  type PendingBuild,
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

/**
 * The outbox rows an `appendPending` build on `before` stores (their seqs and client id checked),
 * and the meta after them and the `replaced` rows.
 */
export function pendingRows(
  before: ClientMeta,
  built: PendingBuild,
  replaced: readonly OutboxRow[],
): { meta: ClientMeta; rows: OutboxRow[] } {
  const rows = built.events.map((event, i): OutboxRow => {
    if (event.clientSeq !== before.clientSeq + i + 1 || event.clientId !== before.clientId) {
      throw new ClientError(
        ClientErrorCode.internal,
        `appendPending: event ${i} must have clientSeq ${before.clientSeq + i + 1} and clientId ${before.clientId}`,
      );
    }
    return built.command
      ? { clientSeq: event.clientSeq, event, command: built.command }
      : { clientSeq: event.clientSeq, event };
  });
  if (rows.length === 0 && replaced.length === 0) return { meta: before, rows };
  const meta: ClientMeta = {
    ...before,
    clientSeq: before.clientSeq + rows.length,
    hlc: built.hlc ?? before.hlc,
    epoch: before.epoch + (replaced.length > 0 ? 1 : 0),
  };
  return { meta, rows };
}
