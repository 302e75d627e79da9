import { fold, runDecider, type EventDraftOf } from '@eventloom/core';
import { describe, expect, it } from 'vitest';
import { archiveColumnSaga } from './archive-column-saga.ts';
import { boardDecider } from './board-decider.ts';
import { boardProjection, cardsIn } from './board-projection.ts';
import type { BoardEvents } from './events.ts';
import { confirmedHistory, toEvent, type BoardEvent } from './fixtures.ts';

type Draft = EventDraftOf<BoardEvents>;
const card = (cardId: string, columnId: string, rank = 1): Draft => ({
  type: 'card.created',
  data: { cardId, columnId, title: `Card ${cardId}`, description: '', rank, createdBy: null },
});

/** Runs the saga to its end the way a runtime does: decide each step on the board, append, repeat. */
function runSaga(history: BoardEvent[], requestId: string): { log: BoardEvent[]; steps: string[] } {
  const log = [...history];
  const steps: string[] = [];
  for (let guard = 0; guard < 50; guard++) {
    const board = fold(boardProjection, log);
    const command = archiveColumnSaga.next(board, 'team', requestId);
    if (command === undefined) return { log, steps };
    steps.push(command.type);
    let result = runDecider(boardDecider, command, log);
    if (!result.ok) {
      const compensation = archiveColumnSaga.compensate('team', requestId, result.rejection);
      steps.push(compensation.type);
      result = runDecider(boardDecider, compensation, log);
      if (!result.ok) throw new Error('a compensation must not be refused');
    }
    for (const draft of result.events) log.push(toEvent('team', draft, log.length + 1));
  }
  throw new Error('the saga did not end');
}

const request = (cards: string[]): Draft => ({
  type: 'column.archive-requested',
  data: { columnId: 'done', requestId: 'r1', cards, by: null },
});

describe('the archive-column saga', () => {
  it('archives every card of the column, then the column', () => {
    const history = confirmedHistory('team', [
      card('a', 'done', 1),
      card('b', 'done', 2),
      card('c', 'todo'),
      request(['a', 'b']),
    ]);
    const { log, steps } = runSaga(history, 'r1');
    expect(steps).toEqual(['archive-card', 'archive-card', 'complete-archive']);
    const board = fold(boardProjection, log);
    expect(board.columns['done']).toMatchObject({ archived: true, archiving: null });
    expect(board.archives['r1']).toMatchObject({ status: 'archived', archived: ['a', 'b'] });
    expect(board.cards['c']?.archived).toBe(false);
  });

  it('restores every card it archived when a step is refused, exactly once, and marks the run failed', () => {
    const history = confirmedHistory('team', [
      card('a', 'done', 1),
      card('b', 'done', 2),
      card('c', 'done', 3),
      { type: 'card.blocked', data: { cardId: 'c', blocked: true, reason: 'waiting for legal' } },
      request(['a', 'b', 'c']),
    ]);
    const { log, steps } = runSaga(history, 'r1');
    expect(steps).toEqual(['archive-card', 'archive-card', 'archive-card', 'abort-archive']);
    const restored = log
      .filter((e) => e.type === 'card.restored')
      .map((e) => (e.data as { cardId: string }).cardId);
    expect(restored).toEqual(['a', 'b']);
    const board = fold(boardProjection, log);
    expect(board.archives['r1']).toMatchObject({
      status: 'failed',
      reason: '“Card c” is blocked: waiting for legal',
    });
    expect(cardsIn(board, 'done').map((c) => c.id)).toEqual(['a', 'b', 'c']);
    expect(board.columns['done']).toMatchObject({ archived: false, archiving: null });
  });

  it('resumes where its events left it, and skips a card that left the column', () => {
    const history = confirmedHistory('team', [
      card('a', 'done', 1),
      card('b', 'done', 2),
      request(['a', 'b']),
      { type: 'card.archived', data: { cardId: 'a', requestId: 'r1' } },
      { type: 'card.moved', data: { cardId: 'b', from: 'done', to: 'todo', rank: 1 } },
    ]);
    const { steps, log } = runSaga(history, 'r1');
    expect(steps).toEqual(['complete-archive']);
    expect(fold(boardProjection, log).archives['r1']).toMatchObject({ status: 'archived', archived: ['a'] });
  });

  it('lists the runs a device has to drive', () => {
    const board = fold(boardProjection, confirmedHistory('team', [request([])], { clientId: 'me' }));
    expect(archiveColumnSaga.running(board, 'me')).toEqual(['r1']);
    expect(archiveColumnSaga.running(board, 'someone-else')).toEqual([]);
  });
});
