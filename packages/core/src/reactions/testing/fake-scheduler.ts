import type { Scheduler } from '../scheduler.ts';

/** A timer of a {@link FakeScheduler}. */
export interface FakeTimer {
  readonly id: number;
  /** The delay it was scheduled with. */
  readonly delay: number;
  readonly dueAt: number;
}

/**
 * A {@link Scheduler} whose time moves only when the test says: no real waiting, no timed
 * assertions. Running a timer only starts the work it wakes (a retry, a saga timeout): wait for
 * that work with `runner.settled` (or `settle`), not with the scheduler.
 */
export interface FakeScheduler extends Scheduler {
  /** Timers not yet run, earliest first. */
  readonly pending: readonly FakeTimer[];
  /** Every delay asked for since creation, in order (cancelled ones included). */
  readonly delays: readonly number[];
  /** Moves time forward by `ms`, running the timers that fall due on the way, in order. */
  advance(ms: number): Promise<void>;
  /**
   * Waits until a timer is pending (one that `match` accepts, when given), moves time to its
   * deadline — running the timers due before it on the way — runs it and returns it.
   *
   * @example await scheduler.next((t) => t.delay === 1_000); // the first retry, not the 30 s timeout
   */
  next(match?: (timer: FakeTimer) => boolean): Promise<FakeTimer>;
}

/**
 * Creates a fake scheduler, its clock at `now` (27 Nov 2026, 10:00 UTC by default).
 *
 * @example
 * const scheduler = createFakeScheduler();
 * const runner = createReactionRunner({ store, feed, scheduler, handlers: [flaky] });
 * await scheduler.next(); // the first retry, after its backoff
 * expect(scheduler.delays).toEqual([100]);
 */
export function createFakeScheduler(options: { readonly now?: number } = {}): FakeScheduler {
  return new Fake(options.now ?? Date.UTC(2026, 10, 27, 10));
}

interface Entry extends FakeTimer {
  readonly task: () => void;
}

class Fake implements FakeScheduler {
  #now: number;
  #seq = 0;
  #timers: Entry[] = [];
  readonly #delays: number[] = [];
  #waiters: (() => void)[] = [];

  constructor(now: number) {
    this.#now = now;
  }

  get pending(): readonly FakeTimer[] {
    return this.#timers.map(({ id, delay, dueAt }) => ({ id, delay, dueAt }));
  }

  get delays(): readonly number[] {
    return this.#delays;
  }

  now(): number {
    return this.#now;
  }

  schedule(delayMs: number, task: () => void): () => void {
    const delay = Math.max(0, delayMs);
    const entry: Entry = { id: ++this.#seq, delay, dueAt: this.#now + delay, task };
    this.#delays.push(delay);
    this.#timers.push(entry);
    this.#timers.sort((a, b) => a.dueAt - b.dueAt || a.id - b.id);
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
    return () => {
      this.#timers = this.#timers.filter((t) => t !== entry);
    };
  }

  async advance(ms: number): Promise<void> {
    this.#runUntil(this.#now + ms);
  }

  async next(match: (timer: FakeTimer) => boolean = () => true): Promise<FakeTimer> {
    let found: Entry | undefined;
    while ((found = this.#timers.find(match)) === undefined) {
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
    this.#runUntil(found.dueAt);
    return { id: found.id, delay: found.delay, dueAt: found.dueAt };
  }

  /** Runs every timer due by `until`, in order (those they schedule too), and sets the clock there. */
  #runUntil(until: number): void {
    for (;;) {
      const first = this.#timers[0];
      if (first === undefined || first.dueAt > until) break;
      this.#timers = this.#timers.slice(1);
      this.#now = Math.max(this.#now, first.dueAt);
      first.task();
    }
    this.#now = Math.max(this.#now, until);
  }
}
