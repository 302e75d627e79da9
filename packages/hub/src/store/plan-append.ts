import { ErrorCode, type CommittedEvent, type RejectionCode } from '@eventloom/protocol';
import type { StoreAppend, StoreAppendResult } from './event-store.ts';
import { sameEnvelope } from './same-envelope.ts';

/** What a store keeps for each (clientId, clientSeq) it has decided: the answer a re-push gets. */
export type RecordedResult =
  | { readonly status: 'ok'; readonly id: string; readonly position: number }
  | {
      readonly status: 'rejected';
      readonly id: string;
      readonly code: RejectionCode;
      readonly message: string;
      readonly currentVersion?: number;
    };

/** The committed state a batch is judged against, as it was before the batch. Reads only. */
export interface AppendSnapshot {
  /** The highest committed position; 0 for an empty log. */
  head(): number;
  /** The client's last decided seq; 0 for a client never seen. */
  lastClientSeq(clientId: string): number;
  /** What was decided for this seq, if anything. */
  recordedResult(clientId: string, clientSeq: number): RecordedResult | undefined;
  /** The committed event with this id, if any. */
  committedById(id: string): CommittedEvent | undefined;
  /** The stream's version; 0 for an unknown stream. */
  streamVersion(stream: string): number;
}

/** Everything one batch changes, for a store to write in one transaction. */
export interface AppendPlan {
  /** One answer per item, in batch order. */
  readonly results: StoreAppendResult[];
  /** New events, in position order (gapless, from head + 1). */
  readonly events: CommittedEvent[];
  /** New records of decided seqs, in batch order. */
  readonly records: {
    readonly clientId: string;
    readonly clientSeq: number;
    readonly result: RecordedResult;
  }[];
  /** The new last decided seq of each client that advanced. */
  readonly clientSeqs: Map<string, number>;
  /** The new version of each stream that grew. */
  readonly streamVersions: Map<string, number>;
}

/**
 * Judges a batch against `snapshot`, each item in the light of the ones before it, and returns
 * what to write. Pure apart from its reads: every store shares it, so they answer alike.
 *
 * Order of the rules for one event: its `clientSeq` first (≤ last: the recorded answer; > last + 1:
 * `gap`), then a `rejection` the hub already made, then its id (already stored: `duplicate` when the
 * content is the same, else `id-conflict`), then `expectedVersion`; only then is it committed.
 */
export function planAppend(
  snapshot: AppendSnapshot,
  batch: readonly StoreAppend[],
  recordedAt: string,
): AppendPlan {
  const results: StoreAppendResult[] = [];
  const events: CommittedEvent[] = [];
  const records: AppendPlan['records'][number][] = [];
  const clientSeqs = new Map<string, number>();
  const streamVersions = new Map<string, number>();
  const newById = new Map<string, CommittedEvent>();
  const newRecords = new Map<string, RecordedResult>();
  let head = snapshot.head();

  const lastSeq = (clientId: string) => clientSeqs.get(clientId) ?? snapshot.lastClientSeq(clientId);
  const versionOf = (stream: string) => streamVersions.get(stream) ?? snapshot.streamVersion(stream);
  const byId = (id: string) => newById.get(id) ?? snapshot.committedById(id);
  const recordOf = (clientId: string, seq: number) =>
    newRecords.get(recordKey(clientId, seq)) ?? snapshot.recordedResult(clientId, seq);
  const decide = (clientId: string, clientSeq: number, result: RecordedResult): StoreAppendResult => {
    records.push({ clientId, clientSeq, result });
    newRecords.set(recordKey(clientId, clientSeq), result);
    clientSeqs.set(clientId, clientSeq);
    return answerOf(result);
  };

  for (const { event, rejection } of batch) {
    const { id, clientId, clientSeq } = event;
    const last = lastSeq(clientId);
    if (clientSeq <= last) {
      results.push(repeated(event, recordOf(clientId, clientSeq), byId));
      continue;
    }
    if (clientSeq > last + 1) {
      results.push({ status: 'gap', id, expectedSeq: last + 1 });
      continue;
    }
    if (rejection) {
      results.push(decide(clientId, clientSeq, { status: 'rejected', id, ...rejection }));
      continue;
    }
    const existing = byId(id);
    if (existing) {
      results.push(
        decide(
          clientId,
          clientSeq,
          sameEnvelope(existing, event)
            ? { status: 'ok', id, position: existing.position }
            : conflict(id, existing.position),
        ),
      );
      continue;
    }
    const current = versionOf(event.stream);
    if (event.expectedVersion !== undefined && event.expectedVersion !== current) {
      results.push(
        decide(clientId, clientSeq, {
          status: 'rejected',
          id,
          code: ErrorCode.wrongExpectedVersion,
          message: `expected version ${event.expectedVersion} of stream ${JSON.stringify(event.stream)}, which is at ${current}`,
          currentVersion: current,
        }),
      );
      continue;
    }
    head += 1;
    const committed: CommittedEvent = { ...event, position: head, streamVersion: current + 1, recordedAt };
    events.push(committed);
    newById.set(id, committed);
    streamVersions.set(event.stream, current + 1);
    records.push({ clientId, clientSeq, result: { status: 'ok', id, position: head } });
    newRecords.set(recordKey(clientId, clientSeq), { status: 'ok', id, position: head });
    clientSeqs.set(clientId, clientSeq);
    results.push({ status: 'ok', id, position: head, streamVersion: current + 1 });
  }
  return { results, events, records, clientSeqs, streamVersions };
}

/** The answer for a seq that was decided before: the same one, or a refusal if it is another event. */
function repeated(
  event: StoreAppend['event'],
  record: RecordedResult | undefined,
  byId: (id: string) => CommittedEvent | undefined,
): StoreAppendResult {
  const { id, clientId, clientSeq } = event;
  if (!record) {
    return {
      status: 'rejected',
      id,
      code: ErrorCode.internal,
      message: `no record of clientSeq ${clientSeq} of client ${clientId}`,
    };
  }
  if (record.id !== id) {
    return {
      status: 'rejected',
      id,
      code: ErrorCode.invalid,
      message: `clientSeq ${clientSeq} of client ${clientId} was already used by event ${record.id}`,
    };
  }
  if (record.status === 'rejected') return answerOf(record);
  const stored = byId(id);
  if (!stored || !sameEnvelope(stored, event)) return answerOf(conflict(id, record.position));
  return { status: 'duplicate', id, position: record.position };
}

function conflict(id: string, position: number): RecordedResult {
  return {
    status: 'rejected',
    id,
    code: ErrorCode.idConflict,
    message: `event ${id} was committed at position ${position} with different content`,
  };
}

/** How a recorded decision is answered: a recorded commit is a `duplicate` from then on. */
function answerOf(record: RecordedResult): StoreAppendResult {
  return record.status === 'ok'
    ? { status: 'duplicate', id: record.id, position: record.position }
    : { ...record };
}

function recordKey(clientId: string, clientSeq: number): string {
  return `${clientSeq}:${clientId}`;
}
