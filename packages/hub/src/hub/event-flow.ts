import type { StoreAppendResult } from '../store/event-store.ts';
import type { Logger } from 'pino';
import type { HubMetrics } from './hub-metrics.ts';

/** Commits remembered until the live feed passes them, at most; the oldest are forgotten first. */
const MAX_PENDING_COMMITS = 10_000;

/**
 * The hub's side of an event's path (issue #6 "Observability"): how long a pushed batch took from
 * its receipt to its durable commit, and each commit from then to its broadcast to subscribers.
 * Both go to the histogram `eventloom_event_flow_seconds{stage="commit"|"broadcast"}` and to a
 * debug log line (`event flow: committed`, `event flow: broadcast`), once per batch, not per event.
 */
export class EventFlow {
  readonly #ctx: () => FlowContext;
  /** The last position of each commit not yet broadcast, with its time (`performance.now()`). */
  readonly #commits = new Map<number, number>();

  constructor(ctx: () => FlowContext) {
    this.#ctx = ctx;
  }

  /** A push from `clientId`, received at `receivedAt`, came back from the sequencer: durable now. */
  committed(clientId: string | undefined, receivedAt: number, results: readonly StoreAppendResult[]): void {
    const now = performance.now();
    if (!results.some((result) => result.status === 'ok')) return;
    const ctx = this.#ctx();
    const seconds = (now - receivedAt) / 1000;
    ctx.metrics.eventFlow.observe({ stage: 'commit' }, seconds);
    // The line's fields are counted only for a logger that writes it: not per push for nothing.
    if (!ctx.logger.isLevelEnabled('debug')) return;
    let first = Infinity;
    let last = 0;
    let stored = 0;
    for (const result of results) {
      if (result.status !== 'ok') continue;
      stored++;
      if (result.position < first) first = result.position;
      if (result.position > last) last = result.position;
    }
    ctx.logger.debug(
      { clientId, events: results.length, stored, first, last, commitMs: round(seconds * 1000) },
      'event flow: committed',
    );
  }

  /** The sequencer committed events up to `head` (any writer's): its broadcast is timed from now. */
  durable(head: number): void {
    if (this.#commits.size >= MAX_PENDING_COMMITS) this.#commits.delete(this.#commits.keys().next().value!);
    this.#commits.set(head, performance.now());
  }

  /** The live feed offered the subscribers every event after `from` up to `until`. */
  broadcast(from: number, until: number): void {
    if (this.#commits.size === 0) return;
    const now = performance.now();
    const ctx = this.#ctx();
    let slowest = 0;
    let commits = 0;
    for (const [position, at] of this.#commits) {
      if (position > until) continue;
      this.#commits.delete(position);
      const seconds = (now - at) / 1000;
      ctx.metrics.eventFlow.observe({ stage: 'broadcast' }, seconds);
      slowest = Math.max(slowest, seconds);
      commits++;
    }
    if (commits > 0 && ctx.logger.isLevelEnabled('debug')) {
      ctx.logger.debug({ from, until, commits, broadcastMs: round(slowest * 1000) }, 'event flow: broadcast');
    }
  }

  /** The feed moved past `until` without sending anything (nobody listened): forget those commits. */
  skipped(until: number): void {
    for (const position of this.#commits.keys()) if (position <= until) this.#commits.delete(position);
  }
}

/** What the flow reports to. */
export interface FlowContext {
  readonly metrics: HubMetrics;
  readonly logger: Logger;
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
