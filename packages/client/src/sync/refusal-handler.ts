import type { OutboxRow } from '../client-store.ts';
import { toClientError, type ClientError } from '../client-error.ts';
import type { RejectInput, SyncPort } from '../sync-port.ts';
import {
  conflictAction,
  defaultConflictPolicy,
  type ConflictPolicy,
  type PushRejection,
} from './conflict-policy.ts';
import { RefusalReminders } from './refusal-reminders.ts';
import type { Refusal } from './session-host.ts';
import type { SyncSession } from './sync-session.ts';
import type { AnyDecider, RejectionReport } from './sync-types.ts';

/** A refused decision waiting to be made again on fresh state. */
interface QueuedDecision {
  /** The clientSeq of its first event: the key. */
  readonly first: number;
  readonly decider: AnyDecider;
  readonly ids: string[];
  readonly seqs: number[];
  readonly refusals: PushRejection[];
  currentVersion: number | undefined;
}

/** What the {@link RefusalHandler} needs of the engine. */
export interface RefusalHandlerOptions {
  readonly port: SyncPort;
  readonly conflicts: ConflictPolicy | undefined;
  readonly deciders: readonly AnyDecider[] | undefined;
  readonly maxRedecides: number | undefined;
  /** The session of the connection up now, if any. */
  readonly session: () => SyncSession | undefined;
  /** What the conflict policy did with a refused event. */
  readonly rejections: (report: RejectionReport) => void;
  /** A failure with no caller. */
  readonly report: (error: ClientError) => void;
  /** Decisions were made again (or given up): `flushed()` waiters may be answered. */
  readonly progressed: () => void;
}

/**
 * What the sync does with pushed events the hub refuses for good: the conflict policy decides each
 * (decide again, drop, park in the dead letters); decisions to make again wait in a queue until the
 * log has caught up with the hub, and are made in clientSeq order. It keeps the refusal reminders
 * (see {@link RefusalReminders}) and the set of events parked for a new decision, which the session
 * asks about when it cuts a push batch.
 */
export class RefusalHandler {
  readonly #port: SyncPort;
  readonly #conflicts: ConflictPolicy;
  readonly #deciders: ReadonlyMap<string, AnyDecider>;
  readonly #maxRedecides: number;
  readonly #session: () => SyncSession | undefined;
  readonly #rejections: (report: RejectionReport) => void;
  readonly #report: (error: ClientError) => void;
  readonly #progressed: () => void;
  readonly #queue = new Map<number, QueuedDecision>();
  readonly #parked = new Set<number>();
  readonly #reminders = new RefusalReminders();
  /** A decision waits for the refusal of guarded events decided on the refused one. */
  #deferred = false;
  #redeciding = false;
  #redecideAgain = false;

  constructor(options: RefusalHandlerOptions) {
    this.#port = options.port;
    this.#conflicts = options.conflicts ?? defaultConflictPolicy;
    const names = new Map<string, AnyDecider>();
    for (const decider of options.deciders ?? []) names.set(decider.name, decider);
    this.#deciders = names;
    this.#maxRedecides = options.maxRedecides ?? 5;
    this.#session = options.session;
    this.#rejections = options.rejections;
    this.#report = options.report;
    this.#progressed = options.progressed;
  }

  /** How many refused decisions wait to be made again. */
  get waiting(): number {
    return this.#queue.size;
  }

  /** Whether a decision waits for events decided on its refused one to come back refused too. */
  get deferred(): boolean {
    return this.#deferred;
  }

  /** Whether the outbox row `clientSeq` is parked for a new decision (not to be pushed). */
  parked(clientSeq: number): boolean {
    return this.#parked.has(clientSeq);
  }

  /** The refused event to send again ahead of `row`, if `row` was decided on it. */
  reminder(row: OutboxRow): OutboxRow | undefined {
    return this.#reminders.for(row);
  }

  /**
   * Outbox rows were numbered anew (a restored hub, or a `seq-used` refusal: `SyncPort.realign`);
   * `seqs` maps old seqs to new. The parked rows, the queued decisions (keyed by the seq of their
   * first event, as their commands are) and the reminders follow, or they would speak of other rows.
   */
  renumbered(seqs: ReadonlyMap<number, number>): void {
    const at = (seq: number) => seqs.get(seq) ?? seq;
    const parked = [...this.#parked].map(at);
    this.#parked.clear();
    for (const seq of parked) this.#parked.add(seq);
    const queued = [...this.#queue.values()];
    this.#queue.clear();
    for (const entry of queued) {
      const first = at(entry.first);
      this.#queue.set(first, { ...entry, first, seqs: entry.seqs.map(at) });
    }
    this.#reminders.renumbered(seqs);
  }

  /** The conflict policy: refused events are decided again, dropped or parked; the outbox moves on. */
  async refused(refusals: readonly Refusal[]): Promise<void> {
    const settle: RejectInput[] = [];
    const byId = new Map<string, PushRejection>();
    for (const { row, result } of refusals) {
      this.#reminders.refused(row);
      const rejection: PushRejection = {
        event: row.event,
        code: result.code,
        message: result.message,
        ...(result.currentVersion === undefined ? {} : { currentVersion: result.currentVersion }),
        ...(row.command === undefined ? {} : { command: row.command }),
      };
      let action;
      try {
        action = conflictAction(this.#conflicts ?? defaultConflictPolicy, rejection);
      } catch (error) {
        this.#report(toClientError(error));
        action = 'dead-letter' as const;
      }
      let message = result.message;
      if (action === 'redecide') {
        const command = row.command;
        const decider = command ? this.#deciders.get(command.decider) : undefined;
        if (command && decider && command.attempt < this.#maxRedecides) {
          const queued = this.#queue.get(command.first) ?? {
            first: command.first,
            decider,
            ids: [],
            seqs: [],
            refusals: [],
            currentVersion: undefined,
          };
          queued.ids.push(row.event.id);
          queued.seqs.push(row.clientSeq);
          queued.refusals.push(rejection);
          if (result.currentVersion !== undefined) {
            queued.currentVersion = Math.max(queued.currentVersion ?? 0, result.currentVersion);
          }
          this.#queue.set(command.first, queued);
          this.#parked.add(row.clientSeq);
          continue;
        }
        action = 'dead-letter';
        message = `${message} (not decided again: ${
          command === undefined
            ? 'no command was kept with the event'
            : decider === undefined
              ? `no decider named ${command.decider} was given to createSync`
              : `decided ${command.attempt} times already`
        })`.slice(0, 1024);
      }
      settle.push({
        id: row.event.id,
        code: result.code,
        message,
        ...(result.currentVersion === undefined ? {} : { currentVersion: result.currentVersion }),
        ...(action === 'drop' ? { drop: true } : {}),
      });
      byId.set(row.event.id, { ...rejection, message });
    }
    if (settle.length > 0) {
      const { deadLetters, dropped } = await this.#port.markRejected(settle);
      for (const letter of deadLetters) this.#announce(byId.get(letter.event.id), 'dead-lettered');
      for (const row of dropped) this.#announce(byId.get(row.event.id), 'dropped');
      await this.#settleReminders([
        ...deadLetters.map((d) => d.event.clientSeq),
        ...dropped.map((r) => r.clientSeq),
      ]);
    }
    if (this.#queue.size > 0) this.schedule();
  }

  #announce(
    rejection: PushRejection | undefined,
    action: RejectionReport['action'],
    events?: RejectionReport['events'],
  ): void {
    if (rejection === undefined) return;
    const { event, code, message } = rejection;
    this.#rejections({ event, code, message, action, ...(events ? { events } : {}) });
  }

  /** Makes the queued decisions again once the log has caught up with the hub (a fresh pull first). */
  schedule(): void {
    if (this.#queue.size === 0) return;
    if (this.#redeciding) {
      this.#redecideAgain = true;
      return;
    }
    this.#redeciding = true;
    void this.#redecide()
      .catch((error: unknown) => this.#report(toClientError(error)))
      .finally(() => {
        this.#redeciding = false;
        this.#session()?.kickPush();
        this.#progressed();
        if (this.#redecideAgain) {
          this.#redecideAgain = false;
          this.schedule();
        }
      });
  }

  async #redecide(): Promise<void> {
    do {
      this.#redecideAgain = false;
      const session = this.#session();
      if (session === undefined || !session.open || this.#queue.size === 0) return;
      await session.syncLoop();
      if (!session.open) return;
      const entries = await this.#ready([...this.#queue.values()].sort((a, b) => a.first - b.first));
      if (entries.length === 0) return;
      // Events appended after this were decided without the refused ones (the redecided ones too).
      const after = await this.#lastSeq();
      const outcomes = await this.#port.redecide(
        entries.map((e) => ({
          ids: e.ids,
          decider: e.decider,
          ...(e.currentVersion === undefined ? {} : { currentVersion: e.currentVersion }),
        })),
      );
      const stale: RejectInput[] = [];
      outcomes.forEach((outcome, i) => {
        const entry = entries[i]!;
        const first = entry.refusals[0];
        if (outcome.kind === 'stale') {
          // Pulled up to the hub's head and still behind: this device does not hold the stream.
          const message = `not decided again: this device holds ${first?.event.stream ?? 'the stream'} up to version ${outcome.streamVersion}, the hub at ${entry.currentVersion ?? '?'} (subscribe to it to decide there)`;
          for (const id of entry.ids) {
            stale.push({
              id,
              code: first?.code ?? 'wrong-expected-version',
              message,
              ...(entry.currentVersion === undefined ? {} : { currentVersion: entry.currentVersion }),
            });
          }
          for (const r of entry.refusals) this.#announce({ ...r, message }, 'dead-lettered');
        } else if (outcome.kind === 'appended') this.#announce(first, 'redecided', outcome.events);
        else if (outcome.kind === 'refused') this.#announce(first, 'dead-lettered');
        else if (outcome.kind === 'nothing') this.#announce(first, 'dropped');
      });
      if (stale.length > 0) await this.#port.markRejected(stale);
      for (const [i, entry] of entries.entries()) {
        this.#queue.delete(entry.first);
        const outcome = outcomes[i];
        // Events appended from here on were decided without the refused ones.
        const upTo = outcome?.kind === 'appended' ? outcome.events[0]!.clientSeq - 1 : after;
        for (const seq of entry.seqs) {
          this.#parked.delete(seq);
          this.#reminders.settled(seq, upTo);
        }
      }
    } while (this.#redecideAgain && this.#queue.size > 0);
  }

  /**
   * The queued decisions that can be made now: not those of a stream where guarded events decided
   * on a refused one are still to be refused (pushed with the reminder); they come back refused
   * and are decided again with it, in order, each without the others in its state.
   */
  async #ready(entries: readonly QueuedDecision[]): Promise<QueuedDecision[]> {
    this.#deferred = false;
    const waiting = entries.filter((e) => e.refusals.some((r) => r.event.expectedVersion !== undefined));
    if (waiting.length === 0) return [...entries];
    const first = Math.min(...waiting.map((e) => e.first));
    const rows = await this.#port.readOutbox({ afterSeq: first - 1, unackedOnly: true });
    const queued = new Set(entries.flatMap((e) => e.seqs));
    const open = new Set<string>();
    for (const row of rows) {
      if (queued.has(row.clientSeq) || this.#parked.has(row.clientSeq)) continue;
      const reminder = this.#reminders.for(row);
      if (reminder !== undefined && queued.has(reminder.clientSeq)) open.add(row.event.stream);
    }
    if (open.size === 0) return [...entries];
    this.#deferred = true;
    return entries.filter((e) => !e.refusals.some((r) => open.has(r.event.stream)));
  }

  /** Marks refused events that left the outbox: the events after the outbox's end now were decided without them. */
  async #settleReminders(seqs: readonly number[]): Promise<void> {
    if (seqs.length === 0) return;
    const upTo = await this.#lastSeq();
    for (const seq of seqs) this.#reminders.settled(seq, upTo);
  }

  /** The last clientSeq given out: events appended later get higher ones. */
  async #lastSeq(): Promise<number> {
    return this.#port.lastClientSeq();
  }
}
