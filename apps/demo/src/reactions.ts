/**
 * The only module of the demo that touches the reactions runtime (`@eventloom/core`'s handlers,
 * sagas and dead letters, issue 6). The rest of the app reads {@link BoardReactions}.
 *
 * Until the runtime is exported, the archive-column saga runs on {@link ArchiveSagaRunner}: the
 * same pure saga (`domain/archive-column-saga.ts`) driven by this device; the dead-letter queue
 * lists the client's own dead letters (pushes the hub refused and the conflict policy parked).
 */
import { SYNC_DEAD_LETTERS, type AppendInput, type DeadLetterRow, type Eventloom } from '@eventloom/client';
import type { EventEnvelope } from '@eventloom/protocol';
import { BehaviorSubject, combineLatest, firstValueFrom, type Observable, type Subscription } from 'rxjs';
import type { BoardCommands } from './board-commands.ts';
import type { Conflicts } from './conflicts.ts';
import {
  archiveColumnSaga,
  boardDecider,
  boardProjection,
  boardStream,
  type BoardCommand,
  type BoardState,
} from './domain/index.ts';

/** A dead letter as the panel shows it. */
export interface DeadLetterView {
  readonly id: string;
  /** The handler (or policy) that gave up on it. */
  readonly handler: string;
  readonly eventId: string;
  readonly eventType: string;
  readonly error: string;
  readonly attempts: number;
  readonly firstFailedAt: number;
  readonly lastFailedAt: number;
}

/** The board's reactions: the archive saga, and the dead-letter queue with retry and discard. */
export interface BoardReactions {
  readonly deadLetters$: Observable<readonly DeadLetterView[]>;
  retry(id: string): Promise<void>;
  discard(id: string): Promise<void>;
  close(): Promise<void>;
}

/** Starts the board's reactions on this device. */
export function startReactions(
  loom: Eventloom,
  boardId: string,
  commands: BoardCommands,
  conflicts: Conflicts,
): BoardReactions {
  // SEAM (issue 6): once `@eventloom/core` exports the runtime, define the saga with
  //   defineSaga({ name: archiveColumnSaga.name, startedBy: 'column.archive-requested', … })
  // and take deadLetters$ / retry / discard from it (handlers' dead letters share the table).
  const runner = new ArchiveSagaRunner(loom, boardId, commands, conflicts);
  runner.start();
  const letters = new DeadLetterQueue(loom, commands, conflicts);
  return {
    deadLetters$: letters.deadLetters$,
    retry: (id) => letters.retry(id),
    discard: (id) => letters.discard(id),
    async close() {
      runner.stop();
      letters.close();
    },
  };
}

/**
 * The client's dead letters: events the hub refused that the conflict policy parked for a person
 * (its re-decision was refused too, or the hub refused them for a reason no retry fixes). Retry
 * decides the command again on the current board (or sends the event again if no command made
 * it); discard drops it.
 */
class DeadLetterQueue {
  readonly deadLetters$: Observable<readonly DeadLetterView[]>;
  readonly #loom: Eventloom;
  readonly #commands: BoardCommands;
  readonly #conflicts: Conflicts;
  readonly #rows = new BehaviorSubject<readonly DeadLetterRow[]>([]);
  readonly #views = new BehaviorSubject<readonly DeadLetterView[]>([]);
  readonly #watch: Subscription;

  constructor(loom: Eventloom, commands: BoardCommands, conflicts: Conflicts) {
    this.#loom = loom;
    this.#commands = commands;
    this.#conflicts = conflicts;
    this.deadLetters$ = this.#views.asObservable();
    // Rejections leave the outbox for the dead letters: a change of the outbox is the cue.
    this.#watch = loom.pending$.subscribe(() => void this.#read());
  }

  async retry(id: string): Promise<void> {
    const row = this.#rows.value.find((r) => r.id === id);
    if (row === undefined) return;
    const pending = row.rejection.command;
    if (pending !== undefined && pending.decider === boardDecider.name) {
      const outcome = await this.#commands.execute(pending.command as BoardCommand, pending.meta, true);
      if (!outcome.ok) return; // still refused: it stays, and the refusal shows why
    } else {
      const { type, data, meta, stream } = row.event;
      await this.#loom.append(stream, { type, data, meta } as AppendInput);
    }
    await this.#drop(id, 'retried from the dead-letter queue: accepted');
  }

  discard(id: string): Promise<void> {
    return this.#drop(id, 'discarded from the dead-letter queue: the board stays as it was');
  }

  async #drop(id: string, resolution: string): Promise<void> {
    await this.#loom.sync.discardDeadLetters([id]);
    this.#conflicts.resolveDeadLetter(id, resolution);
    await this.#read();
  }

  close(): void {
    this.#watch.unsubscribe();
    this.#views.complete();
  }

  async #read(): Promise<void> {
    let rows: DeadLetterRow[];
    try {
      rows = await this.#loom.sync.readDeadLetters();
    } catch {
      return; // closed meanwhile
    }
    this.#rows.next(rows);
    this.#views.next(
      rows.map((row) => ({
        id: row.id,
        handler: row.handler === SYNC_DEAD_LETTERS ? 'sync (rejected by the hub)' : row.handler,
        eventId: row.event.id,
        eventType: row.event.type,
        error: `${row.error.code}: ${row.error.message}`,
        attempts: row.attempts,
        firstFailedAt: Date.parse(row.firstFailedAt),
        lastFailedAt: Date.parse(row.lastFailedAt),
      })),
    );
  }
}

/**
 * Drives the archive-column runs this device requested, on the leader tab, from confirmed state
 * only (DESIGN.md §7): each step is decided and appended, then the runner waits for it to come
 * back confirmed (or rejected) before the next. A refused step starts the compensation. The
 * run's state is the fold of its events, so a reload resumes it; its commands are idempotent, so
 * a step taken twice does nothing twice.
 */
export class ArchiveSagaRunner {
  readonly #loom: Eventloom;
  readonly #boardId: string;
  readonly #commands: BoardCommands;
  readonly #conflicts: Conflicts;
  #subscription: Subscription | undefined;
  #latest: BoardState | undefined;
  #leader = false;
  #busy = false;
  #again = false;

  constructor(loom: Eventloom, boardId: string, commands: BoardCommands, conflicts: Conflicts) {
    this.#loom = loom;
    this.#boardId = boardId;
    this.#commands = commands;
    this.#conflicts = conflicts;
  }

  start(): void {
    const confirmed = this.#loom.confirmedProjection$(boardProjection, boardStream(this.#boardId));
    this.#subscription = combineLatest([this.#loom.leader$, confirmed, this.#loom.pending$]).subscribe(
      ([leader, board]) => {
        this.#leader = leader;
        this.#latest = board;
        this.#kick();
      },
    );
  }

  stop(): void {
    this.#subscription?.unsubscribe();
  }

  #kick(): void {
    if (this.#busy) {
      this.#again = true;
      return;
    }
    this.#busy = true;
    this.#step()
      .catch((error: unknown) =>
        console.warn('archive saga step failed; will retry on the next change', error),
      )
      .finally(() => {
        this.#busy = false;
        if (this.#again) {
          this.#again = false;
          this.#kick();
        }
      });
  }

  async #step(): Promise<void> {
    const board = this.#latest;
    if (!this.#leader || board === undefined) return;
    const pending: readonly EventEnvelope[] = await firstValueFrom(this.#loom.pending$);
    for (const requestId of archiveColumnSaga.running(board, this.#loom.clientId)) {
      // A step in flight: wait until the hub confirms (or rejects) it.
      if (pending.some((e) => e.meta.correlationId === requestId)) continue;
      const command = archiveColumnSaga.next(board, this.#boardId, requestId);
      if (command === undefined) continue;
      const meta = { correlationId: requestId, causationId: board.archives[requestId]!.lastEventId };
      const outcome = await this.#commands.execute(command, meta, false);
      if (outcome.ok) continue;
      if (command.type !== 'archive-card') {
        this.#conflicts.refused(command, outcome.rejection);
        continue;
      }
      const restore = board.archives[requestId]!.archived.length;
      await this.#commands.execute(
        archiveColumnSaga.compensate(this.#boardId, requestId, outcome.rejection),
        meta,
      );
      this.#conflicts.refused(
        command,
        outcome.rejection,
        `archive saga compensated: ${restore} card${restore === 1 ? '' : 's'} restored, column kept`,
      );
    }
  }
}
