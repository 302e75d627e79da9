import type { ReactionStore } from './reaction-store.ts';
import type { Scheduler } from './scheduler.ts';

/** What the lanes, the outbox drain and the dead-letter queue of one runner share. */
export interface Runtime {
  readonly store: ReactionStore;
  readonly scheduler: Scheduler;
  readonly random: () => number;
  readonly dedupeWindow: number;
  /** Failures that have no caller to throw to. */
  report(error: unknown): void;
  /** Something was written to the outbox: drain it. */
  outboxChanged(): void;
}
