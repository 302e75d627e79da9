import type { CommittedEvent, EventEnvelope } from '@eventloom/protocol';
// Not the main entry: this runs on the SQLite thread too, which must not load zod and the schemas.
import { ErrorCode, RefusedInBatch, type RejectionCode } from '@eventloom/protocol/codes';
import type { StoreAppend, StoreAppendResult } from './event-store.ts';
import { sameEnvelope } from './same-envelope.ts';

/**
 * A refusal a store keeps under (clientId, clientSeq): the answer a re-push of that seq gets.
 * Commits need no such record: the committed event itself, found by its id, names its client
 * and seq.
 */
export interface RecordedRejection {
  readonly id: string;
  readonly code: RejectionCode;
  readonly message: string;
  readonly currentVersion?: number;
}

/** The committed state a batch is judged against, as it was before the batch. Reads only. */
export interface AppendSnapshot {
  /** The highest committed position; 0 for an empty log. */
  head(): number;
  /** The client's last decided seq; 0 for a client never seen. */
  lastClientSeq(clientId: string): number;
  /** The client's epoch (`EventStore.claimClient`); 0 for a client never seen. */
  clientEpoch(clientId: string): number;
  /** The refusal recorded for this seq, if it was refused. */
  rejection(clientId: string, clientSeq: number): RecordedRejection | undefined;
  /** The committed event with this id, if any. */
  committedById(id: string): CommittedEvent | undefined;
  /**
   * True when the store's unique index refuses to insert an id that is stored already: the plan
   * then looks up only the ids of events it does not commit, and the store, if its index refuses
   * one, plans the batch again with this false, to look up every id.
   */
  readonly idsCheckedOnInsert?: boolean;
  /** The stream's version; 0 for an unknown stream. */
  streamVersion(stream: string): number;
}

/**
 * One event offered to {@link planAppend}: the envelope fields that decide its fate, and the
 * hub's refusal if it made one. A store may hold the rest of the envelope as it likes (as JSON
 * text, say): the plan asks for it only to compare contents.
 */
export interface PlanItem {
  readonly event: Pick<EventEnvelope, 'id' | 'clientId' | 'clientSeq' | 'stream' | 'expectedVersion'>;
  readonly rejection?: StoreAppend['rejection'] | undefined;
  readonly epoch?: number | undefined;
}

/** An item the batch commits, and the commit fields it gets. */
export interface PlannedEvent<T extends PlanItem> {
  readonly item: T;
  readonly position: number;
  readonly streamVersion: number;
}

/** Everything one batch changes, for a store to write in one transaction. */
export interface AppendPlan<T extends PlanItem> {
  /** One answer per item, in batch order. */
  readonly results: StoreAppendResult[];
  /** New events, in position order (gapless, from head + 1). */
  readonly events: PlannedEvent<T>[];
  /** New refusals to record, in batch order. */
  readonly rejections: {
    readonly clientId: string;
    readonly clientSeq: number;
    readonly rejection: RecordedRejection;
  }[];
  /** The new last decided seq of each client that advanced. */
  readonly clientSeqs: Map<string, number>;
  /** The new version of each stream that grew. */
  readonly streamVersions: Map<string, number>;
}

/**
 * Judges a batch against `snapshot`, each item in the light of the ones before it, and returns
 * what to write; `envelopeOf` gives an item's whole envelope, for the rare comparison of contents.
 * Pure apart from its reads: every store shares it, so they answer alike.
 *
 * Order of the rules for one event: its `epoch` first (not the client's: `fenced`, nothing
 * recorded: the session that pushed it was superseded), then its `clientSeq` (≤ last: the answer it got before;
 * > last + 1: `gap`), then a `rejection` the hub already made, then its id (already stored:
 * `id-conflict`), then `expectedVersion`; only then is it committed.
 *
 * A seq ≤ last was either refused (its refusal is recorded) or committed (the event with the
 * pushed id is stored under this very client and seq: `duplicate` when the content is the same,
 * else `id-conflict`); anything else is another event at a used seq, `seq-used`.
 */
export function planAppend<T extends PlanItem>(
  snapshot: AppendSnapshot,
  batch: readonly T[],
  envelopeOf: (item: T) => EventEnvelope,
): AppendPlan<T> {
  return new Planner(snapshot, envelopeOf).plan(batch);
}

/**
 * One {@link planAppend}: the batch's effects so far, judged against the snapshot. Its lookups are
 * methods, not closures made for each batch: the hub runs from TypeScript source (tsx), where
 * each named closure costs a `defineProperty` of its name, and every push is a batch.
 */
class Planner<T extends PlanItem> {
  readonly #snapshot: AppendSnapshot;
  readonly #envelopeOf: (item: T) => EventEnvelope;
  readonly #results: StoreAppendResult[] = [];
  readonly #events: PlannedEvent<T>[] = [];
  readonly #rejections: AppendPlan<T>['rejections'][number][] = [];
  readonly #clientSeqs = new Map<string, number>();
  readonly #streamVersions = new Map<string, number>();
  readonly #newById = new Map<string, PlannedEvent<T>>();
  #newRejections: Map<string, RecordedRejection> | undefined;

  constructor(snapshot: AppendSnapshot, envelopeOf: (item: T) => EventEnvelope) {
    this.#snapshot = snapshot;
    this.#envelopeOf = envelopeOf;
  }

  plan(batch: readonly T[]): AppendPlan<T> {
    const snapshot = this.#snapshot;
    const results = this.#results;
    let head = snapshot.head();
    // The refusal rule (`@eventloom/protocol` refusal-rule.ts): a client's later guarded events on a
    // stream where one of its events was refused in this batch (or sent again refused) are refused too.
    const refused = new RefusedInBatch();

    for (const item of batch) {
      const { event, rejection, epoch } = item;
      const { id, clientId, clientSeq } = event;
      // Appends never move an epoch: the snapshot's holds for the whole batch.
      if (epoch !== undefined) {
        const current = snapshot.clientEpoch(clientId);
        if (epoch !== current) {
          results.push({ status: 'fenced', id, epoch: current });
          continue;
        }
      }
      const last = this.#lastSeq(clientId);
      if (clientSeq <= last) {
        const answer = repeated(item, this.#rejectionOf(clientId, clientSeq), this, this.#envelopeOf);
        // A refused guarded event sent again ahead of later ones (after a lost ack, or as the
        // engine's reminder): those were decided on it, as if it were refused in this batch.
        if (answer.status === 'rejected' && event.expectedVersion !== undefined) refused.refused(event);
        results.push(answer);
        continue;
      }
      if (clientSeq > last + 1) {
        results.push({ status: 'gap', id, expectedSeq: last + 1 });
        continue;
      }
      if (rejection) {
        refused.refused(event);
        results.push(this.#reject(clientId, clientSeq, { id, ...rejection }));
        continue;
      }
      const current = this.#streamVersions.get(event.stream) ?? snapshot.streamVersion(event.stream);
      const afterRefusal = refused.decidedOn(event) !== undefined;
      const wrongVersion =
        event.expectedVersion !== undefined && (event.expectedVersion !== current || afterRefusal);
      // The unique index can speak only for events that are inserted: look up the others' ids.
      const existing =
        snapshot.idsCheckedOnInsert === true && !wrongVersion ? this.#newById.get(id) : this.byId(id);
      if (existing) {
        // The same envelope would name this client and seq, which nothing committed has yet.
        refused.refused(event);
        results.push(this.#reject(clientId, clientSeq, conflict(id)));
        continue;
      }
      if (wrongVersion) {
        refused.refused(event);
        results.push(
          this.#reject(clientId, clientSeq, {
            id,
            code: ErrorCode.wrongExpectedVersion,
            message: afterRefusal
              ? `an earlier event of client ${clientId} on stream ${JSON.stringify(event.stream)} was refused before it in this batch; this one was decided on it`
              : `expected version ${event.expectedVersion} of stream ${JSON.stringify(event.stream)}, which is at ${current}`,
            currentVersion: current,
          }),
        );
        continue;
      }
      head += 1;
      const planned: PlannedEvent<T> = { item, position: head, streamVersion: current + 1 };
      this.#events.push(planned);
      this.#newById.set(id, planned);
      this.#streamVersions.set(event.stream, current + 1);
      this.#clientSeqs.set(clientId, clientSeq);
      results.push({ status: 'ok', id, position: head, streamVersion: current + 1 });
    }
    return {
      results,
      events: this.#events,
      rejections: this.#rejections,
      clientSeqs: this.#clientSeqs,
      streamVersions: this.#streamVersions,
    };
  }

  /** The event stored under `id`: planned earlier in the batch, or committed before it. */
  byId(id: string): Stored | undefined {
    const planned = this.#newById.get(id);
    if (planned !== undefined) {
      const { clientId, clientSeq } = planned.item.event;
      const envelopeOf = this.#envelopeOf;
      return { clientId, clientSeq, position: planned.position, content: () => envelopeOf(planned.item) };
    }
    const committed = this.#snapshot.committedById(id);
    if (committed === undefined) return undefined;
    const { clientId, clientSeq, position } = committed;
    return { clientId, clientSeq, position, content: () => committed };
  }

  #lastSeq(clientId: string): number {
    return this.#clientSeqs.get(clientId) ?? this.#snapshot.lastClientSeq(clientId);
  }

  #rejectionOf(clientId: string, seq: number): RecordedRejection | undefined {
    return this.#newRejections?.get(recordKey(clientId, seq)) ?? this.#snapshot.rejection(clientId, seq);
  }

  #reject(clientId: string, clientSeq: number, rejection: RecordedRejection): StoreAppendResult {
    this.#rejections.push({ clientId, clientSeq, rejection });
    (this.#newRejections ??= new Map()).set(recordKey(clientId, clientSeq), rejection);
    this.#clientSeqs.set(clientId, clientSeq);
    return { status: 'rejected', ...rejection };
  }
}

/** An event committed before or earlier in the batch, as {@link planAppend} compares it. */
interface Stored {
  readonly clientId: string;
  readonly clientSeq: number;
  readonly position: number;
  content(): EventEnvelope | CommittedEvent;
}

/** The answer for a seq that was decided before: the same one, or a refusal if it is another event. */
function repeated<T extends PlanItem>(
  item: T,
  rejection: RecordedRejection | undefined,
  stored: { byId(id: string): Stored | undefined },
  envelopeOf: (item: T) => EventEnvelope,
): StoreAppendResult {
  const { id, clientId, clientSeq } = item.event;
  if (rejection !== undefined) {
    return rejection.id === id ? { status: 'rejected', ...rejection } : usedSeq(item, rejection.id);
  }
  const found = stored.byId(id);
  if (found === undefined || found.clientId !== clientId || found.clientSeq !== clientSeq) {
    return usedSeq(item, undefined);
  }
  if (!sameEnvelope(found.content(), envelopeOf(item))) {
    return { status: 'rejected', ...conflict(id) };
  }
  return { status: 'duplicate', id, position: found.position };
}

function usedSeq(item: PlanItem, by: string | undefined): StoreAppendResult {
  const { id, clientId, clientSeq } = item.event;
  return {
    status: 'rejected',
    id,
    code: ErrorCode.seqUsed,
    message: `clientSeq ${clientSeq} of client ${clientId} was already used by ${by === undefined ? 'another event' : `event ${by}`}`,
  };
}

/** An id stored with other content. Says nothing of where: the pusher may not be allowed to read it. */
function conflict(id: string): RecordedRejection {
  return {
    id,
    code: ErrorCode.idConflict,
    message: `event ${id} was committed already with different content`,
  };
}

function recordKey(clientId: string, clientSeq: number): string {
  return `${clientSeq}:${clientId}`;
}
