import { Dexie } from 'dexie';
import { expect, test } from 'vitest';
import { reportBench } from '../../../bench/browser.ts';
import { bestOf } from '../../../bench/report.ts';
import { createEventloom } from '../src/eventloom.ts';
import { todoCount, todoRegistry } from '../src/testing/todo-model.ts';
import { BATCH, committedEvents, dbName, N } from '../src/testing/bench-events.ts';
import { syncPortOf } from '@eventloom/client/testing';

// What the confirmed log's page layout buys: storing 100k confirmed events through the sync entry
// point (pages of 1,000, as pulls bring them, into the paged log of DexieClientStore — up to 256
// events per row, with its stream index —, the meta row, a live projection folding them) against
// raw Dexie bulkAdd of the same events laid out one row per event, in a table with no secondary
// index. The two sides store different layouts: the ratio is the paged layout's gain over the
// naive one, Eventloom's bookkeeping included; it is not Eventloom's overhead over the same layout
// (layout.browser.bench.ts prints the layouts side by side). Target ≥ 1.0×.
test('catchup-vs-row-per-event', async () => {
  const events = committedEvents(N);
  let subjectMs = Infinity;
  let baselineMs = Infinity;
  for (let round = 0; round < 3; round++) {
    const loom = await createEventloom({
      name: dbName('catchup'),
      registry: todoRegistry,
      projections: [todoCount],
    });
    const raw = new Dexie(dbName('catchup-raw'));
    raw.version(1).stores({ events: 'position' });
    await raw.open();
    const best = await bestOf(
      1,
      async () => {
        for (let i = 0; i < N; i += BATCH) await syncPortOf(loom).insertConfirmed(events.slice(i, i + BATCH));
      },
      async () => {
        for (let i = 0; i < N; i += BATCH) await raw.table('events').bulkAdd(events.slice(i, i + BATCH));
      },
    );
    subjectMs = Math.min(subjectMs, best.subjectMs);
    baselineMs = Math.min(baselineMs, best.baselineMs);
    expect(await syncPortOf(loom).lastPosition()).toBe(N);
    await loom.close();
    raw.close();
    await Promise.all([Dexie.delete(loom.name), Dexie.delete(raw.name)]);
  }
  const result = await reportBench({
    name: 'catchup-vs-row-per-event',
    value: N / (subjectMs / 1000),
    unit: 'events/s',
    baseline: N / (baselineMs / 1000),
    target: 1.0,
    better: 'higher',
  });
  expect(result.value).toBeGreaterThan(0);
});
