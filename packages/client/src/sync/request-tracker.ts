import { ClientError, ClientErrorCode } from '../client-error.ts';
import type { SyncSocket } from './sync-socket.ts';

/**
 * A session's requests waiting for the hub's answer and its timers: all of them fail or stop
 * together when the session ends ({@link RequestTracker.end}).
 */
export class RequestTracker {
  readonly #failRequests = new Set<(error: ClientError) => void>();
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();
  readonly #timeoutMs: number;
  readonly #timedOut: (error: ClientError) => void;

  /** `timedOut` hears of a request the hub did not answer within `timeoutMs` (it drops the connection). */
  constructor(timeoutMs: number, timedOut: (error: ClientError) => void) {
    this.#timeoutMs = timeoutMs;
    this.#timedOut = timedOut;
  }

  /** Sends a request over `socket` and resolves with the hub's answer; rejects on timeout or {@link end}. */
  request(socket: SyncSocket, name: string, payload: unknown): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const fail = (error: ClientError) => {
        clearTimeout(timer);
        this.#timers.delete(timer);
        this.#failRequests.delete(fail);
        reject(error);
      };
      const timer = setTimeout(() => {
        const error = new ClientError(
          ClientErrorCode.timeout,
          `the hub did not answer ${name} within ${this.#timeoutMs} ms`,
        );
        fail(error);
        this.#timedOut(error);
      }, this.#timeoutMs);
      this.#timers.add(timer);
      this.#failRequests.add(fail);
      socket.emit(name, payload, (answer: unknown) => {
        clearTimeout(timer);
        this.#timers.delete(timer);
        this.#failRequests.delete(fail);
        resolve(answer);
      });
    });
  }

  /** Runs `fn` after `ms`, unless {@link end} comes first. */
  later(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      fn();
    }, ms);
    this.#timers.add(timer);
  }

  /** Fails the requests waiting with `error` and stops the timers. */
  end(error: ClientError): void {
    for (const fail of this.#failRequests) fail(error);
    this.#failRequests.clear();
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
  }
}
