import { defineProjection } from '@eventloom/core';
import type { BoardEvents } from './events.ts';
import { byRank } from './rank.ts';

/** A column of the board. */
export interface Column {
  readonly id: string;
  readonly title: string;
  readonly rank: number;
  /** At most this many live cards; `null`: no limit. */
  readonly wipLimit: number | null;
  readonly archived: boolean;
  /** The archive-column saga running on it, if any: no card may enter meanwhile. */
  readonly archiving: string | null;
}

/** A card of the board. */
export interface Card {
  readonly id: string;
  readonly columnId: string;
  readonly title: string;
  readonly description: string;
  readonly rank: number;
  readonly assignee: string | null;
  /** Why the card is blocked; `null` when it is not. A blocked card cannot be archived. */
  readonly blocked: string | null;
  readonly archived: boolean;
  /** The archive run that archived it (`null`: by hand, or not archived). */
  readonly archivedBy: string | null;
  readonly createdBy: string | null;
}

/** A person cards can be assigned to. */
export interface Member {
  readonly id: string;
  readonly name: string;
  readonly color: string;
}

/** One run of the archive-column saga, as its events tell it: the saga's state is this fold. */
export interface ArchiveRun {
  readonly requestId: string;
  readonly columnId: string;
  readonly by: string | null;
  /** The device that requested it: the one that runs the saga. */
  readonly clientId: string;
  /** The live cards of the column when the archive was decided. */
  readonly cards: readonly string[];
  /** The cards this run archived and has not restored: what a compensation restores. */
  readonly archived: readonly string[];
  readonly status: 'running' | 'archived' | 'failed';
  /** Why it failed. */
  readonly reason: string | null;
  readonly restored: readonly string[];
  /** The id of the run's latest event: what its next step is caused by. */
  readonly lastEventId: string;
}

/**
 * The board read model. Plain objects only (it is snapshotted to IndexedDB), never mutated:
 * every reducer returns a new state. Concurrent edits resolve by fold order, which is the hub's
 * order for confirmed events, so every device that has seen the same events shows the same board.
 */
export interface BoardState {
  readonly columns: Readonly<Record<string, Column>>;
  readonly cards: Readonly<Record<string, Card>>;
  readonly members: Readonly<Record<string, Member>>;
  /**
   * Which member each device (client id) is, when it is not the member of its own id: a person
   * who opens the board in a second browser and says "I am Ada" appends Ada's `member.joined`
   * from there. Read members through {@link memberOf}, which follows it.
   */
  readonly devices: Readonly<Record<string, string>>;
  readonly archives: Readonly<Record<string, ArchiveRun>>;
  /**
   * Events about cards not created yet, by card id, applied in order once the card is. A device
   * that created a card offline and then edited it (a plain append, no `expectedVersion`) can see
   * its creation refused and decided again, so confirmed after the edit: the edit is not lost, it
   * lands on the card when it exists. (Guarded events decided on the refused creation, such as a
   * move, are refused with it and decided again after it: the sync engine's reminders.)
   */
  readonly early: Readonly<Record<string, readonly EarlyCardEvent[]>>;
}

/** A card event that came before its card's creation in the log. */
export interface EarlyCardEvent {
  readonly id: string;
  readonly type: CardEventType;
  readonly data: BoardEvents[CardEventType];
}

/** The events that change an existing card. */
type CardEventType =
  | 'card.moved'
  | 'card.edited'
  | 'card.assigned'
  | 'card.blocked'
  | 'card.archived'
  | 'card.restored';

const column = (id: string, title: string, rank: number, wipLimit: number | null = null): Column => ({
  id,
  title,
  rank,
  wipLimit,
  archived: false,
  archiving: null,
});

/**
 * A board before its first event: four columns with fixed ids, so that two devices that start
 * offline agree on them without creating them twice.
 */
export const EMPTY_BOARD: BoardState = {
  columns: {
    backlog: column('backlog', 'Backlog', 1),
    todo: column('todo', 'To do', 2),
    doing: column('doing', 'Doing', 3, 3),
    done: column('done', 'Done', 4),
  },
  cards: {},
  members: {},
  devices: {},
  archives: {},
  early: {},
};

/** The board stream of a board id: the consistency boundary every board event is appended to. */
export function boardStream(boardId: string): string {
  return `board:${boardId}`;
}

const updateCard = (state: BoardState, id: string, change: (card: Card) => Card): BoardState => {
  const card = state.cards[id];
  return card === undefined ? state : { ...state, cards: { ...state.cards, [id]: change(card) } };
};
const updateColumn = (state: BoardState, id: string, change: (column: Column) => Column): BoardState => {
  const current = state.columns[id];
  return current === undefined ? state : { ...state, columns: { ...state.columns, [id]: change(current) } };
};
const updateRun = (state: BoardState, id: string, change: (run: ArchiveRun) => ArchiveRun): BoardState => {
  const run = state.archives[id];
  return run === undefined ? state : { ...state, archives: { ...state.archives, [id]: change(run) } };
};

/** The board, one state per board stream (`projection$(boardProjection, 'board:team')`). */
export const boardProjection = defineProjection<BoardState, BoardEvents>({
  name: 'board',
  version: 2,
  initial: EMPTY_BOARD,
  key: (event) => event.stream,
  on: {
    'column.added': (state, { data }) =>
      state.columns[data.columnId] === undefined
        ? {
            ...state,
            columns: { ...state.columns, [data.columnId]: column(data.columnId, data.title, data.rank) },
          }
        : state,
    'column.renamed': (state, { data }) =>
      updateColumn(state, data.columnId, (c) => ({ ...c, title: data.title })),
    'column.wip-limit-set': (state, { data }) =>
      updateColumn(state, data.columnId, (c) => ({ ...c, wipLimit: data.limit })),
    'column.archive-requested': (state, { data, clientId, id }) => {
      const next = updateColumn(state, data.columnId, (c) => ({ ...c, archiving: data.requestId }));
      const run: ArchiveRun = {
        requestId: data.requestId,
        columnId: data.columnId,
        by: data.by,
        clientId,
        cards: data.cards,
        archived: [],
        status: 'running',
        reason: null,
        restored: [],
        lastEventId: id,
      };
      return { ...next, archives: { ...next.archives, [data.requestId]: run } };
    },
    'column.archived': (state, { data, id }) =>
      updateRun(
        updateColumn(state, data.columnId, (c) => ({ ...c, archived: true, archiving: null })),
        data.requestId,
        (run) => ({ ...run, status: 'archived', lastEventId: id }),
      ),
    'column.archive-failed': (state, { data, id }) =>
      updateRun(
        updateColumn(state, data.columnId, (c) =>
          c.archiving === data.requestId ? { ...c, archiving: null } : c,
        ),
        data.requestId,
        (run) => ({ ...run, status: 'failed', reason: data.reason, lastEventId: id }),
      ),
    'card.created': (state, { data }) => {
      if (state.cards[data.cardId] !== undefined) return state;
      const card: Card = {
        id: data.cardId,
        columnId: data.columnId,
        title: data.title,
        description: data.description,
        rank: data.rank,
        assignee: null,
        blocked: null,
        archived: false,
        archivedBy: null,
        createdBy: data.createdBy,
      };
      const { [data.cardId]: early = [], ...others } = state.early;
      let next: BoardState = { ...state, cards: { ...state.cards, [data.cardId]: card }, early: others };
      for (const event of early) next = applyToCard(next, event);
      return next;
    },
    'card.moved': (state, { id, type, data }) => applyToCard(state, { id, type, data }),
    'card.edited': (state, { id, type, data }) => applyToCard(state, { id, type, data }),
    'card.assigned': (state, { id, type, data }) => applyToCard(state, { id, type, data }),
    'card.blocked': (state, { id, type, data }) => applyToCard(state, { id, type, data }),
    'card.archived': (state, { id, type, data }) => applyToCard(state, { id, type, data }),
    'card.restored': (state, { id, type, data }) => applyToCard(state, { id, type, data }),
    'member.joined': (state, { data, clientId }) => {
      const member = { id: data.memberId, name: data.name, color: data.color };
      if (clientId === data.memberId) return { ...state, members: { ...state.members, [member.id]: member } };
      // A device that says it is another member: the member its own id had (joined before the
      // person said who they are) goes, and its cards and events are the chosen member's.
      const { [clientId]: _self, ...members } = state.members;
      return {
        ...state,
        members: { ...members, [member.id]: member },
        devices: { ...state.devices, [clientId]: member.id },
      };
    },
  },
});

/** Applies an event to its card, or keeps it for when the card is created. */
function applyToCard(state: BoardState, event: EarlyCardEvent): BoardState {
  const { cardId } = event.data;
  if (state.cards[cardId] === undefined) {
    return { ...state, early: { ...state.early, [cardId]: [...(state.early[cardId] ?? []), event] } };
  }
  switch (event.type) {
    case 'card.moved': {
      const data = event.data as BoardEvents['card.moved'];
      return updateCard(state, cardId, (c) => ({ ...c, columnId: data.to, rank: data.rank }));
    }
    case 'card.edited': {
      const data = event.data as BoardEvents['card.edited'];
      return updateCard(state, cardId, (c) => ({ ...c, title: data.title, description: data.description }));
    }
    case 'card.assigned': {
      const data = event.data as BoardEvents['card.assigned'];
      return updateCard(state, cardId, (c) => ({ ...c, assignee: data.assignee }));
    }
    case 'card.blocked': {
      const data = event.data as BoardEvents['card.blocked'];
      return updateCard(state, cardId, (c) => ({
        ...c,
        blocked: data.blocked ? data.reason || 'blocked' : null,
      }));
    }
    case 'card.archived': {
      const { requestId } = event.data as BoardEvents['card.archived'];
      const next = updateCard(state, cardId, (c) => ({ ...c, archived: true, archivedBy: requestId }));
      return requestId === null
        ? next
        : updateRun(next, requestId, (run) => ({
            ...run,
            archived: [...run.archived, cardId],
            lastEventId: event.id,
          }));
    }
    case 'card.restored': {
      const { requestId } = event.data as BoardEvents['card.restored'];
      const next = updateCard(state, cardId, (c) => ({ ...c, archived: false, archivedBy: null }));
      return requestId === null
        ? next
        : updateRun(next, requestId, (run) => ({
            ...run,
            archived: run.archived.filter((id) => id !== cardId),
            restored: [...run.restored, cardId],
            lastEventId: event.id,
          }));
    }
  }
}

/**
 * The member an id names: a member id, or the client id of a device (which may have said it is
 * another member, see `devices`); undefined if the board does not know it.
 */
export function memberOf(board: BoardState, id: string): Member | undefined {
  return board.members[memberIdOf(board, id)];
}

/** The member id a device (client id) acts as: its own, unless it said it is another member. */
export function memberIdOf(board: BoardState, clientId: string): string {
  return board.devices[clientId] ?? clientId;
}

/** The columns on the board (not archived), left to right. */
export function liveColumns(board: BoardState): Column[] {
  return Object.values(board.columns)
    .filter((c) => !c.archived)
    .sort(byRank);
}

/** The live (not archived) cards of a column, top to bottom. */
export function cardsIn(board: BoardState, columnId: string): Card[] {
  return Object.values(board.cards)
    .filter((c) => c.columnId === columnId && !c.archived)
    .sort(byRank);
}

/** The archived cards, by title. */
export function archivedCards(board: BoardState): Card[] {
  return Object.values(board.cards)
    .filter((c) => c.archived)
    .sort((a, b) => a.title.localeCompare(b.title));
}

/** Whether the column holds more live cards than its WIP limit allows (a limit lowered under it). */
export function overLimit(board: BoardState, columnId: string): boolean {
  const limit = board.columns[columnId]?.wipLimit ?? null;
  return limit !== null && cardsIn(board, columnId).length > limit;
}
