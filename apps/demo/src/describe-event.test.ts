import { fold } from '@eventloom/core';
import { describe, expect, it } from 'vitest';
import { describeEvent } from './describe-event.ts';
import { boardProjection } from './domain/index.ts';
import { confirmedHistory } from './domain/fixtures.ts';

const board = fold(
  boardProjection,
  confirmedHistory('team', [
    { type: 'member.joined', data: { memberId: 'ann', name: 'Ann', color: '#336699' } },
    {
      type: 'card.created',
      data: { cardId: 'a', columnId: 'todo', title: 'Fix login', description: '', rank: 1, createdBy: 'ann' },
    },
  ]),
);

describe('the timeline in words', () => {
  it('names cards, columns and people as the board knows them now', () => {
    expect(
      describeEvent({ type: 'card.moved', data: { cardId: 'a', from: 'todo', to: 'doing', rank: 1 } }, board),
    ).toBe('moved “Fix login” from To do to Doing');
    expect(
      describeEvent({ type: 'card.moved', data: { cardId: 'a', from: 'todo', to: 'todo', rank: 2 } }, board),
    ).toBe('reordered “Fix login” in To do');
    expect(describeEvent({ type: 'card.assigned', data: { cardId: 'a', assignee: 'ann' } }, board)).toBe(
      'assigned “Fix login” to Ann',
    );
    expect(
      describeEvent({ type: 'column.wip-limit-set', data: { columnId: 'doing', limit: null } }, board),
    ).toBe('lifted the WIP limit of Doing');
  });

  it('tells a browser that says it is a member the board has already from a member joining', () => {
    const joined = { type: 'member.joined', data: { memberId: 'ann', name: 'Ann', color: '#336699' } };
    expect(describeEvent({ ...joined, clientId: 'ann' }, board)).toBe('joined the board as Ann');
    expect(describeEvent({ ...joined, clientId: 'anns-laptop' }, board)).toBe(
      'opened the board in another browser',
    );
  });

  it('still says something for what it does not know', () => {
    expect(describeEvent({ type: 'card.archived', data: { cardId: 'gone', requestId: 'r1' } }, board)).toBe(
      'archived “a card” (saga step)',
    );
    expect(describeEvent({ type: 'something.else', data: {} }, board)).toBe('something.else');
  });
});
