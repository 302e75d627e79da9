export {
  ColumnAdded,
  ColumnRenamed,
  WipLimitSet,
  ColumnArchiveRequested,
  ColumnArchived,
  ColumnArchiveFailed,
  CardCreated,
  CardMoved,
  CardEdited,
  CardAssigned,
  CardBlocked,
  CardArchived,
  CardRestored,
  MemberJoined,
  boardEventDefinitions,
  type BoardEvents,
} from './events.ts';
export { registry } from './registry.ts';
export {
  boardProjection,
  boardStream,
  liveColumns,
  cardsIn,
  archivedCards,
  overLimit,
  memberOf,
  memberIdOf,
  EMPTY_BOARD,
  type BoardState,
  type Card,
  type Column,
  type Member,
  type ArchiveRun,
} from './board-projection.ts';
export { boardDecider, BoardRejection, type BoardCommand } from './board-decider.ts';
export { archiveColumnSaga } from './archive-column-saga.ts';
export { byRank, rankAt, type Ranked } from './rank.ts';
