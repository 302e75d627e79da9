/**
 * A handler with checkpoints over 100k confirmed events, through the whole runtime (a feed of
 * 1000-event pages, as a hub pull or a catch-up gives them; the memory reaction store; the default
 * checkpoint every 100 events with its dedupe window), against the bare fold of the same events in
 * the same run. Both sides do the same work per event (the handler folds each event into the same
 * kanban board summary, with the same reducers), so the ratio is what the reaction runtime adds
 * on top of that work: paging, dedupe, checkpoints.
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
import { makeKanbanEvents, type BoardEvents, type Column } from './kanban-events.ts';

const EVENTS = 100_000;
const PAGE = 1_000;

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

/** The log in pages, as a hub's pull gives them; ends after the last one. */
function pagedFeed(events: readonly ConfirmedEvent[]): EventFeed {
  return {
    async *read(after) {
      for (let from = after; from < events.length; from += PAGE) yield events.slice(from, from + PAGE);
    },
  };
}

const scheduler: Scheduler = { now: () => Date.now(), schedule: () => () => undefined };

it('runs a handler with checkpoints at least half as fast as the bare fold doing the same work', async () => {
  // Adds, moves and renames only: every event reaches the handler.
  const events = makeKanbanEvents(EVENTS, { added: 0.4, moved: 0.85, renamed: 1 });
  const feed = pagedFeed(events);
  let handled = 0;
  let folded = summary.initial;
  const folding = defineHandler<BoardEvents>({
    name: 'folding',
    on: ['card.added', 'card.moved', 'card.renamed'],
    handle: (event) => {
      handled++;
      folded = fold(summary, [event], folded);
    },
  });
  const react = async () => {
    folded = summary.initial;
    const store = createMemoryReactionStore();
    const runner = createReactionRunner({ store, feed, scheduler, handlers: [folding] });
    await runner.start();
    await runner.settled(EVENTS);
    await runner.stop();
    const checkpoint = await store.transaction((tx) => tx.getCheckpoint('folding'));
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
  expect(folded).toEqual(sink);

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
