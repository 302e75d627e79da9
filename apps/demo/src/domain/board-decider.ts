import { applyEvent, defineDecider, reject, type EventDraftOf } from '@eventloom/core';
import { boardProjection, boardStream, cardsIn, EMPTY_BOARD, type BoardState } from './board-projection.ts';
import type { BoardEvents } from './events.ts';
import { rankAt } from './rank.ts';

/** The commands whose invariants need the board's current state; each names its board. */
export type BoardCommand =
  | {
      readonly type: 'create-card';
      readonly board: string;
      readonly cardId: string;
      readonly columnId: string;
      readonly title: string;
      readonly description: string;
      readonly createdBy: string | null;
      /** Where in the column; the bottom when absent. */
      readonly rank?: number;
    }
  | {
      readonly type: 'move-card';
      readonly board: string;
      readonly cardId: string;
      readonly to: string;
      readonly rank: number;
    }
  | {
      readonly type: 'request-archive';
      readonly board: string;
      readonly columnId: string;
      readonly requestId: string;
      readonly by: string | null;
    }
  /** A step of the archive-column saga (or by hand, `requestId` null). */
  | {
      readonly type: 'archive-card';
      readonly board: string;
      readonly cardId: string;
      readonly requestId: string | null;
    }
  /** An archived card back to its column (by hand): it must fit in the column's WIP limit. */
  | { readonly type: 'restore-card'; readonly board: string; readonly cardId: string }
  /** The saga's compensation: restore what the run archived, and mark it failed, in one append. */
  | {
      readonly type: 'abort-archive';
      readonly board: string;
      readonly requestId: string;
      readonly reason: string;
    }
  | { readonly type: 'complete-archive'; readonly board: string; readonly requestId: string };

/** Why the board refuses a command. */
export const BoardRejection = {
  /** The column holds as many live cards as its WIP limit allows. */
  wipLimitReached: 'wip-limit-reached',
  noSuchCard: 'no-such-card',
  noSuchColumn: 'no-such-column',
  columnArchived: 'column-archived',
  /** The column is being archived: no card may enter it. */
  archiveInProgress: 'archive-in-progress',
  cardArchived: 'card-archived',
  /** A blocked card cannot be archived: the archive-column saga compensates. */
  cardBlocked: 'card-blocked',
  archiveNotRunning: 'archive-not-running',
} as const;
export type BoardRejection = (typeof BoardRejection)[keyof typeof BoardRejection];

type Draft = EventDraftOf<BoardEvents>;

/**
 * The board's command model. Its state is the board projection itself (`evolve` is the
 * projection's reducer), so the rules read exactly what the screen shows. `execute` appends what
 * it decides with `expectedVersion`: if another device changed the board first, the hub rejects
 * the events and the app decides the command again on the fresh board (see `resolveRejection`).
 *
 * Invariant: a column never gets a card that would take its live cards beyond its WIP limit.
 *
 * @example
 * const result = await loom.execute(boardDecider, { type: 'move-card', board: 'team', cardId, to: 'doing', rank: 1 });
 * if (!result.ok) show(result.rejection.message); // 'Doing is at its WIP limit of 3'
 */
export const boardDecider = defineDecider<BoardState, BoardCommand, BoardEvents, BoardRejection>({
  name: 'board',
  initial: EMPTY_BOARD,
  evolve: (state, event) => applyEvent(boardProjection, state, event),
  stream: (command) => boardStream(command.board),
  decide: (command, board) => {
    switch (command.type) {
      case 'create-card': {
        // Idempotent, like every command here: deciding it again once it happened changes nothing.
        if (board.cards[command.cardId] !== undefined) return [];
        const refusal = refuseEntry(board, command.columnId, null);
        if (refusal !== undefined) return refusal;
        const rank = command.rank ?? rankAt(cardsIn(board, command.columnId), Infinity);
        return [
          {
            type: 'card.created',
            data: {
              cardId: command.cardId,
              columnId: command.columnId,
              title: command.title,
              description: command.description,
              rank,
              createdBy: command.createdBy,
            },
          },
        ];
      }
      case 'move-card': {
        const card = board.cards[command.cardId];
        if (card === undefined) return reject(BoardRejection.noSuchCard, 'This card does not exist');
        if (card.archived) return reject(BoardRejection.cardArchived, `“${card.title}” is archived`);
        if (card.columnId === command.to && card.rank === command.rank) return [];
        if (card.columnId !== command.to) {
          const refusal = refuseEntry(board, command.to, card.title);
          if (refusal !== undefined) return refusal;
        }
        return [
          {
            type: 'card.moved',
            data: { cardId: card.id, from: card.columnId, to: command.to, rank: command.rank },
          },
        ];
      }
      case 'request-archive': {
        if (board.archives[command.requestId] !== undefined) return [];
        const target = board.columns[command.columnId];
        if (target === undefined) return reject(BoardRejection.noSuchColumn, 'This column does not exist');
        if (target.archived) return reject(BoardRejection.columnArchived, `${target.title} is archived`);
        if (target.archiving !== null) {
          return reject(BoardRejection.archiveInProgress, `${target.title} is being archived already`);
        }
        // Blocked cards are not checked here: the saga meets them (as it would meet a card blocked
        // on another device while it runs) and compensates.
        return [
          {
            type: 'column.archive-requested',
            data: {
              columnId: target.id,
              requestId: command.requestId,
              cards: cardsIn(board, target.id).map((c) => c.id),
              by: command.by,
            },
          },
        ];
      }
      case 'archive-card': {
        const card = board.cards[command.cardId];
        // Idempotent: archiving what is gone or archived already is done.
        if (card === undefined || card.archived) return [];
        if (command.requestId !== null) {
          const run = board.archives[command.requestId];
          if (run?.status !== 'running') {
            return reject(BoardRejection.archiveNotRunning, 'This archive is not running any more');
          }
          if (card.columnId !== run.columnId) return [];
        }
        if (card.blocked !== null) {
          return reject(BoardRejection.cardBlocked, `“${card.title}” is blocked: ${card.blocked}`, {
            cardId: card.id,
          });
        }
        return [{ type: 'card.archived', data: { cardId: card.id, requestId: command.requestId } }];
      }
      case 'restore-card': {
        const card = board.cards[command.cardId];
        if (card === undefined) return reject(BoardRejection.noSuchCard, 'This card does not exist');
        if (!card.archived) return [];
        const refusal = refuseEntry(board, card.columnId, card.title);
        if (refusal !== undefined) return refusal;
        return [{ type: 'card.restored', data: { cardId: card.id, requestId: null } }];
      }
      case 'abort-archive': {
        const run = board.archives[command.requestId];
        if (run === undefined || run.status === 'archived') return [];
        // Every card this run archived and nobody restored since: by the card's own record, so
        // that a compensation decided again after a partial rejection restores what is left.
        const restore = Object.values(board.cards)
          .filter((c) => c.archived && c.archivedBy === run.requestId)
          .map((c) => c.id)
          .sort();
        const restores = restore.map((cardId): Draft => ({
          type: 'card.restored',
          data: { cardId, requestId: run.requestId },
        }));
        if (run.status !== 'running') return restores;
        return [
          ...restores,
          {
            type: 'column.archive-failed',
            data: {
              columnId: run.columnId,
              requestId: run.requestId,
              reason: command.reason,
              restored: restore,
            },
          },
        ];
      }
      case 'complete-archive': {
        const run = board.archives[command.requestId];
        if (run?.status !== 'running') return [];
        return [
          {
            type: 'column.archived',
            data: { columnId: run.columnId, requestId: run.requestId, cards: [...run.archived] },
          },
        ];
      }
    }
  },
});

/** Why a card may not enter a column, or nothing if it may. */
function refuseEntry(board: BoardState, columnId: string, cardTitle: string | null) {
  const target = board.columns[columnId];
  if (target === undefined) return reject(BoardRejection.noSuchColumn, 'This column does not exist');
  if (target.archived) return reject(BoardRejection.columnArchived, `${target.title} is archived`);
  if (target.archiving !== null) {
    return reject(BoardRejection.archiveInProgress, `${target.title} is being archived`, { columnId });
  }
  const count = cardsIn(board, columnId).length;
  if (target.wipLimit !== null && count >= target.wipLimit) {
    const what = cardTitle === null ? 'A new card' : `“${cardTitle}”`;
    return reject(
      BoardRejection.wipLimitReached,
      `${what} cannot enter ${target.title}: it is at its WIP limit of ${target.wipLimit}`,
      { columnId, limit: target.wipLimit, count },
    );
  }
  return undefined;
}
