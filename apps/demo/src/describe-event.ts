import { memberOf, type BoardEvents, type BoardState } from './domain/index.ts';

/** An event as the timeline reads it: a type, its data (latest version), who wrote it. */
export interface DescribableEvent {
  readonly type: string;
  readonly data: unknown;
  /** The device that wrote it, where known: a join for another member's id is a device saying who it is. */
  readonly clientId?: string;
}

/**
 * One line in plain words for the timeline: what happened, with the names the board knows now
 * (card and column titles, member names).
 *
 * @example describeEvent({ type: 'card.moved', data }, board) // 'moved “Fix login” from To do to Doing'
 */
export function describeEvent(event: DescribableEvent, board: BoardState): string {
  const card = (id: string) => `“${board.cards[id]?.title ?? 'a card'}”`;
  const column = (id: string) => board.columns[id]?.title ?? 'a column';
  const member = (id: string | null) => (id === null ? 'nobody' : (memberOf(board, id)?.name ?? 'someone'));
  switch (event.type) {
    case 'card.created': {
      const d = event.data as BoardEvents['card.created'];
      return `added “${d.title}” to ${column(d.columnId)}`;
    }
    case 'card.moved': {
      const d = event.data as BoardEvents['card.moved'];
      return d.from === d.to
        ? `reordered ${card(d.cardId)} in ${column(d.to)}`
        : `moved ${card(d.cardId)} from ${column(d.from)} to ${column(d.to)}`;
    }
    case 'card.edited': {
      const d = event.data as BoardEvents['card.edited'];
      return `edited “${d.title}”`;
    }
    case 'card.assigned': {
      const d = event.data as BoardEvents['card.assigned'];
      return d.assignee === null
        ? `unassigned ${card(d.cardId)}`
        : `assigned ${card(d.cardId)} to ${member(d.assignee)}`;
    }
    case 'card.blocked': {
      const d = event.data as BoardEvents['card.blocked'];
      return d.blocked
        ? `blocked ${card(d.cardId)}: ${d.reason || 'no reason given'}`
        : `unblocked ${card(d.cardId)}`;
    }
    case 'card.archived': {
      const d = event.data as BoardEvents['card.archived'];
      return d.requestId === null ? `archived ${card(d.cardId)}` : `archived ${card(d.cardId)} (saga step)`;
    }
    case 'card.restored': {
      const d = event.data as BoardEvents['card.restored'];
      return d.requestId === null
        ? `restored ${card(d.cardId)}`
        : `restored ${card(d.cardId)} (compensation)`;
    }
    case 'column.added': {
      const d = event.data as BoardEvents['column.added'];
      return `added the column ${d.title}`;
    }
    case 'column.renamed': {
      const d = event.data as BoardEvents['column.renamed'];
      return `renamed a column to ${d.title}`;
    }
    case 'column.wip-limit-set': {
      const d = event.data as BoardEvents['column.wip-limit-set'];
      return d.limit === null
        ? `lifted the WIP limit of ${column(d.columnId)}`
        : `set the WIP limit of ${column(d.columnId)} to ${d.limit}`;
    }
    case 'column.archive-requested': {
      const d = event.data as BoardEvents['column.archive-requested'];
      return `asked to archive ${column(d.columnId)} (${d.cards.length} card${d.cards.length === 1 ? '' : 's'})`;
    }
    case 'column.archived': {
      const d = event.data as BoardEvents['column.archived'];
      return `archived the column ${column(d.columnId)}`;
    }
    case 'column.archive-failed': {
      const d = event.data as BoardEvents['column.archive-failed'];
      return `gave up archiving ${column(d.columnId)}: ${d.reason}`;
    }
    case 'member.joined': {
      const d = event.data as BoardEvents['member.joined'];
      return event.clientId === undefined || event.clientId === d.memberId
        ? `joined the board as ${d.name}`
        : 'opened the board in another browser';
    }
    default:
      return event.type;
  }
}
