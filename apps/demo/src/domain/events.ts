import { defineEvent, type EventMapOf } from '@eventloom/core';
import { z } from 'zod';

/** Ids are generated on the device (UUIDs) or fixed for the default columns (`todo`). */
const id = z.string().min(1).max(64);
const title = z.string().trim().min(1).max(120);
const description = z.string().max(2000);
/** Where a card or column sits among its siblings: smaller first, ties broken by id. */
const rank = z.number().finite();

/** A column added to the board (the four default columns exist without an event). */
export const ColumnAdded = defineEvent('column.added', {
  1: z.object({ columnId: id, title, rank }),
});

export const ColumnRenamed = defineEvent('column.renamed', {
  1: z.object({ columnId: id, title }),
});

/** A column's work-in-progress limit: at most `limit` live cards; `null` lifts it. */
export const WipLimitSet = defineEvent('column.wip-limit-set', {
  1: z.object({ columnId: id, limit: z.int().min(1).max(99).nullable() }),
});

/**
 * Starts the archive-column saga: every card listed is to be archived, then the column. Decided
 * with `expectedVersion`, so the list is the column's content at the version it was decided on.
 */
export const ColumnArchiveRequested = defineEvent('column.archive-requested', {
  1: z.object({ columnId: id, requestId: id, cards: z.array(id).max(500), by: id.nullable() }),
});

/** The saga finished: the column and the cards it archived are gone from the board. */
export const ColumnArchived = defineEvent('column.archived', {
  1: z.object({ columnId: id, requestId: id, cards: z.array(id).max(500) }),
});

/** The saga gave up (a card could not be archived) after restoring the cards it had archived. */
export const ColumnArchiveFailed = defineEvent('column.archive-failed', {
  1: z.object({ columnId: id, requestId: id, reason: z.string().max(500), restored: z.array(id).max(500) }),
});

/**
 * A new card. Version 1 (the first release) had no description, rank or author; it reads back
 * upcast, so old devices' pending cards still sync after an upgrade.
 */
export const CardCreated = defineEvent(
  'card.created',
  {
    1: z.object({ cardId: id, columnId: id, title }),
    2: z.object({ cardId: id, columnId: id, title, description, rank, createdBy: id.nullable() }),
  },
  { upcast: { 1: (v1) => ({ ...v1, description: '', rank: 0, createdBy: null }) } },
);

export const CardMoved = defineEvent('card.moved', {
  1: z.object({ cardId: id, from: id, to: id, rank }),
});

export const CardEdited = defineEvent('card.edited', {
  1: z.object({ cardId: id, title, description }),
});

export const CardAssigned = defineEvent('card.assigned', {
  1: z.object({ cardId: id, assignee: id.nullable() }),
});

/** A card flagged blocked (or unblocked): a blocked card cannot be archived. */
export const CardBlocked = defineEvent('card.blocked', {
  1: z.object({ cardId: id, blocked: z.boolean(), reason: z.string().max(200) }),
});

/** A card archived, by hand (`requestId` null) or by the archive-column saga. */
export const CardArchived = defineEvent('card.archived', {
  1: z.object({ cardId: id, requestId: id.nullable() }),
});

/** The compensation of `card.archived`: the card is back where it was. */
export const CardRestored = defineEvent('card.restored', {
  1: z.object({ cardId: id, requestId: id.nullable() }),
});

/** A person on the board, so cards can be assigned to them. Appended again to rename. */
export const MemberJoined = defineEvent('member.joined', {
  1: z.object({
    memberId: id,
    name: z.string().trim().min(1).max(40),
    color: z.string().regex(/^#[0-9a-f]{6}$/),
  }),
});

/** Every event type of the board, in the order the registry lists them. */
export const boardEventDefinitions = [
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
] as const;

/** Event type → data (latest version): what projections and deciders are typed by. */
export type BoardEvents = EventMapOf<(typeof boardEventDefinitions)[number]>;
