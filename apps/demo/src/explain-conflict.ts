import { describeEvent, type DescribableEvent } from './describe-event.ts';
import { memberOf, type BoardState } from './domain/index.ts';

/** A confirmed event of the board, as far as a conflict's story needs it. */
export interface WitnessEvent extends DescribableEvent {
  readonly clientId: string;
  readonly streamVersion?: number | undefined;
}

/** What became of this device's change that the hub refused (the sync engine's `action`). */
export type ConflictOutcome =
  | { readonly kind: 'undone'; readonly reason: string }
  | { readonly kind: 'reapplied' }
  | { readonly kind: 'nothing-left' };

/** A lost conflict in a team member's words: who changed the board first, and what became of mine. */
export interface ConflictStory {
  /** The headline: "Your change was undone", "Your change was applied after Ada's". */
  readonly title: string;
  /** What this device tried: "You moved “Plan” from To do to Doing." */
  readonly yours: string;
  /** Who changed the board first and how: "Ada moved “Fix login” from To do to Doing." */
  readonly theirs: readonly string[];
  /** What became of the change, and why. */
  readonly outcome: string;
  /** The names of the members whose changes came first (for the toast's accessible name). */
  readonly winners: readonly string[];
  /** Whether the change is gone from the board: the person has something to decide. */
  readonly undone: boolean;
}

/** How many of the other members' changes are spelled out; the rest are counted. */
const MAX_LINES = 3;

/**
 * Tells the story of a change of this device that the hub refused because the board had moved
 * (`wrong-expected-version`): `rejected` is the refused event, decided on version `expectedVersion`
 * of the board; `confirmed` are the board's confirmed events (those after that version and written
 * by other devices are the ones that came first); `me` is this device's client id. Member names
 * come from `board` (the board as it is now). Pure: the technical detail stays in the caller's
 * details view.
 *
 * @example explainConflict({ rejected, expectedVersion: 22, confirmed, outcome: { kind: 'undone', reason }, board, me })
 *   // { title: 'Your move was undone', theirs: ['Ada moved “Fix login” from To do to Doing.'], … }
 */
export function explainConflict(input: {
  readonly rejected: DescribableEvent;
  readonly expectedVersion: number | undefined;
  readonly confirmed: readonly WitnessEvent[];
  readonly outcome: ConflictOutcome;
  readonly board: BoardState;
  readonly me: string;
}): ConflictStory {
  const { board, me } = input;
  const mine = memberOf(board, me)?.id ?? me;
  const first = input.confirmed.filter(
    (e) =>
      e.streamVersion !== undefined &&
      e.streamVersion > (input.expectedVersion ?? -1) &&
      (memberOf(board, e.clientId)?.id ?? e.clientId) !== mine &&
      e.type !== 'member.joined',
  );
  const nameOf = (clientId: string) => memberOf(board, clientId)?.name ?? 'Someone';
  const winners = [...new Set(first.map((e) => nameOf(e.clientId)))];
  const theirs = first.slice(0, MAX_LINES).map((e) => `${nameOf(e.clientId)} ${describeEvent(e, board)}.`);
  if (first.length > MAX_LINES) {
    const more = first.length - MAX_LINES;
    theirs.push(`… and ${more} more change${more === 1 ? '' : 's'}.`);
  }
  if (theirs.length === 0) theirs.push('Someone else changed the board first.');
  const what = changeNoun(input.rejected.type);
  const by = winners.length === 0 ? 'someone else’s' : `${listOf(winners)}’s`;
  const yours = `You ${describeEvent(input.rejected, board)}.`;
  switch (input.outcome.kind) {
    case 'undone':
      return {
        title: `Your ${what} was undone`,
        yours,
        theirs,
        outcome: `It no longer fits the board: ${input.outcome.reason}`,
        winners,
        undone: true,
      };
    case 'reapplied':
      return {
        title: `Your ${what} was applied after ${by}`,
        yours,
        theirs,
        outcome: 'It was decided again on the new board and still holds.',
        winners,
        undone: false,
      };
    case 'nothing-left':
      return {
        title: `Your ${what} was already done by ${winners.length === 0 ? 'someone else' : listOf(winners)}`,
        yours,
        theirs,
        outcome: 'Decided again on the new board: nothing was left to do.',
        winners,
        undone: false,
      };
  }
}

/** "move", "new card", "change": what a person calls the change an event makes. */
function changeNoun(type: string): string {
  switch (type) {
    case 'card.moved':
      return 'move';
    case 'card.created':
      return 'new card';
    case 'card.restored':
      return 'restore';
    case 'card.archived':
      return 'archive';
    default:
      return 'change';
  }
}

/** "Ada", "Ada and Linus", "Ada, Linus and Grace". */
function listOf(names: readonly string[]): string {
  if (names.length <= 1) return names[0] ?? '';
  return `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`;
}
