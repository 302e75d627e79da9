/**
 * Time, as the reaction runtime needs it: a clock and one-shot timers. Core has no timers of its
 * own (it runs without Node or DOM types), so the client and the hub supply one; tests supply a
 * fake one they move by hand (`createFakeScheduler` from `@eventloom/core/testing`).
 *
 * @example
 * const scheduler: Scheduler = {
 *   now: () => Date.now(),
 *   schedule(delayMs, task) {
 *     const timer = setTimeout(task, delayMs);
 *     return () => clearTimeout(timer);
 *   },
 * };
 */
export interface Scheduler {
  /** Milliseconds since the Unix epoch. Dead letters, saga times and timeout deadlines use it. */
  now(): number;
  /**
   * Runs `task` once, `delayMs` from now (never more than {@link MAX_TIMER_DELAY_MS}: the runtime
   * splits longer waits), and returns a function that cancels it. The task never throws.
   */
  schedule(delayMs: number, task: () => void): () => void;
}

/** The longest delay the runtime asks a {@link Scheduler} for: `setTimeout`'s limit (about 24.8 days). */
export const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;
