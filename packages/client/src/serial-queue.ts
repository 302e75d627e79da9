/**
 * Runs async tasks one at a time, in the order they were queued: the client's in-memory view
 * (pending list, projection states) changes only inside a task, so it always matches what the
 * task read from or wrote to the store. A failing task does not stop the ones after it.
 */
export class SerialQueue {
  #tail: Promise<unknown> = Promise.resolve();
  /** Tasks queued and not settled yet (one running, the others waiting). */
  #open = 0;

  /** Queues a task; resolves or rejects with it. */
  run<T>(task: () => Promise<T>): Promise<T> {
    return this.#track(this.#tail.then(task));
  }

  /**
   * Like {@link run}, but when no task is queued or running, `task` starts at once, in the caller's
   * stack, instead of a microtask later: what it does before its first `await` is done when this
   * returns (an append's push leaves before the caller goes on). The queue is busy before `task`
   * is called, so a task it queues in its synchronous part (a subscriber that appends while the
   * task emits) waits for it. "Idle" means every task has settled: a task settles a few microtasks
   * after it resolves its caller, so `await append(); append()` queues the second one. A task
   * that throws rejects.
   */
  runNow<T>(task: () => Promise<T>): Promise<T> {
    if (this.#open > 0) return this.run(task);
    let release!: () => void;
    void this.#track(new Promise<void>((resolve) => (release = resolve)));
    let started: Promise<T>;
    try {
      started = task();
    } catch (error) {
      started = Promise.reject(error);
    }
    started.then(release, release);
    return started;
  }

  /** Resolves when every task queued so far has settled. */
  async drain(): Promise<void> {
    await this.#tail;
  }

  /** The next task waits for `result` to settle; the queue is idle again once it has. */
  #track<T>(result: Promise<T>): Promise<T> {
    this.#open++;
    const settled = (): void => void this.#open--;
    this.#tail = result.then(settled, settled);
    return result;
  }
}
