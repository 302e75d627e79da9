import { fold, runDecider, type EventDraftOf } from '@eventloom/core';
import { describe, expect, it } from 'vitest';
import { boardDecider, type BoardCommand } from './board-decider.ts';
import { boardProjection, cardsIn, type BoardState } from './board-projection.ts';
import type { BoardEvents } from './events.ts';
import { confirmedHistory } from './fixtures.ts';

type Draft = EventDraftOf<BoardEvents>;
const card = (cardId: string, columnId: string, rank = 1): Draft => ({
  type: 'card.created',
  data: { cardId, columnId, title: `Card ${cardId}`, description: '', rank, createdBy: null },
});
const boardOf = (drafts: readonly Draft[]): BoardState =>
  fold(boardProjection, confirmedHistory('team', drafts));
const decide = (drafts: readonly Draft[], command: BoardCommand) =>
  runDecider(boardDecider, command, confirmedHistory('team', drafts));
const move = (cardId: string, to: string, rank = 9): BoardCommand => ({
  type: 'move-card',
  board: 'team',
  cardId,
  to,
  rank,
});

describe('the board decider', () => {
  it('decides on the board stream of the command', () => {
    expect(boardDecider.stream?.(move('a', 'doing'))).toBe('board:team');
  });

  it('lets a card into a column below its WIP limit', () => {
    const result = decide([card('a', 'todo'), card('b', 'doing')], move('a', 'doing'));
    expect(result.ok && result.events).toEqual([
      { type: 'card.moved', data: { cardId: 'a', from: 'todo', to: 'doing', rank: 9 } },
    ]);
  });

  it('refuses a card into a column at its WIP limit, saying which and why', () => {
    const full = [card('a', 'doing'), card('b', 'doing'), card('c', 'doing'), card('d', 'todo')];
    const result = decide(full, move('d', 'doing'));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.rejection).toMatchObject({
      code: 'wip-limit-reached',
      details: { columnId: 'doing', limit: 3, count: 3 },
    });
    expect(result.rejection.message).toContain('WIP limit of 3');
    // A new card is held to the same limit.
    const created = decide(full, {
      type: 'create-card',
      board: 'team',
      cardId: 'e',
      columnId: 'doing',
      title: 'E',
      description: '',
      createdBy: null,
    });
    expect(!created.ok && created.rejection.code).toBe('wip-limit-reached');
  });

  it('lets cards move within a full column, and counts archived cards out', () => {
    const full = [card('a', 'doing'), card('b', 'doing'), card('c', 'doing')];
    expect(decide(full, move('a', 'doing', 5)).ok).toBe(true);
    const oneArchived = [
      ...full,
      card('d', 'todo'),
      { type: 'card.archived', data: { cardId: 'a', requestId: null } } as Draft,
    ];
    expect(decide(oneArchived, move('d', 'doing')).ok).toBe(true);
  });

  it('lifts the limit when it is set to null', () => {
    const full = [card('a', 'doing'), card('b', 'doing'), card('c', 'doing'), card('d', 'todo')];
    const lifted = [
      ...full,
      { type: 'column.wip-limit-set', data: { columnId: 'doing', limit: null } } as Draft,
    ];
    expect(decide(lifted, move('d', 'doing')).ok).toBe(true);
  });

  it('puts a new card at the bottom of its column unless told where', () => {
    const result = decide([card('a', 'todo', 1), card('b', 'todo', 4)], {
      type: 'create-card',
      board: 'team',
      cardId: 'c',
      columnId: 'todo',
      title: 'C',
      description: '',
      createdBy: 'ann',
    });
    expect(result.ok && result.events[0]).toMatchObject({
      type: 'card.created',
      data: { rank: 5, createdBy: 'ann' },
    });
  });

  it('is idempotent: a command decided again after it happened decides nothing', () => {
    const history = [
      card('a', 'todo'),
      { type: 'card.moved', data: { cardId: 'a', from: 'todo', to: 'doing', rank: 9 } } as Draft,
    ];
    expect(decide(history, move('a', 'doing', 9))).toMatchObject({ ok: true, events: [] });
    expect(
      decide(history, {
        type: 'create-card',
        board: 'team',
        cardId: 'a',
        columnId: 'todo',
        title: 'A',
        description: '',
        createdBy: null,
      }),
    ).toMatchObject({ ok: true, events: [] });
    expect(
      decide(history, { type: 'archive-card', board: 'team', cardId: 'zzz', requestId: null }),
    ).toMatchObject({
      ok: true,
      events: [],
    });
  });

  it('refuses unknown cards and columns, and archived ones', () => {
    expect(decide([], move('nope', 'doing'))).toMatchObject({
      ok: false,
      rejection: { code: 'no-such-card' },
    });
    expect(decide([card('a', 'todo')], move('a', 'nowhere'))).toMatchObject({
      ok: false,
      rejection: { code: 'no-such-column' },
    });
    const archived = [
      card('a', 'todo'),
      { type: 'card.archived', data: { cardId: 'a', requestId: null } } as Draft,
    ];
    expect(decide(archived, move('a', 'done'))).toMatchObject({
      ok: false,
      rejection: { code: 'card-archived' },
    });
  });

  it('keeps cards out of a column while it is being archived', () => {
    const archiving = [
      card('a', 'done'),
      card('b', 'todo'),
      {
        type: 'column.archive-requested',
        data: { columnId: 'done', requestId: 'r1', cards: ['a'], by: null },
      } as Draft,
    ];
    expect(decide(archiving, move('b', 'done'))).toMatchObject({
      ok: false,
      rejection: { code: 'archive-in-progress' },
    });
    expect(
      decide(archiving, {
        type: 'request-archive',
        board: 'team',
        columnId: 'done',
        requestId: 'r2',
        by: null,
      }),
    ).toMatchObject({ ok: false, rejection: { code: 'archive-in-progress' } });
  });

  it('records the cards an archive request covers', () => {
    const result = decide([card('a', 'done', 2), card('b', 'done', 1), card('c', 'todo')], {
      type: 'request-archive',
      board: 'team',
      columnId: 'done',
      requestId: 'r1',
      by: 'ann',
    });
    expect(result.ok && result.events).toEqual([
      {
        type: 'column.archive-requested',
        data: { columnId: 'done', requestId: 'r1', cards: ['b', 'a'], by: 'ann' },
      },
    ]);
  });

  it('refuses to archive a blocked card', () => {
    const blocked = [
      card('a', 'done'),
      { type: 'card.blocked', data: { cardId: 'a', blocked: true, reason: 'legal' } } as Draft,
    ];
    expect(
      decide(blocked, { type: 'archive-card', board: 'team', cardId: 'a', requestId: null }),
    ).toMatchObject({
      ok: false,
      rejection: { code: 'card-blocked', message: '“Card a” is blocked: legal' },
    });
  });

  it('restores by hand only into a column with room', () => {
    const history: Draft[] = [
      card('a', 'doing'),
      { type: 'card.archived', data: { cardId: 'a', requestId: null } },
      card('b', 'doing'),
      card('c', 'doing'),
      card('d', 'doing'),
    ];
    expect(decide(history, { type: 'restore-card', board: 'team', cardId: 'a' })).toMatchObject({
      ok: false,
      rejection: { code: 'wip-limit-reached' },
    });
    expect(decide(history.slice(0, 3), { type: 'restore-card', board: 'team', cardId: 'a' })).toMatchObject({
      ok: true,
      events: [{ type: 'card.restored', data: { cardId: 'a', requestId: null } }],
    });
  });

  it('compensates what is left to compensate, even when decided again after a partial rejection', () => {
    const started: Draft[] = [
      card('a', 'done'),
      card('b', 'done'),
      {
        type: 'column.archive-requested',
        data: { columnId: 'done', requestId: 'r1', cards: ['a', 'b'], by: null },
      },
      { type: 'card.archived', data: { cardId: 'a', requestId: 'r1' } },
      { type: 'card.archived', data: { cardId: 'b', requestId: 'r1' } },
    ];
    const abort: BoardCommand = {
      type: 'abort-archive',
      board: 'team',
      requestId: 'r1',
      reason: 'c is blocked',
    };
    const full = decide(started, abort);
    expect(full.ok && full.events.map((e) => e.type)).toEqual([
      'card.restored',
      'card.restored',
      'column.archive-failed',
    ]);
    // The hub took the failure but refused one restore: deciding again restores the rest only.
    const partial = decide(
      [
        ...started,
        { type: 'card.restored', data: { cardId: 'a', requestId: 'r1' } },
        full.ok ? full.events[2]! : card('x', 'todo'),
      ],
      abort,
    );
    expect(partial).toMatchObject({ ok: true, events: [{ type: 'card.restored', data: { cardId: 'b' } }] });
    // A completed archive is never undone by a late compensation.
    const done = [
      ...started,
      { type: 'column.archived', data: { columnId: 'done', requestId: 'r1', cards: ['a', 'b'] } } as Draft,
    ];
    expect(decide(done, abort)).toMatchObject({ ok: true, events: [] });
    expect(cardsIn(boardOf(done), 'done')).toEqual([]);
  });
});
