/**
 * A no-op handler with checkpoints over 100k confirmed events, through the whole runtime (a feed
 * of 1000-event pages, as a hub pull or a catch-up gives them; the memory reaction store; the
 * default checkpoint every 100 events with its dedupe window), against the bare fold of the same
 * events into a kanban board summary in the same run: what reacting to events costs next to
 * projecting them.
 */
import { expect, it } from 'vitest';
import { reportBench } from '../../../bench/node.ts';
import { bestOf } from '../../../bench/report.ts';
import { defineProjection, fold } from '../src/projection.ts';
import type { ConfirmedEvent } from '../src/reactions/confirmed-event.ts';
import { defineHandler } from '../src/reactions/define-handler.ts';
import type { EventFeed } from '../src/reactions/event-feed.ts';
import { createMemoryReactionStore } from '../src/reactions/memory-reaction-store.ts';
import { createReactionRunner } from '../src/reactions/reaction-runner.ts';
import type { Scheduler } from '../src/reactions/scheduler.ts';

const EVENTS = 100_000;
const PAGE = 1_000;
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
}

const summary = defineProjection<Summary, BoardEvents>({
  name: 'board-summary',
  version: 1,
  initial: { cards: 0, moves: 0, renames: 0, byColumn: { todo: 0, doing: 0, done: 0 } },
  on: {
    'card.added': (s, e) => ({
      ...s,
      cards: s.cards + 1,
      byColumn: { ...s.byColumn, [e.data.column]: s.byColumn[e.data.column] + 1 },
    }),
    'card.moved': (s, e) => ({
      ...s,
      moves: s.moves + 1,
      byColumn: {
        ...s.byColumn,
        [e.data.from]: s.byColumn[e.data.from] - 1,
        [e.data.to]: s.byColumn[e.data.to] + 1,
      },
    }),
    'card.renamed': (s) => ({ ...s, renames: s.renames + 1 }),
  },
});

function makeEvents(): ConfirmedEvent[] {
  const events: ConfirmedEvent[] = [];
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
    if (where.length === 0 || r < 0.4) {
      const column = COLUMNS[Math.floor(random() * 3)]!;
      where.push(column);
      type = 'card.added';
      data = { id: `card-${where.length}`, title: `Card ${where.length}`, column };
    } else if (r < 0.85) {
      const from = where[card]!;
      const to = COLUMNS[(COLUMNS.indexOf(from) + 1 + Math.floor(random() * 2)) % 3]!;
      where[card] = to;
      type = 'card.moved';
      data = { id: `card-${card + 1}`, from, to };
    } else {
      type = 'card.renamed';
      data = { id: `card-${card + 1}`, title: `Card ${card + 1} (${i})` };
    }
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
      hlc: `${String(1_732_700_000_000 + i).padStart(15, '0')}-0000000000-client-a`,
      position: i,
      streamVersion: i,
      recordedAt: '2026-11-27T10:00:00.000Z',
    });
  }
  return events;
}

/** The log in pages, as a hub's pull gives them; ends after the last one. */
function pagedFeed(events: readonly ConfirmedEvent[]): EventFeed {
  return {
    async *read(after) {
      for (let from = after; from < events.length; from += PAGE) yield events.slice(from, from + PAGE);
    },
  };
}

const scheduler: Scheduler = { now: () => Date.now(), schedule: () => () => undefined };

it('runs a no-op handler with checkpoints at least half as fast as the bare fold', async () => {
  const events = makeEvents();
  const feed = pagedFeed(events);
  let handled = 0;
  const noop = defineHandler<BoardEvents>({
    name: 'noop',
    on: ['card.added', 'card.moved', 'card.renamed'],
    handle: () => {
      handled++;
    },
  });
  const react = async () => {
    const store = createMemoryReactionStore();
    const runner = createReactionRunner({ store, feed, scheduler, handlers: [noop] });
    await runner.start();
    await runner.settled(EVENTS);
    await runner.stop();
    const checkpoint = await store.transaction((tx) => tx.getCheckpoint('noop'));
    if (checkpoint?.position !== EVENTS) throw new Error(`checkpoint at ${checkpoint?.position}`);
  };
  let sink = summary.initial;
  const bare = () => {
    sink = fold(summary, events);
  };

  for (let i = 0; i < 5; i++) {
    await react();
    bare();
  }
  handled = 0;
  await react();
  expect(handled).toBe(EVENTS);
  expect(sink.cards).toBeGreaterThan(30_000);

  const { subjectMs, baselineMs } = await bestOf(25, react, bare);
  const result = await reportBench({
    name: 'handler-throughput',
    value: EVENTS / (subjectMs / 1000),
    unit: 'events/s',
    baseline: EVENTS / (baselineMs / 1000),
    target: 0.5,
    better: 'higher',
  });
  expect(result.pass).toBe(true);
});
