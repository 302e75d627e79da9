import { HubError, HubErrorCode } from '../hub/hub-error.ts';
import type { SqliteThreadRole } from './sqlite-thread.ts';

/**
 * What a SQLite store tells of the threads that cannot open its log: the first failure of each
 * in a row, until that thread opens it. Meanwhile the caller's connection does that thread's work
 * (checkpoints included), and each later need tries again: a failure per need would flood the log.
 */
export class ThreadFailures {
  readonly #failing = new Set<SqliteThreadRole>();
  readonly #report: (error: HubError) => void;

  constructor(report: (error: HubError) => void) {
    this.#report = report;
  }

  /** Whether the `role` thread opened the log (`opened` is not a failure); tells of a first failure. */
  opened<T>(role: SqliteThreadRole, opened: T | HubError): opened is T {
    if (!(opened instanceof HubError)) {
      this.#failing.delete(role);
      return true;
    }
    if (this.#failing.has(role)) return false;
    this.#failing.add(role);
    const meanwhile = role === 'writer' ? "run on the caller's connection" : 'go to another connection';
    const why = opened.message.replace(/^event store: /, '');
    const message = `event store: the SQLite ${role} thread cannot open the log (its work ${meanwhile} until it can): ${why}`;
    this.#report(new HubError(HubErrorCode.store, message, { cause: opened }));
    return false;
  }
}
