import type { FoldableEvent } from '../foldable-event.ts';

/** An error as a dead letter keeps it: plain data, so it can be stored and sent. */
export interface ErrorSnapshot {
  readonly name: string;
  readonly message: string;
  readonly stack?: string;
  /** The `code` of a coded error (`CoreError`, `ClientError`, `HubError`…), when it had one. */
  readonly code?: string;
}

/**
 * An event a handler gave up on after its last attempt, parked for a person (DESIGN.md §7). The
 * handler went on with the next event; the letter can be retried, replayed into another handler
 * or discarded.
 */
export interface DeadLetter {
  /** `<handler>/<event id>`: one letter per handler and event. */
  readonly id: string;
  /** The handler (or saga) that failed. */
  readonly handler: string;
  /**
   * The event, as the handler saw it (upcast; confirmed ones carry `position`). Absent only on the
   * letter of a saga whose compensations failed after one of its timeouts (no event caused it).
   */
  readonly event?: FoldableEvent;
  /** The last error. */
  readonly error: ErrorSnapshot;
  /** Attempts so far, retries from the dead-letter queue included. */
  readonly attempts: number;
  /** ISO time of the first failure. */
  readonly firstFailedAt: string;
  /** ISO time of the last failure. */
  readonly lastFailedAt: string;
  /** For a saga whose compensations failed: the saga instance id. */
  readonly instance?: string;
  /**
   * Set while a dead-letter queue retries or replays the letter: a lease, so that another queue on
   * the same store (another tab, an admin call) does not run the handler at the same time.
   */
  readonly retrying?: { readonly by: string; readonly until: string };
}

/**
 * The id of the dead letter of a handler and event.
 *
 * @example deadLetterId('send-invoice', event.id) // 'send-invoice/0190…'
 */
export function deadLetterId(handler: string, eventId: string): string {
  return `${handler}/${eventId}`;
}

/** Turns anything thrown into an {@link ErrorSnapshot}. */
export function snapshotError(thrown: unknown): ErrorSnapshot {
  if (thrown instanceof Error) {
    const code: unknown = (thrown as { code?: unknown }).code;
    return {
      name: thrown.name,
      message: thrown.message,
      ...(typeof thrown.stack === 'string' ? { stack: thrown.stack } : {}),
      ...(typeof code === 'string' ? { code } : {}),
    };
  }
  return { name: 'Error', message: typeof thrown === 'string' ? thrown : safeString(thrown) };
}

function safeString(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
