/**
 * hub-ingest-postgres: 5 clients push 100k events over Socket.IO to one hub node on the Postgres
 * store, in batches of 1000, acked after the commit. Clients in a child process at nice 19, as in
 * hub-ingest. Baseline: raw batched inserts of the same rows into the same table (the store's
 * migrations) with the same driver, one transaction per 1000 rows. Same run, alternating, best of
 * each; ratio in events/s, target ≥ 0.5×. Needs the Postgres of EVENTLOOM_TEST_POSTGRES_URL.
 */
import type { EventEnvelope } from '@eventloom/protocol';
import { afterAll, expect, it } from 'vitest';
import { reportBench } from '../../../bench/node.ts';
import { timeIt } from '../../../bench/report.ts';
import { ingestOutbox } from './hub-ingest-events.ts';
import { createTestDatabase, rawInsert, startIngestClients, startNodes } from './postgres-bench-kit.ts';

const CLIENTS = 5;
const EVENTS = 100_000;
const BATCH = 1000;
const ROUNDS = 2;

const db = await createTestDatabase('eventloom_bench');
afterAll(() => db.drop(), 60_000);

it('hub-ingest-postgres', { timeout: 600_000 }, async () => {
  const perClient = EVENTS / CLIENTS;
  const outboxes = Array.from({ length: CLIENTS }, (_, c) => ingestOutbox(c, perClient));
  const rawBatches: EventEnvelope[][] = [];
  for (let b = 0; b < perClient / BATCH; b++) {
    for (const outbox of outboxes) rawBatches.push(outbox.slice(b * BATCH, (b + 1) * BATCH));
  }
  let hubMs = Infinity;
  let rawMs = Infinity;
  for (let round = 0; round < ROUNDS; round++) {
    rawMs = Math.min(rawMs, await rawInsert(db.url, `raw_${round}`, rawBatches));
    const nodes = await startNodes(db.url, `hub_${round}`, 1);
    const clients = await startIngestClients([nodes.hubs[0]!.url], CLIENTS, perClient, BATCH);
    let acked = 0;
    hubMs = Math.min(hubMs, await timeIt(async () => void (acked = await clients.run())));
    expect(acked).toBe(EVENTS);
    expect(await nodes.stores[0]!.head()).toBe(EVENTS);
    await nodes.close();
  }
  await reportBench({
    name: 'hub-ingest-postgres',
    value: EVENTS / (hubMs / 1000),
    unit: 'events/s',
    baseline: EVENTS / (rawMs / 1000),
    target: 0.5,
    better: 'higher',
  });
});
