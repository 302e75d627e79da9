import type { Rejection } from '@eventloom/core';
import type { BoardCommand } from './board-decider.ts';
import { cardsIn, type BoardState } from './board-projection.ts';

/**
 * The archive-column saga (a process manager), as pure functions of the board: archiving a column
 * archives its cards one at a time, each step a command the board decides, then the column. If a
 * step is refused (a blocked card), the compensation restores every card the run archived and
 * marks the run failed, in one append. The saga's state is the fold of its own events
 * (`board.archives[requestId]`), so it resumes after a reload wherever its events left it, and
 * every command is idempotent, so a step decided twice does nothing twice.
 *
 * Started by `column.archive-requested`, correlated by `requestId`; it reacts to confirmed state.
 */
export const archiveColumnSaga = {
  name: 'archive-column',
  startedBy: 'column.archive-requested',
  /** The next command of the run, or `undefined` when the run is over (or unknown). */
  next(board: BoardState, boardId: string, requestId: string): BoardCommand | undefined {
    const run = board.archives[requestId];
    if (run?.status !== 'running') return undefined;
    const card = cardsIn(board, run.columnId)[0];
    return card === undefined
      ? { type: 'complete-archive', board: boardId, requestId }
      : { type: 'archive-card', board: boardId, cardId: card.id, requestId };
  },
  /** The compensation when a step is refused. */
  compensate(boardId: string, requestId: string, rejection: Rejection): BoardCommand {
    return { type: 'abort-archive', board: boardId, requestId, reason: rejection.message };
  },
  /** The runs that are still going, requested by `clientId` (the device that runs them). */
  running(board: BoardState, clientId: string): string[] {
    return Object.values(board.archives)
      .filter((run) => run.status === 'running' && run.clientId === clientId)
      .map((run) => run.requestId);
  },
} as const;
