import { fold } from '@eventloom/core';
import { describe, expect, it } from 'vitest';
import { boardProjection } from './domain/index.ts';
import { toEvent } from './domain/fixtures.ts';
import { explainConflict } from './explain-conflict.ts';

const card = (cardId: string, title: string, columnId: string) => ({
  type: 'card.created',
  data: { cardId, columnId, title, description: '', rank: 1, createdBy: null },
});
const moved = (cardId: string, from: string, to: string) => ({
  type: 'card.moved',
  data: { cardId, from, to, rank: 5 },
});

// Ada's device and Bob's; Bob's move of "Docs" was decided on version 4.
const history = [
  toEvent(
    'team',
    { type: 'member.joined', data: { memberId: 'ada', name: 'Ada', color: '#336699' } },
    1,
    'ada',
  ),
  toEvent(
    'team',
    { type: 'member.joined', data: { memberId: 'bob', name: 'Bob', color: '#993366' } },
    2,
    'bob',
  ),
  toEvent('team', card('a', 'Fix login', 'todo'), 3, 'ada'),
  toEvent('team', card('b', 'Docs', 'todo'), 4, 'bob'),
  toEvent('team', moved('a', 'todo', 'doing'), 5, 'ada'),
  toEvent(
    'team',
    { type: 'member.joined', data: { memberId: 'ada', name: 'Ada', color: '#336699' } },
    6,
    'ada',
  ),
];
const board = fold(boardProjection, history);
const bobsMove = moved('b', 'todo', 'doing');

describe('the story of a conflict this device lost', () => {
  it('names who changed the board first, what they did, and that my change was undone', () => {
    const story = explainConflict({
      rejected: bobsMove,
      expectedVersion: 4,
      confirmed: history,
      outcome: { kind: 'undone', reason: '“Docs” cannot enter Doing: it is at its WIP limit of 1' },
      board,
      me: 'bob',
    });
    expect(story).toEqual({
      title: 'Your move was undone',
      yours: 'You moved “Docs” from To do to Doing.',
      // Only the changes after the version Bob decided on, not Bob's own, not a name said again.
      theirs: ['Ada moved “Fix login” from To do to Doing.'],
      outcome: 'It no longer fits the board: “Docs” cannot enter Doing: it is at its WIP limit of 1',
      winners: ['Ada'],
      undone: true,
    });
  });

  it('says a change decided again still holds, after whose', () => {
    const story = explainConflict({
      rejected: bobsMove,
      expectedVersion: 4,
      confirmed: history,
      outcome: { kind: 'reapplied' },
      board,
      me: 'bob',
    });
    expect(story.title).toBe('Your move was applied after Ada’s');
    expect(story.undone).toBe(false);
  });

  it('counts what it does not spell out, and says "someone" for a device it does not know', () => {
    const more = [3, 4, 5, 6].map((v) =>
      toEvent('team', moved('a', 'doing', v % 2 ? 'todo' : 'doing'), v + 4, 'stranger'),
    );
    const story = explainConflict({
      rejected: bobsMove,
      expectedVersion: 6,
      confirmed: [...history, ...more],
      outcome: { kind: 'undone', reason: 'Doing is full' },
      board,
      me: 'bob',
    });
    expect(story.theirs).toHaveLength(4);
    expect(story.theirs[0]).toMatch(/^Someone moved “Fix login”/);
    expect(story.theirs[3]).toBe('… and 1 more change.');
    expect(story.winners).toEqual(['Someone']);
  });

  it('counts a second browser of mine as me, not as someone who came first', () => {
    // Bob's phone says it is Bob.
    const phone = toEvent(
      'team',
      { type: 'member.joined', data: { memberId: 'bob', name: 'Bob', color: '#993366' } },
      7,
      'bobs-phone',
    );
    const fromPhone = toEvent('team', moved('a', 'doing', 'done'), 8, 'bobs-phone');
    const all = [...history, phone, fromPhone];
    const story = explainConflict({
      rejected: bobsMove,
      expectedVersion: 6,
      confirmed: all,
      outcome: { kind: 'nothing-left' },
      board: fold(boardProjection, all),
      me: 'bob',
    });
    expect(story.theirs).toEqual(['Someone else changed the board first.']);
    expect(story.title).toBe('Your move was already done by someone else');
  });
});
