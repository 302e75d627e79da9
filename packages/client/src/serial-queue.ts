/**
 * Runs async tasks one at a time, in the order they were queued: the client's in-memory view
 * (pending list, projection states) changes only inside a task, so it always matches what the
 * task read from or wrote to the store. A failing task does not stop the ones after it.
 */
export class SerialQueue {
  #tail: Promise<unknown> = Promise.resolve();

  /** Queues a task; resolves or rejects with it. */
  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(task);
    this.#tail = result.catch(() => undefined);
    return result;
  }

  /** Resolves when every task queued so far has settled. */
  async drain(): Promise<void> {
    await this.#tail;
  }
}
