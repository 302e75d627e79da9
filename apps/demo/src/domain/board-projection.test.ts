import { fold, foldByKey } from '@eventloom/core';
import { describe, expect, it } from 'vitest';
import {
  boardProjection,
  cardsIn,
  EMPTY_BOARD,
  liveColumns,
  memberIdOf,
  memberOf,
  overLimit,
} from './board-projection.ts';
import { confirmedHistory, toEvent } from './fixtures.ts';

const card = (cardId: string, columnId: string, rank: number, title = cardId) => ({
  type: 'card.created' as const,
  data: { cardId, columnId, title, description: '', rank, createdBy: null },
});

describe('the board projection', () => {
  it('starts with the four default columns, Doing limited to 3', () => {
    expect(liveColumns(EMPTY_BOARD).map((c) => [c.id, c.wipLimit])).toEqual([
      ['backlog', null],
      ['todo', null],
      ['doing', 3],
      ['done', null],
    ]);
  });

  it('places cards by rank and follows moves, edits, assignments and blocks', () => {
    const board = fold(
      boardProjection,
      confirmedHistory('team', [
        card('a', 'todo', 2),
        card('b', 'todo', 1),
        card('c', 'todo', 1),
        { type: 'card.moved', data: { cardId: 'a', from: 'todo', to: 'doing', rank: 1 } },
        { type: 'card.edited', data: { cardId: 'b', title: 'Write the docs', description: 'all of them' } },
        { type: 'member.joined', data: { memberId: 'ann', name: 'Ann', color: '#336699' } },
        { type: 'card.assigned', data: { cardId: 'b', assignee: 'ann' } },
        { type: 'card.blocked', data: { cardId: 'c', blocked: true, reason: 'waiting for legal' } },
      ]),
    );
    // Same rank: the id breaks the tie, the same way on every device.
    expect(cardsIn(board, 'todo').map((c) => c.id)).toEqual(['b', 'c']);
    expect(cardsIn(board, 'doing').map((c) => c.id)).toEqual(['a']);
    expect(board.cards['b']).toMatchObject({
      title: 'Write the docs',
      description: 'all of them',
      assignee: 'ann',
    });
    expect(board.cards['c']?.blocked).toBe('waiting for legal');
    expect(board.members['ann']?.name).toBe('Ann');
  });

  it('reads a version 1 card (no description, rank or author) upcast', () => {
    const v1 = toEvent(
      'team',
      { type: 'card.created', version: 1, data: { cardId: 'old', columnId: 'todo', title: 'Old' } },
      1,
    );
    expect(v1.version).toBe(2);
    const board = fold(boardProjection, [v1]);
    expect(board.cards['old']).toMatchObject({ title: 'Old', description: '', rank: 0, createdBy: null });
  });

  it('keeps one board per stream', () => {
    const boards = foldByKey(boardProjection, [
      ...confirmedHistory('team', [card('a', 'todo', 1)]),
      ...confirmedHistory('ops', [card('b', 'todo', 1)], { from: 1 }),
    ]);
    expect([...boards.keys()].sort()).toEqual(['board:ops', 'board:team']);
    expect(Object.keys(boards.get('board:ops')?.cards ?? {})).toEqual(['b']);
  });

  it('tells an archive run from its events: requested, cards archived and restored, failed', () => {
    const board = fold(
      boardProjection,
      confirmedHistory('team', [
        card('a', 'done', 1),
        card('b', 'done', 2),
        {
          type: 'column.archive-requested',
          data: { columnId: 'done', requestId: 'r1', cards: ['a', 'b'], by: null },
        },
        { type: 'card.archived', data: { cardId: 'a', requestId: 'r1' } },
        { type: 'card.restored', data: { cardId: 'a', requestId: 'r1' } },
        {
          type: 'column.archive-failed',
          data: { columnId: 'done', requestId: 'r1', reason: 'b is blocked', restored: ['a'] },
        },
      ]),
    );
    expect(board.archives['r1']).toMatchObject({
      status: 'failed',
      reason: 'b is blocked',
      archived: [],
      restored: ['a'],
      clientId: 'device-a',
    });
    expect(board.columns['done']).toMatchObject({ archived: false, archiving: null });
    expect(cardsIn(board, 'done').map((c) => c.id)).toEqual(['a', 'b']);
  });

  it('flags a column over its limit when the limit is lowered under its cards', () => {
    const board = fold(
      boardProjection,
      confirmedHistory('team', [
        card('a', 'doing', 1),
        card('b', 'doing', 2),
        { type: 'column.wip-limit-set', data: { columnId: 'doing', limit: 1 } },
      ]),
    );
    expect(overLimit(board, 'doing')).toBe(true);
    expect(overLimit(board, 'todo')).toBe(false);
  });

  it('applies events that came before their card was created once it is (a creation decided again lands late)', () => {
    const board = fold(
      boardProjection,
      confirmedHistory('team', [
        { type: 'card.moved', data: { cardId: 'a', from: 'todo', to: 'done', rank: 5 } },
        { type: 'card.assigned', data: { cardId: 'a', assignee: 'ann' } },
        card('b', 'todo', 1),
        card('a', 'todo', 1, 'Write the changelog'),
        { type: 'card.edited', data: { cardId: 'a', title: 'Write the changelog!', description: '' } },
      ]),
    );
    expect(board.cards['a']).toMatchObject({
      columnId: 'done',
      rank: 5,
      assignee: 'ann',
      title: 'Write the changelog!',
    });
    expect(board.early).toEqual({});
    expect(cardsIn(board, 'todo').map((c) => c.id)).toEqual(['b']);
  });

  it('makes a device that says it is an existing member act as that member', () => {
    const joined = (memberId: string, name: string, position: number, clientId: string) =>
      toEvent(
        'team',
        { type: 'member.joined', data: { memberId, name, color: '#336699' } },
        position,
        clientId,
      );
    const board = fold(boardProjection, [
      joined('ada', 'Ada', 1, 'ada'),
      // A second browser joins as a new member first, then its person says "I am Ada".
      joined('phone', 'Grace', 2, 'phone'),
      toEvent('team', card('a', 'todo', 1), 3, 'phone'),
      toEvent('team', { type: 'card.assigned', data: { cardId: 'a', assignee: 'phone' } }, 4, 'phone'),
      joined('ada', 'Ada', 5, 'phone'),
    ]);
    expect(Object.values(board.members).map((m) => m.name)).toEqual(['Ada']);
    expect(memberIdOf(board, 'phone')).toBe('ada');
    expect(memberOf(board, 'phone')?.name).toBe('Ada');
    // What the browser did as its first member is Ada's, assignments included.
    expect(memberOf(board, board.cards['a']!.assignee!)?.name).toBe('Ada');
    expect(memberIdOf(board, 'ada')).toBe('ada');
  });

  it('never mutates the state it is given', () => {
    const frozen = structuredClone(EMPTY_BOARD);
    const before = JSON.stringify(frozen);
    fold(boardProjection, confirmedHistory('team', [card('a', 'todo', 1)]), frozen);
    expect(JSON.stringify(frozen)).toBe(before);
  });
});
