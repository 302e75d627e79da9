import { HubError, HubErrorCode } from '../hub/hub-error.ts';
import type { SqliteThreadRole } from './sqlite-thread.ts';

/** How long after a failed open a thread may be tried again (ms): doubled for each failure in a row. */
const RETRY_MIN_MS = 1_000;
const RETRY_MAX_MS = 60_000;

/**
 * What a SQLite store does of the threads that cannot open its log: it tells of the first failure
 * of each in a row, until that thread opens it (a failure per try would flood the log), and it
 * lets the thread be tried again only after a while: each try may start a worker thread (one that
 * died is started anew), and a thread that could never start was started again for every append.
 * Meanwhile the caller's connection does that thread's work, checkpoints included.
 */
export class ThreadFailures {
  /** Failures in a row, by thread. */
  readonly #failing = new Map<SqliteThreadRole, number>();
  readonly #report: (error: HubError) => void;

  constructor(report: (error: HubError) => void) {
    this.#report = report;
  }

  /**
   * Whether the `role` thread opened the log (`opened` is not a failure). After a failure, calls
   * `retry` when the thread may be tried again: 1 s after the first failure in a row, twice as
   * long after each next one, up to a minute.
   */
  opened<T>(role: SqliteThreadRole, opened: T | HubError, retry: () => void): opened is T {
    if (!(opened instanceof HubError)) {
      this.#failing.delete(role);
      return true;
    }
    const inARow = this.#failing.get(role) ?? 0;
    this.#failing.set(role, inARow + 1);
    setTimeout(retry, Math.min(RETRY_MIN_MS * 2 ** Math.min(inARow, 6), RETRY_MAX_MS)).unref();
    if (inARow > 0) return false;
    const meanwhile = role === 'writer' ? "run on the caller's connection" : 'go to another connection';
    const why = opened.message.replace(/^event store: /, '');
    const message = `event store: the SQLite ${role} thread cannot open the log (its work ${meanwhile} until it can): ${why}`;
    this.#report(new HubError(HubErrorCode.store, message, { cause: opened }));
    return false;
  }
}
