import type { FlowStep, FlowStepName } from '@eventloom/core';
import type { CommittedEvent, EventEnvelope } from '@eventloom/protocol';
import { Subject, type Observable } from 'rxjs';
import type { AckInput, SyncPort } from '../eventloom.ts';

/** Events whose first step is remembered (for `elapsedMs`), at most; the oldest are forgotten first. */
const MAX_TRACKED = 10_000;

/** One step of an event's path as this client saw it, on `sync.flow$`. */
export interface FlowRecord extends FlowStep {
  /** Milliseconds since the first step this client saw of the event (0 for that step). */
  readonly elapsedMs: number;
}

interface Tracked {
  readonly at: number;
  readonly traceparent: string | undefined;
}

/**
 * Follows events through this client (DESIGN.md §7, issue #6 "Observability"): `appended` (the
 * outbox write), `committed` (the hub's ack, with the position), `broadcast` (received live),
 * `applied` (the confirmed store write, after which projections have folded it). Costs nothing
 * but a few comparisons while nobody subscribes to `flow$`.
 */
export class FlowTracker {
  readonly flow$: Observable<FlowRecord>;
  readonly #where: string;
  readonly #now: () => number;
  readonly #steps = new Subject<FlowRecord>();
  readonly #tracked = new Map<string, Tracked>();
  /** The highest clientSeq seen pending: later ones are new appends. */
  #lastSeq: number | undefined;
  /** The log's confirmed position as last seen: events above it that a store write keeps are applied. */
  #appliedUpTo = 0;

  constructor(clientId: string, now: () => number) {
    this.#where = `client:${clientId}`;
    this.#now = now;
    this.flow$ = this.#steps.asObservable();
  }

  /** The outbox changed: its rows past the last clientSeq seen were just appended. */
  pending(pending: readonly EventEnvelope[]): void {
    const last = pending[pending.length - 1]?.clientSeq ?? 0;
    const previous = this.#lastSeq;
    if (previous === undefined || last <= previous) {
      // The first look is the outbox as it was: nothing in it was appended now.
      this.#lastSeq = Math.max(previous ?? 0, last);
      return;
    }
    this.#lastSeq = last;
    if (!this.#steps.observed) return;
    let from = pending.length;
    while (from > 0 && pending[from - 1]!.clientSeq > previous) from--;
    const at = this.#now();
    for (let i = from; i < pending.length; i++) {
      const event = pending[i]!;
      this.#emit(event.id, 'appended', at, undefined, traceparentOf(event));
    }
  }

  /** The hub acked these events: committed at these positions. */
  committed(acks: readonly AckInput[]): void {
    if (!this.#steps.observed) return;
    const at = this.#now();
    for (const ack of acks) this.#emit(ack.id, 'committed', at, ack.position, undefined);
  }

  /** Received live from the hub. */
  broadcast(events: readonly CommittedEvent[]): void {
    if (!this.#steps.observed) return;
    const at = this.#now();
    for (const event of events) this.#emit(event.id, 'broadcast', at, event.position, traceparentOf(event));
  }

  /**
   * Wraps the port the sessions use, to see acks and confirmed store writes (and the position the
   * log starts from) as they happen; everything else is passed through as is.
   */
  wrap(port: SyncPort): SyncPort {
    return {
      get clientId() {
        return port.clientId;
      },
      get name() {
        return port.name;
      },
      insertConfirmed: async (events, options) => {
        const result = await port.insertConfirmed(events, options);
        this.#applied(events, result.position);
        return result;
      },
      insertHistory: (events, options) => port.insertHistory(events, options),
      readOutbox: (query) => port.readOutbox(query),
      markAcked: (acks) => {
        this.committed(acks);
        return port.markAcked(acks);
      },
      markRejected: (rejections) => port.markRejected(rejections),
      redecide: (decisions) => port.redecide(decisions),
      readDeadLetters: () => port.readDeadLetters(),
      discardDeadLetters: (ids) => port.discardDeadLetters(ids),
      lastPosition: () => port.lastPosition(),
      readSyncRecord: async () => {
        const record = await port.readSyncRecord();
        this.#appliedUpTo = Math.max(this.#appliedUpTo, record.position);
        return record;
      },
      writeSyncRecord: (record) => port.writeSyncRecord(record),
    };
  }

  close(): void {
    this.#tracked.clear();
    this.#steps.complete();
  }

  #applied(events: readonly CommittedEvent[], position: number): void {
    const before = this.#appliedUpTo;
    this.#appliedUpTo = Math.max(before, position);
    if (!this.#steps.observed) return;
    const at = this.#now();
    for (const event of events) {
      if (event.position > before && event.position <= position) {
        this.#emit(event.id, 'applied', at, event.position, traceparentOf(event));
        this.#tracked.delete(event.id);
      }
    }
  }

  #emit(
    eventId: string,
    step: FlowStepName,
    at: number,
    position: number | undefined,
    traceparent: string | undefined,
  ): void {
    let first = this.#tracked.get(eventId);
    if (first === undefined) {
      first = { at, traceparent };
      if (step !== 'applied') {
        if (this.#tracked.size >= MAX_TRACKED) this.#tracked.delete(this.#tracked.keys().next().value!);
        this.#tracked.set(eventId, first);
      }
    }
    const trace = traceparent ?? first.traceparent;
    this.#steps.next({
      eventId,
      step,
      at,
      where: this.#where,
      elapsedMs: at - first.at,
      ...(position === undefined ? {} : { position }),
      ...(trace === undefined ? {} : { traceparent: trace }),
    });
  }
}

function traceparentOf(event: EventEnvelope): string | undefined {
  const value = (event.meta as { traceparent?: unknown } | undefined)?.traceparent;
  return typeof value === 'string' ? value : undefined;
}
