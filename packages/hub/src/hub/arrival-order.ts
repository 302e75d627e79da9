/**
 * Keeps a socket's requests in the order they arrived through a step that may have to wait (a
 * push's preparation: binding its client id, an authorization decision still pending), without
 * a microtask hop when nothing waits: a step runs at once when no earlier one is pending, and
 * what follows it in the same turn when it is synchronous.
 *
 * Invariant: the `use` calls happen in the order of the `run` calls, each after its own
 * `prepare` settled and after the earlier `use` calls.
 */
export class ArrivalOrder {
  /** Steps started and not yet handed to their `use`. */
  #pending = 0;
  /** Settles once the last pending step was handed to its `use` (or failed). */
  #last: Promise<unknown> = Promise.resolve();

  /**
   * Runs `prepare`, then `use` with what it gave: `prepare` at once when no earlier step is
   * pending (and `use` then too, when `prepare` answered synchronously), else once the earlier
   * ones are through. A `prepare` that throws or rejects skips `use` and rejects the result.
   */
  run<T, R>(prepare: () => T | Promise<T>, use: (prepared: T) => Promise<R>): Promise<R> {
    let prepared: T | Promise<T>;
    try {
      prepared = this.#pending === 0 ? prepare() : this.#last.then(prepare);
      if (!(prepared instanceof Promise)) return use(prepared);
    } catch (error) {
      return Promise.reject(error);
    }
    this.#pending++;
    // Registered before `#last` settles: the next step starts only after this one's `use` ran.
    const used = prepared.then(
      (value) => {
        this.#pending--;
        return use(value);
      },
      (error: unknown) => {
        this.#pending--;
        throw error;
      },
    );
    this.#last = prepared.then(
      () => undefined,
      () => undefined,
    );
    return used;
  }
}
