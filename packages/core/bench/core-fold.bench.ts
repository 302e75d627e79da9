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

const EVENTS = 100_000;
const COLUMNS = ['todo', 'doing', 'done'] as const;
type Column = (typeof COLUMNS)[number];

interface BoardEvents {
  'card.added': { id: string; title: string; column: Column };
  'card.moved': { id: string; from: Column; to: Column };
  'card.renamed': { id: string; title: string };
}

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

/** Realistic envelopes: mostly adds and moves, some renames, and 5 % of a type the projection ignores. */
function makeEvents(): FoldableEvent[] {
  const events: FoldableEvent[] = [];
  const where: Column[] = [];
  let seed = 42;
  const random = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
    return seed / 2_147_483_648;
  };
  for (let i = 1; i <= EVENTS; i++) {
    const r = random();
    const card = Math.floor(random() * where.length);
    let type: string;
    let data: unknown;
    if (where.length === 0 || r < 0.35) {
      const column = COLUMNS[Math.floor(random() * 3)]!;
      where.push(column);
      type = 'card.added';
      data = { id: `card-${where.length}`, title: `Card ${where.length}`, column };
    } else if (r < 0.8) {
      const from = where[card]!;
      const to = COLUMNS[(COLUMNS.indexOf(from) + 1 + Math.floor(random() * 2)) % 3]!;
      where[card] = to;
      type = 'card.moved';
      data = { id: `card-${card + 1}`, from, to };
    } else if (r < 0.95) {
      type = 'card.renamed';
      data = { id: `card-${card + 1}`, title: `Card ${card + 1} (${i})` };
    } else {
      type = 'board.viewed';
      data = { by: 'ann' };
    }
    const hlc = `${String(1_732_700_000_000 + i).padStart(15, '0')}-0000000000-client-a`;
    events.push({
      id: `0190a1b2-c3d4-7e5f-8a6b-${i.toString(16).padStart(12, '0')}`,
      type,
      version: 1,
      kind: 'domain',
      stream: 'board:1',
      data,
      meta: {},
      clientId: 'client-a',
      clientSeq: i,
      hlc,
      position: i,
      streamVersion: i,
      recordedAt: '2026-11-27T10:00:00.000Z',
    });
  }
  return events;
}

it('folds 100k events at least half as fast as a hand-written loop', async () => {
  const events = makeEvents();
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
