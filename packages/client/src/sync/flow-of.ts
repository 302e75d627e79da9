import type { FlowStep, FlowStepName } from '@eventloom/core';
import type { CommittedEvent, EventEnvelope } from '@eventloom/protocol';
import { Observable, share } from 'rxjs';
import type { Sync } from './sync-types.ts';

/** Events whose first step is remembered (for `elapsedMs`), at most; the oldest are forgotten first. */
const MAX_TRACKED = 10_000;

/** One step of an event's path as this client saw it, on {@link flowOf}. */
export interface FlowRecord extends FlowStep {
  /** Milliseconds since the first step this client saw of the event (0 for that step). */
  readonly elapsedMs: number;
}

/** Options of {@link flowOf}. */
export interface FlowOptions {
  /** The clock of `at`, in ms; `Date.now` by default. */
  readonly now?: () => number;
}

/**
 * Each step of events through this tab's sync (DESIGN.md §7, issue #6 "Observability"):
 * `appended` (the outbox write, from when it is in flight), `committed` (the hub's ack, with the position), `broadcast`
 * (received live), `applied` (the confirmed store write, after which projections have folded it).
 * The leader tab sees every step; another tab sees its `appended` ones. Subscribers share one
 * watch on the sync, attached while anyone subscribes (nothing is recorded before); completes
 * when the sync closes.
 *
 * @example
 * flowOf(sync).subscribe((s) => console.log(s.eventId, s.step, s.elapsedMs));
 */
export function flowOf(sync: Sync, options: FlowOptions = {}): Observable<FlowRecord> {
  const now = options.now ?? Date.now;
  return new Observable<FlowRecord>((subscriber) => {
    const where = `client:${sync.clientId}`;
    const tracked = new Map<string, { readonly at: number; readonly traceparent: string | undefined }>();
    /** The highest clientSeq seen pending: later ones are new appends. */
    let lastSeq: number | undefined;
    const emit = (
      event: { readonly id: string; readonly meta?: unknown },
      step: FlowStepName,
      at: number,
      position?: number,
    ) => {
      const traceparent = traceparentOf(event);
      let first = tracked.get(event.id);
      if (first === undefined) {
        first = { at, traceparent };
        if (step !== 'applied') {
          if (tracked.size >= MAX_TRACKED) tracked.delete(tracked.keys().next().value!);
          tracked.set(event.id, first);
        }
      } else if (step === 'applied') tracked.delete(event.id);
      const trace = traceparent ?? first.traceparent;
      subscriber.next({
        eventId: event.id,
        step,
        at,
        where,
        elapsedMs: at - first.at,
        ...(position === undefined ? {} : { position }),
        ...(trace === undefined ? {} : { traceparent: trace }),
      });
    };
    return sync.attach({
      // The outbox changed: its rows past the last clientSeq seen were just appended. The first
      // look (at once when attached) is the outbox as it was: nothing in it was appended now.
      pending(pending: readonly EventEnvelope[]) {
        const last = pending[pending.length - 1]?.clientSeq ?? 0;
        const previous = lastSeq;
        lastSeq = Math.max(previous ?? 0, last);
        if (previous === undefined || last <= previous) return;
        let from = pending.length;
        while (from > 0 && pending[from - 1]!.clientSeq > previous) from--;
        const at = now();
        for (let i = from; i < pending.length; i++) emit(pending[i]!, 'appended', at);
      },
      // The append's write is in flight: it may be pushed (and come back) before it lands.
      writing(events: readonly EventEnvelope[]) {
        const at = now();
        for (const event of events) emit(event, 'appended', at);
        lastSeq = Math.max(lastSeq ?? 0, events[events.length - 1]?.clientSeq ?? 0);
      },
      acked(acks) {
        const at = now();
        // An ack carries no meta: the traceparent comes from the first step seen.
        for (const ack of acks) emit(ack, 'committed', at, ack.position);
      },
      broadcast(events: readonly CommittedEvent[]) {
        const at = now();
        for (const event of events) emit(event, 'broadcast', at, event.position);
      },
      stored(events) {
        const at = now();
        for (const event of events) emit(event, 'applied', at, event.position);
      },
      closed: () => subscriber.complete(),
    });
  }).pipe(share());
}

function traceparentOf(event: { readonly meta?: unknown }): string | undefined {
  const value = (event.meta as { traceparent?: unknown } | undefined)?.traceparent;
  return typeof value === 'string' ? value : undefined;
}
