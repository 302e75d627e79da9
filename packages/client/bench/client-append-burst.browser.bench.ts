import { Dexie } from 'dexie';
import { expect, test } from 'vitest';
import { reportBench } from '../../../bench/browser.ts';
import { bestOf } from '../../../bench/report.ts';
import type { OutboxRow } from '../src/client-store.ts';
import { createEventloom, type Eventloom } from '../src/eventloom.ts';
import { todoCount, todoRegistry } from '../src/testing/todo-model.ts';
import { BATCH, dbName, N, todoInput } from '../src/testing/bench-events.ts';
import { syncPortOf } from '@eventloom/client/testing';

// appendMany of 100k events in batches of 1,000 (validation, ids, clientSeq, hlc, outbox rows,
// the meta row, a live projection) against raw Dexie bulkAdd of the same rows into a table with
// the same indexes (the outbox's: primary key clientSeq, no secondary index). Target ≥ 0.6×.
test('client-append-burst', async () => {
  const inputs = Array.from({ length: N }, (_, i) => todoInput(i));
  // The baseline stores exactly the rows the client stored: made once, by a first run.
  const warm = await createEventloom({ name: dbName('append-warm'), registry: todoRegistry });
  for (let i = 0; i < N; i += BATCH) await warm.appendMany('list:0', inputs.slice(i, i + BATCH));
  const rows: OutboxRow[] = (await syncPortOf(warm).readOutbox()).map((r) => ({
    clientSeq: r.clientSeq,
    event: r.event,
  }));
  await warm.close();
  await Dexie.delete(warm.name);
  expect(rows).toHaveLength(N);

  let subjectMs = Infinity;
  let baselineMs = Infinity;
  for (let round = 0; round < 3; round++) {
    const loom: Eventloom = await createEventloom({
      name: dbName('append'),
      registry: todoRegistry,
      projections: [todoCount],
    });
    const raw = new Dexie(dbName('append-raw'));
    raw.version(1).stores({ outbox: 'clientSeq' });
    await raw.open();
    const best = await bestOf(
      1,
      async () => {
        for (let i = 0; i < N; i += BATCH) await loom.appendMany('list:0', inputs.slice(i, i + BATCH));
      },
      async () => {
        for (let i = 0; i < N; i += BATCH) await raw.table('outbox').bulkAdd(rows.slice(i, i + BATCH));
      },
    );
    subjectMs = Math.min(subjectMs, best.subjectMs);
    baselineMs = Math.min(baselineMs, best.baselineMs);
    await loom.close();
    raw.close();
    await Promise.all([Dexie.delete(loom.name), Dexie.delete(raw.name)]);
  }
  const result = await reportBench({
    name: 'client-append-burst',
    value: N / (subjectMs / 1000),
    unit: 'events/s',
    baseline: N / (baselineMs / 1000),
    target: 0.6,
    better: 'higher',
  });
  expect(result.value).toBeGreaterThan(0);
});
