import { Dexie } from 'dexie';
import { firstValueFrom } from 'rxjs';
import { expect, test } from 'vitest';
import { reportBench } from '../../../bench/browser.ts';
import { bestOf } from '../../../bench/report.ts';
import { createEventloom } from '../src/eventloom.ts';
import { openByList, todoRegistry } from '../src/testing/todo-model.ts';
import { BATCH, committedEvents, dbName, N } from '../src/testing/bench-events.ts';
import { syncPortOf } from '@eventloom/client/testing';

// Open a database of 100k confirmed events and wait for the first projection$ emission of a keyed
// projection (open to-dos for 1,000 lists): starting from its snapshot (plus the 50 events after
// it) against folding the whole log (snapshots off). Both open the same database. Target ≤ 0.1×.
test('cold-start', async () => {
  const name = dbName('cold');
  const events = committedEvents(N);
  // 50 events after the last snapshot, so that the start from it folds a tail too.
  const seed = await createEventloom({
    name,
    registry: todoRegistry,
    projections: [openByList],
    snapshotEvery: 1000,
  });
  for (let i = 0; i < N - 50; i += BATCH)
    await syncPortOf(seed).insertConfirmed(events.slice(i, Math.min(i + BATCH, N - 50)));
  await firstValueFrom(seed.projection$(openByList, 'list:7'));
  await seed.close();
  const tail = await createEventloom({ name, registry: todoRegistry, snapshotEvery: Infinity });
  await syncPortOf(tail).insertConfirmed(events.slice(N - 50));
  await tail.close();

  const start = async (snapshotEvery: number) => {
    const loom = await createEventloom({
      name,
      registry: todoRegistry,
      projections: [openByList],
      snapshotEvery,
    });
    const state = await firstValueFrom(loom.projection$(openByList, 'list:7'));
    await loom.close();
    return state;
  };
  const withSnapshot = await start(1000);
  const fromLog = await start(Infinity);
  expect(withSnapshot).toEqual(fromLog);
  expect(withSnapshot).toBeGreaterThan(0);

  const { subjectMs, baselineMs } = await bestOf(
    5,
    () => start(1000),
    () => start(Infinity),
  );
  await Dexie.delete(name);
  const result = await reportBench({
    name: 'cold-start',
    value: subjectMs,
    unit: 'ms',
    baseline: baselineMs,
    target: 0.1,
    better: 'lower',
  });
  expect(result.value).toBeGreaterThan(0);
});
