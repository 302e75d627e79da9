/**
 * A no-op handler over 100k events through the whole runtime (a feed of 1000-event pages, the
 * default checkpoint every 100 events with its dedupe window), on the Postgres reaction store as a
 * cluster runs it (fenced by the lease epoch: each transaction checks it first), against the same
 * handler on the SQLite reaction store in the same run. The ratio is the cost of a checkpoint
 * transaction over the network to a server (and its fence check) next to one on a local file.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createReactionRunner,
  defineHandler,
  type ConfirmedEvent,
  type EventFeed,
  type ReactionStore,
} from '@eventloom/core';
import { expect, it } from 'vitest';
import { reportBench } from '../../../bench/node.ts';
import { createPostgresReactionStore } from '../src/reactions/postgres-reaction-store.ts';
import { createSqliteReactionStore } from '../src/reactions/sqlite-reaction-store.ts';
import { createTestDatabase, postgresUnavailable } from '../src/store/postgres-test-database.ts';

const EVENTS = 100_000;
const PAGE = 1_000;
const why = await postgresUnavailable();

it.skipIf(why !== undefined)(
  'runs a no-op handler on the Postgres reaction store (ratio to SQLite reported)',
  async () => {
    const all: ConfirmedEvent[] = Array.from({ length: EVENTS }, (_, i) => ({
      id: `0190a1b2-c3d4-7e5f-8a6b-${String(i).padStart(12, '0')}`,
      type: 'card.moved',
      version: 1,
      kind: 'domain',
      stream: `board:${i % 50}`,
      data: { id: `c${i}`, to: 'done' },
      meta: {},
      clientId: 'c1',
      clientSeq: i + 1,
      hlc: '001732700000007-0000000000-c1',
      position: i + 1,
    }));
    const feed: EventFeed = {
      async *read(after) {
        for (let from = after; from < all.length; from += PAGE) yield all.slice(from, from + PAGE);
      },
    };
    let handled = 0;
    const noop = defineHandler({ name: 'noop', on: () => true, handle: () => void handled++ });
    const runOn = async (store: ReactionStore) => {
      const runner = createReactionRunner({
        store,
        feed,
        scheduler: { now: Date.now, schedule: () => () => undefined },
        handlers: [noop],
      });
      const t = performance.now();
      await runner.start();
      await runner.settled(EVENTS);
      const ms = performance.now() - t;
      await runner.stop();
      return ms;
    };
    const db = await createTestDatabase('eventloom_bench_reactions');
    const dir = mkdtempSync(join(tmpdir(), 'eventloom-bench-reactions-'));
    try {
      let pgMs = Infinity;
      let sqliteMs = Infinity;
      for (let round = 0; round < 3; round++) {
        const sqlite = createSqliteReactionStore({ path: join(dir, `r${round}.db`) });
        sqliteMs = Math.min(sqliteMs, await runOn(sqlite));
        await sqlite.close();
        const pg = await createPostgresReactionStore({ url: db.url, schema: `bench_${round}` });
        const epoch = await pg.takeLease('reactions', 'bench');
        pgMs = Math.min(pgMs, await runOn(pg.fenced('reactions', epoch)));
        await pg.close();
      }
      expect(handled).toBe(EVENTS * 6);
      const result = await reportBench({
        name: 'cluster-handler-throughput',
        value: EVENTS / (pgMs / 1000),
        unit: 'events/s',
        baseline: EVENTS / (sqliteMs / 1000),
        target: 0.25,
        better: 'higher',
      });
      expect(result.pass).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await db.drop();
    }
  },
);
