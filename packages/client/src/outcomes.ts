import type { Rejection } from '@eventloom/core';
import { ErrorCode, type EventEnvelope, type RejectionCode } from '@eventloom/protocol';
import type { Observable, Subscription } from 'rxjs';
import { ClientError, ClientErrorCode } from './client-error.ts';
import type { ClientStore, DeadLetterRow, OutboxRow } from './client-store.ts';
import type { LoomRuntime } from './loom-runtime.ts';

/**
 * What became of an appended event (`loom.outcome(event)`):
 * - `committed`: the hub stored it at `position` (its ack, or the event back confirmed);
 * - `refused`: the hub refused it, and it is parked in the dead letters with the reason
 *   (`rejection`: the decider's own, when a decision made again refused);
 * - `redecided`: the hub refused it and its decision was made again: `events` replace it (follow
 *   them with `outcome`, or the whole command with `commandOutcome`);
 * - `dropped`: it left the outbox for nothing (the conflict policy dropped it, or the decision
 *   made again decided nothing);
 * - `unknown`: this device keeps no trace of it (never appended here, or dropped or made again in
 *   another tab or an earlier session, where nothing records it).
 */
export type AppendOutcome =
  | { readonly status: 'committed'; readonly position: number; readonly streamVersion?: number }
  | {
      readonly status: 'refused';
      readonly code: RejectionCode;
      readonly message: string;
      readonly currentVersion?: number;
      readonly rejection?: Rejection;
    }
  | { readonly status: 'redecided'; readonly events: readonly EventEnvelope[] }
  | { readonly status: 'dropped'; readonly message: string }
  | { readonly status: 'unknown' };

/**
 * What became of a command `execute` decided (`loom.commandOutcome(result)`), followed through the
 * decisions made again after refusals, to its end:
 * - `committed`: all of `events` (the last decision's) were stored; `redecided` times made again;
 * - `rejected`: the decider refused it on this device (`execute` returned the rejection);
 * - `refused`: the hub refused the events and they are in the dead letters (`code`, `message`,
 *   and `rejection` when a decision made again refused);
 * - `dropped`: a decision made again decided nothing, or the conflict policy dropped the events;
 * - `unknown`: see {@link AppendOutcome}.
 */
export type CommandOutcome =
  | {
      readonly status: 'committed';
      readonly events: readonly EventEnvelope[];
      readonly positions: readonly number[];
      readonly redecided: number;
    }
  | { readonly status: 'rejected'; readonly rejection: Rejection }
  | {
      readonly status: 'refused';
      readonly events: readonly EventEnvelope[];
      readonly code: RejectionCode;
      readonly message: string;
      readonly rejection?: Rejection;
      readonly redecided: number;
    }
  | { readonly status: 'dropped'; readonly message: string; readonly redecided: number }
  | { readonly status: 'unknown'; readonly redecided: number };

/** Outcomes kept in memory, newest last: enough for the writes of a session, bounded. */
const MAX_REMEMBERED = 10_000;

interface Waiter {
  readonly event: EventEnvelope;
  readonly resolve: (outcome: AppendOutcome) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Answers `outcome(event)`. In the tab that syncs, the sync port tells it each fate as it records
 * it (`note`); elsewhere (another tab, after a restart) it reads the store after each change of
 * the outbox: the row and its ack, the rows of a decision made again (they name the events they
 * replace), the settled rows (`readSent`), the dead letters, the confirmed log.
 */
export class OutcomeTracker {
  readonly #runtime: LoomRuntime;
  readonly #store: ClientStore;
  readonly #fates = new Map<string, AppendOutcome>();
  readonly #waiters = new Map<string, Waiter[]>();
  readonly #subscription: Subscription;
  #checkQueued = false;

  constructor(options: {
    readonly runtime: LoomRuntime;
    readonly store: ClientStore;
    /** Emits after each change of the outbox this tab saw. */
    readonly changed$: Observable<unknown>;
  }) {
    this.#runtime = options.runtime;
    this.#store = options.store;
    this.#subscription = options.changed$.subscribe(() => {
      if (this.#waiters.size > 0) this.#scheduleCheck();
    });
  }

  /** What became of `event`: resolves once it is settled (committed, refused, …). */
  outcome(event: EventEnvelope): Promise<AppendOutcome> {
    const known = this.#fates.get(event.id);
    if (known !== undefined) return Promise.resolve(known);
    if (this.#runtime.closed) {
      return Promise.reject(
        new ClientError(ClientErrorCode.databaseClosed, `eventloom ${this.#runtime.name} is closed`),
      );
    }
    return new Promise((resolve, reject) => {
      const list = this.#waiters.get(event.id) ?? [];
      list.push({ event, resolve, reject });
      this.#waiters.set(event.id, list);
      this.#scheduleCheck();
    });
  }

  /** Records fates the sync port just stored, and answers who waits on them. */
  note(fates: Iterable<readonly [string, AppendOutcome]>): void {
    for (const [id, outcome] of fates) {
      this.#fates.delete(id);
      this.#fates.set(id, outcome);
      this.#settle(id, outcome);
    }
    while (this.#fates.size > MAX_REMEMBERED) {
      const oldest = this.#fates.keys().next();
      if (oldest.done === true) break;
      this.#fates.delete(oldest.value);
    }
  }

  /** Rejects every waiter with `database-closed`. */
  close(): void {
    this.#subscription.unsubscribe();
    const error = new ClientError(
      ClientErrorCode.databaseClosed,
      `eventloom ${this.#runtime.name} is closed`,
    );
    for (const list of this.#waiters.values()) for (const waiter of list) waiter.reject(error);
    this.#waiters.clear();
  }

  #settle(id: string, outcome: AppendOutcome): void {
    const list = this.#waiters.get(id);
    if (list === undefined) return;
    this.#waiters.delete(id);
    for (const waiter of list) waiter.resolve(outcome);
  }

  #scheduleCheck(): void {
    if (this.#checkQueued || this.#runtime.closed) return;
    this.#checkQueued = true;
    this.#runtime
      .run(async () => {
        this.#checkQueued = false;
        await this.#check();
      })
      .catch((error: unknown) => {
        this.#checkQueued = false;
        if (!this.#runtime.closed) this.#runtime.report(error as ClientError);
      });
  }

  /** Reads the store for every event waited on (inside the runtime's queue: a consistent view). */
  async #check(): Promise<void> {
    const waiting = [...this.#waiters.values()].map((list) => list[0]!.event);
    if (waiting.length === 0) return;
    const rows = await this.#store.readPending();
    const byId = new Map(rows.map((row) => [row.event.id, row]));
    let letters: Map<string, AppendOutcome> | undefined;
    for (const event of waiting) {
      const known = this.#fates.get(event.id);
      if (known !== undefined) {
        this.#settle(event.id, known);
        continue;
      }
      const row = byId.get(event.id);
      if (row !== undefined) {
        if (row.acked !== undefined) this.#settle(event.id, { status: 'committed', ...row.acked });
        continue;
      }
      const replacing = rows.filter((r) => r.command?.replaces?.includes(event.id) === true);
      if (replacing.length > 0) {
        this.#settle(event.id, { status: 'redecided', events: replacing.map((r) => r.event) });
        continue;
      }
      // Settled: acked, and left without coming back confirmed (a stream this log does not hold).
      const [sent] = await this.#store.readSent([event.clientSeq]);
      if (sent?.acked !== undefined && sent.event.id === event.id) {
        this.#settle(event.id, committed(sent.acked.position, sent.acked.streamVersion));
        continue;
      }
      letters ??= new Map(
        (await this.#store.readDeadLetters()).map((letter) => [
          letter.event.id,
          {
            status: 'refused',
            code: letter.error.code,
            message: letter.error.message,
            ...(letter.rejection.currentVersion === undefined
              ? {}
              : { currentVersion: letter.rejection.currentVersion }),
          },
        ]),
      );
      const letter = letters.get(event.id);
      // Held aside (the hub did not know its version): it is sent again, its fate still open.
      if (
        letter !== undefined &&
        letter.status === 'refused' &&
        letter.code === ErrorCode.unknownEventVersion
      )
        continue;
      if (letter !== undefined) {
        this.#settle(event.id, letter);
        continue;
      }
      const confirmed = (await this.#store.readConfirmed({ stream: event.stream })).find(
        (e) => e.id === event.id,
      );
      this.#settle(
        event.id,
        confirmed === undefined
          ? { status: 'unknown' }
          : { status: 'committed', position: confirmed.position, streamVersion: confirmed.streamVersion },
      );
    }
  }
}

/**
 * Follows a command's events to their end: through each decision made again (its events replace
 * the refused ones), until all are committed, or refused, dropped or unknown.
 */
export async function followCommand(
  first: readonly EventEnvelope[],
  outcome: (event: EventEnvelope) => Promise<AppendOutcome>,
): Promise<CommandOutcome> {
  let events = first;
  let redecided = 0;
  for (;;) {
    const outcomes = await Promise.all(events.map(outcome));
    const next = outcomes.find((o) => o.status === 'redecided');
    if (next !== undefined) {
      events = next.events;
      redecided++;
      continue;
    }
    const refused = outcomes.find((o) => o.status === 'refused');
    if (refused !== undefined) {
      const { status: _, currentVersion: __, ...reason } = refused;
      return { status: 'refused', events, ...reason, redecided };
    }
    const dropped = outcomes.find((o) => o.status === 'dropped');
    if (dropped !== undefined) return { status: 'dropped', message: dropped.message, redecided };
    if (outcomes.some((o) => o.status === 'unknown')) return { status: 'unknown', redecided };
    const positions = outcomes.map((o) => (o.status === 'committed' ? o.position : -1));
    return { status: 'committed', events, positions, redecided };
  }
}

/** The fate of an event the hub stored, at its position. */
export function committed(position: number, streamVersion: number | undefined): AppendOutcome {
  return streamVersion === undefined
    ? { status: 'committed', position }
    : { status: 'committed', position, streamVersion };
}

/** The fate of an event parked in the dead letters. */
export function refused(letter: DeadLetterRow): AppendOutcome {
  const { currentVersion } = letter.rejection;
  return {
    status: 'refused',
    code: letter.error.code,
    message: letter.error.message,
    ...(currentVersion === undefined ? {} : { currentVersion }),
  };
}

/** The fate of an event dropped from the outbox. */
export function droppedFate(message: string): AppendOutcome {
  return { status: 'dropped', message };
}

/** Acked rows that left without coming back (a stream this log does not hold): committed at their ack. */
export function settledFates(rows: readonly OutboxRow[]): (readonly [string, AppendOutcome])[] {
  return rows.flatMap((row) =>
    row.acked === undefined
      ? []
      : [[row.event.id, committed(row.acked.position, row.acked.streamVersion)] as const],
  );
}
