/**
 * `fold` of a kanban board summary over 100k events, against a hand-written loop that computes the
 * same state with the same immutable updates inline (a `switch` on the type): what the projection
 * abstraction (handler lookup by type, one indirect call per event) costs.
 */
import { expect, it } from 'vitest';
import { reportBench } from '../../../bench/node.ts';
import { bestOf } from '../../../bench/report.ts';
import { defineProjection, fold } from '../src/projection.ts';
import type { FoldableEvent } from '../src/foldable-event.ts';
import { makeKanbanEvents, type BoardEvents, type Column } from './kanban-events.ts';

const EVENTS = 100_000;

interface Summary {
  readonly cards: number;
  readonly moves: number;
  readonly renames: number;
  readonly byColumn: Readonly<Record<Column, number>>;
  readonly lastHlc: string;
}

const initial: Summary = {
  cards: 0,
  moves: 0,
  renames: 0,
  byColumn: { todo: 0, doing: 0, done: 0 },
  lastHlc: '',
};

const summary = defineProjection<Summary, BoardEvents>({
  name: 'board-summary',
  version: 1,
  initial,
  on: {
    'card.added': (s, e) => ({
      ...s,
      cards: s.cards + 1,
      byColumn: { ...s.byColumn, [e.data.column]: s.byColumn[e.data.column] + 1 },
      lastHlc: e.hlc,
    }),
    'card.moved': (s, e) => ({
      ...s,
      moves: s.moves + 1,
      byColumn: {
        ...s.byColumn,
        [e.data.from]: s.byColumn[e.data.from] - 1,
        [e.data.to]: s.byColumn[e.data.to] + 1,
      },
      lastHlc: e.hlc,
    }),
    'card.renamed': (s, e) => ({ ...s, renames: s.renames + 1, lastHlc: e.hlc }),
  },
});

function handWritten(events: readonly FoldableEvent[]): Summary {
  let s = initial;
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    switch (e.type) {
      case 'card.added': {
        const data = e.data as BoardEvents['card.added'];
        s = {
          ...s,
          cards: s.cards + 1,
          byColumn: { ...s.byColumn, [data.column]: s.byColumn[data.column] + 1 },
          lastHlc: e.hlc,
        };
        break;
      }
      case 'card.moved': {
        const data = e.data as BoardEvents['card.moved'];
        s = {
          ...s,
          moves: s.moves + 1,
          byColumn: {
            ...s.byColumn,
            [data.from]: s.byColumn[data.from] - 1,
            [data.to]: s.byColumn[data.to] + 1,
          },
          lastHlc: e.hlc,
        };
        break;
      }
      case 'card.renamed':
        s = { ...s, renames: s.renames + 1, lastHlc: e.hlc };
        break;
    }
  }
  return s;
}

it('folds 100k events at least half as fast as a hand-written loop', async () => {
  // Realistic envelopes: mostly adds and moves, some renames, and 5 % of a type the projection ignores.
  const events = makeKanbanEvents(EVENTS, { added: 0.35, moved: 0.8, renamed: 0.95 });
  const expected = handWritten(events);
  expect(fold(summary, events)).toEqual(expected);
  expect(expected.cards).toBeGreaterThan(30_000);

  let sink: Summary = initial;
  // Warm both paths up before measuring, so that both run optimised code.
  for (let i = 0; i < 5; i++) {
    sink = fold(summary, events);
    sink = handWritten(events);
  }
  const { subjectMs, baselineMs } = await bestOf(
    25,
    () => {
      sink = fold(summary, events);
    },
    () => {
      sink = handWritten(events);
    },
  );
  expect(sink).toEqual(expected);

  const result = await reportBench({
    name: 'core-fold',
    value: EVENTS / (subjectMs / 1000),
    unit: 'events/s',
    baseline: EVENTS / (baselineMs / 1000),
    target: 0.5,
    better: 'higher',
  });
  expect(result.pass).toBe(true);
});
