/**
 * The demo's reactions, on the client's reaction runtime (`createReactions` of
 * `@eventloom/client`, handlers of `@eventloom/core`): the archive-column saga as a handler, and
 * the dead-letter queue with retry and discard. The rest of the app reads {@link BoardReactions}.
 */
import {
  createReactions,
  SYNC_DEAD_LETTERS,
  type Eventloom,
  type IndexedDbDeps,
  type Reactions,
} from '@eventloom/client';
import { defineHandler, type DeadLetter, type Handler, type Scheduler } from '@eventloom/core';
import { firstValueFrom, map, type Observable, type Subscription } from 'rxjs';
import type { BoardCommands } from './board-commands.ts';
import type { Conflicts } from './conflicts.ts';
import { archiveColumnSaga, boardDecider, boardProjection, boardStream } from './domain/index.ts';

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
  /** Resolves once the reactions have handled every confirmed event up to `position` (leader tab only). */
  settled(position: number): Promise<void>;
  close(): Promise<void>;
}

/** Where the reactions keep their state, and their clock: the defaults in the app; tests pass fake-indexeddb. */
export interface ReactionsEnvironment {
  readonly storage?: IndexedDbDeps;
  readonly scheduler?: Scheduler;
}

/**
 * Starts the board's reactions on this device: they run in the leader tab (and move with the
 * lead); the dead-letter queue works in every tab. It lists the archive saga's dead letters and
 * the pushes the hub refused that the conflict policy parked: retry runs the saga's step again,
 * or decides the refused command again on the current board; discard drops the letter.
 */
export function startReactions(
  loom: Eventloom,
  boardId: string,
  commands: BoardCommands,
  conflicts: Conflicts,
  environment: ReactionsEnvironment = {},
): BoardReactions {
  const reactions: Reactions = createReactions(loom, {
    handlers: [archiveColumnHandler(loom, boardId, commands, conflicts)],
    deciders: [boardDecider],
    ...environment,
  });
  const errors: Subscription = reactions.errors$.subscribe((error) =>
    console.warn('a board reaction failed; it is retried', error),
  );
  const queue = reactions.deadLetters;
  return {
    deadLetters$: queue.deadLetters$.pipe(map((letters) => letters.map(viewOf))),
    async retry(id) {
      const outcome = await queue.retry(id);
      // Still refused: it stays, and its error says why.
      if (outcome.status === 'failed' || outcome.status === 'busy') return;
      conflicts.resolveDeadLetter(id, 'retried from the dead-letter queue: accepted');
    },
    async discard(id) {
      await queue.discard(id);
      conflicts.resolveDeadLetter(id, 'discarded from the dead-letter queue: the board stays as it was');
    },
    settled: (position) => reactions.settled(position),
    async close() {
      await reactions.stop();
      errors.unsubscribe();
    },
  };
}

/**
 * The archive-column saga (`domain/archive-column-saga.ts`) as a handler of the board's confirmed
 * events. Its state is the board's confirmed fold (`board.archives[requestId]`), so every
 * confirmed event of the board is a cue: for each run this device requested that has no step in
 * flight, it decides the next step (`archive-card`, then `complete-archive`) on the board; when
 * the board refuses a card (it is blocked), it compensates with `abort-archive`, which restores
 * what the run archived, and says why in the conflicts. It reacts to confirmed events only, in
 * the leader tab only, once per device; every command is idempotent, so a step the runtime runs
 * again after a crash does nothing twice. A step that keeps failing is dead-lettered with the
 * event that cued it, and a retry from the queue takes it again.
 */
export function archiveColumnHandler(
  loom: Eventloom,
  boardId: string,
  commands: BoardCommands,
  conflicts: Conflicts,
): Handler {
  const stream = boardStream(boardId);
  return defineHandler({
    name: archiveColumnSaga.name,
    on: (event) => event.stream === stream,
    async handle() {
      const board = await firstValueFrom(loom.confirmedProjection$(boardProjection, stream));
      const pending = await firstValueFrom(loom.pending$);
      for (const requestId of archiveColumnSaga.running(board, loom.clientId)) {
        // A step in flight: its confirmation is the next cue.
        if (pending.some((e) => e.meta.correlationId === requestId)) continue;
        const command = archiveColumnSaga.next(board, boardId, requestId);
        if (command === undefined) continue;
        const meta = { correlationId: requestId, causationId: board.archives[requestId]!.lastEventId };
        const outcome = await commands.execute(command, meta, false);
        if (outcome.ok) continue;
        if (command.type !== 'archive-card') {
          conflicts.refused(command, outcome.rejection);
          continue;
        }
        const restore = board.archives[requestId]!.archived.length;
        await commands.execute(archiveColumnSaga.compensate(boardId, requestId, outcome.rejection), meta);
        conflicts.refused(
          command,
          outcome.rejection,
          `archive saga compensated: ${restore} card${restore === 1 ? '' : 's'} restored, column kept`,
        );
      }
    },
  });
}

function viewOf(letter: DeadLetter): DeadLetterView {
  const { code } = letter.error;
  return {
    id: letter.id,
    handler: letter.handler === SYNC_DEAD_LETTERS ? 'sync (rejected by the hub)' : letter.handler,
    eventId: letter.event?.id ?? '',
    eventType: letter.event?.type ?? '(none)',
    error: code === undefined ? letter.error.message : `${code}: ${letter.error.message}`,
    attempts: letter.attempts,
    firstFailedAt: Date.parse(letter.firstFailedAt),
    lastFailedAt: Date.parse(letter.lastFailedAt),
  };
}
