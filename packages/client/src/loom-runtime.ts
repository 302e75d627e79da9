import { Subject } from 'rxjs';
import { ClientError, ClientErrorCode, toClientError } from './client-error.ts';
import { SerialQueue } from './serial-queue.ts';

/**
 * What every part of an open Eventloom shares: the one queue its work runs in (so the in-memory
 * view changes only inside a task, in step with the store), the errors that have no caller, and
 * whether it is closed.
 */
export class LoomRuntime {
  readonly name: string;
  readonly #queue = new SerialQueue();
  readonly #errors: Subject<ClientError>;
  #closed = false;
  #queued = 0;

  constructor(name: string, errors: Subject<ClientError>) {
    this.name = name;
    this.#errors = errors;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Tasks queued so far (a task queued last may take more work while this has not moved). */
  get queued(): number {
    return this.#queued;
  }

  /** Queues a task; a thrown value comes out as a {@link ClientError}. Rejects once closed. */
  run<T>(task: () => Promise<T>): Promise<T> {
    return this.#enqueue(task, false);
  }

  /**
   * Like {@link run}, but an idle queue (every task settled) starts the task at once, in the
   * caller's stack (see `SerialQueue.runNow`): an append's push leaves before `append` returns.
   * Not for `await append(); append()`: the first task settles a few microtasks after it resolves
   * its caller, so the second one queues behind it.
   */
  runNow<T>(task: () => Promise<T>): Promise<T> {
    return this.#enqueue(task, true);
  }

  #enqueue<T>(task: () => Promise<T>, now: boolean): Promise<T> {
    if (this.#closed) {
      return Promise.reject(
        new ClientError(ClientErrorCode.databaseClosed, `eventloom ${this.name} is closed`),
      );
    }
    this.#queued++;
    const guarded = async () => {
      try {
        return await task();
      } catch (thrown) {
        throw toClientError(thrown);
      }
    };
    return now ? this.#queue.runNow(guarded) : this.#queue.run(guarded);
  }

  /** Reports a failure that has no caller to throw to (a no-op once closed). */
  report(error: ClientError): void {
    this.#errors.next(error);
  }

  /** Refuses new work from now on. */
  markClosed(): void {
    this.#closed = true;
  }

  /** Resolves when the work queued so far has settled. */
  drain(): Promise<void> {
    return this.#queue.drain();
  }

  /** Completes `errors$`. */
  complete(): void {
    this.#errors.complete();
  }
}
