import { MAX_TIMER_DELAY_MS, type Scheduler } from '@eventloom/core';

/**
 * The reaction runtime's {@link Scheduler} on the wall clock and `setTimeout`, in the browser and
 * in Node. Delays are clamped to `0 … MAX_TIMER_DELAY_MS` (the runtime splits longer waits itself).
 *
 * @example const reactions = createReactions(loom, { handlers, scheduler: timerScheduler() });
 */
export function timerScheduler(): Scheduler {
  return {
    now: () => Date.now(),
    schedule(delayMs, task) {
      const delay = Math.min(Math.max(0, Number.isFinite(delayMs) ? delayMs : 0), MAX_TIMER_DELAY_MS);
      const timer = setTimeout(task, delay);
      return () => clearTimeout(timer);
    },
  };
}
