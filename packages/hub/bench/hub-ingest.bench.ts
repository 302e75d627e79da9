/**
 * hub-ingest: 5 clients push 100k events over Socket.IO to a hub on the SQLite store, in batches
 * of 1000, each client waiting for its ack (sent after the durable commit) before its next batch.
 * The clients run in a child process at the lowest priority (nice 19): they are other devices, and
 * their encoding is not the hub's work; on this two-core machine they would otherwise take a third
 * of the CPU from the hub's two threads (measured: ≈ 15% of the hub's throughput).
 * Baseline: raw better-sqlite3 inserts of the same rows into the same schema (WAL,
 * `synchronous=FULL`), one transaction per 1000, rows prepared beforehand. Same run, alternating,
 * best of each; ratio in events/s, target ≥ 0.5×.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EventEnvelope } from '@eventloom/protocol';
import { pino } from 'pino';
import { afterAll, expect, it } from 'vitest';
import { reportBench } from '../../../bench/node.ts';
import { timeIt } from '../../../bench/report.ts';
import { createHub } from '../src/hub/create-hub.ts';
import { TEST_SECRET } from '../src/hub/test-kit.ts';
import { jwtAuthenticator } from '../src/hub/authenticator.ts';
import { createSqliteStore } from '../src/store/sqlite-store.ts';
import { startIngestClients } from './hub-ingest-clients-kit.ts';
import { ingestOutbox } from './hub-ingest-events.ts';
import { openRawSqliteLog, rawRowsOf } from './raw-sqlite.ts';

const CLIENTS = 5;
const EVENTS = 100_000;
const BATCH = 1000;
const ROUNDS = 3;

const dir = mkdtempSync(join(tmpdir(), 'eventloom-ingest-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('hub-ingest', async () => {
  const perClient = EVENTS / CLIENTS;
  const outboxes = Array.from({ length: CLIENTS }, (_, c) => ingestOutbox(c, perClient));
  // The raw baseline writes the rows in the order a hub could commit them: batches of clients in turn.
  const rawBatches: EventEnvelope[][] = [];
  for (let b = 0; b < perClient / BATCH; b++) {
    for (const outbox of outboxes) rawBatches.push(outbox.slice(b * BATCH, (b + 1) * BATCH));
  }
  const streams = new Map<string, number>();
  let from = 0;
  const rawRows = rawBatches.map((batch) => {
    const rows = rawRowsOf(batch, from, streams);
    from += batch.length;
    return rows;
  });

  let hubMs = Infinity;
  let rawMs = Infinity;
  for (let round = 0; round < ROUNDS; round++) {
    const raw = openRawSqliteLog(join(dir, `raw-${round}.db`));
    rawMs = Math.min(rawMs, await timeIt(() => rawRows.forEach((rows) => raw.insertBatch(rows))));
    raw.close();

    const store = await createSqliteStore({ path: join(dir, `hub-${round}.db`) });
    const hub = await createHub({
      store,
      auth: jwtAuthenticator({ secret: TEST_SECRET }),
      logger: pino({ level: 'silent' }),
      // A backlog upload is far above the default rates (per socket, principal and address): lift them.
      limits: {
        rateBurst: 1e9,
        ratePerSecond: 1e9,
        principalRateBurst: 1e9,
        principalRatePerSecond: 1e9,
        addressRateBurst: 1e9,
        addressRatePerSecond: 1e9,
      },
    });
    const clients = await startIngestClients([hub.url], outboxes.length, perClient, BATCH);
    let acked = 0;
    hubMs = Math.min(
      hubMs,
      await timeIt(async () => {
        acked = await clients.run();
      }),
    );
    expect(acked).toBe(EVENTS);
    expect(await store.head()).toBe(EVENTS);
    await hub.close();
    await store.close();
  }

  await reportBench({
    name: 'hub-ingest',
    value: EVENTS / (hubMs / 1000),
    unit: 'events/s',
    baseline: EVENTS / (rawMs / 1000),
    target: 0.5,
    better: 'higher',
  });
});
