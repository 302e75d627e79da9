import { Dexie, liveQuery } from 'dexie';
import { expect, test } from 'vitest';
import { reportBench } from '../../../bench/browser.ts';
import { percentile } from '../../../bench/report.ts';
import { createEventloom } from '../src/eventloom.ts';
import { TodoAdded, todoCount, todoRegistry } from '../src/testing/todo-model.ts';
import { dbName } from '../src/testing/bench-events.ts';

const SAMPLES = 500;
const WARMUP = 50;

// append → projection$ emission against Dexie's liveQuery (add a row → the query re-runs → it
// emits), sample by sample, alternating so that the machine's noise hits both alike.
// Targets: p50 ≤ 1.5×, p99 ≤ 2× the liveQuery figure.
test('projection-latency', async () => {
  const loom = await createEventloom({
    name: dbName('latency'),
    registry: todoRegistry,
    projections: [todoCount],
  });
  const raw = new Dexie(dbName('latency-raw'));
  raw.version(1).stores({ events: '++seq' });
  await raw.open();

  let resolveLoom: (() => void) | undefined;
  let expectedCount = 0;
  const loomSub = loom.projection$(todoCount).subscribe((count) => {
    if (count === expectedCount) resolveLoom?.();
  });
  let resolveRaw: (() => void) | undefined;
  let expectedRows = 0;
  const rawSub = liveQuery(() => raw.table('events').count()).subscribe((count) => {
    if (count === expectedRows) resolveRaw?.();
  });

  const subjectSamples: number[] = [];
  const baselineSamples: number[] = [];
  for (let i = 0; i < SAMPLES + WARMUP; i++) {
    const row = { type: 'todo.added', data: { id: `r${i}`, title: 'raw', tags: [] } };
    const rawStart = performance.now();
    expectedRows = i + 1;
    const rawSeen = new Promise<void>((resolve) => (resolveRaw = resolve));
    await raw.table('events').add(row);
    await rawSeen;
    const rawMs = performance.now() - rawStart;

    const loomStart = performance.now();
    expectedCount = i + 1;
    const loomSeen = new Promise<void>((resolve) => (resolveLoom = resolve));
    await Promise.all([
      loom.append('list:1', TodoAdded.create({ id: `l${i}`, title: 'loom', tags: [] })),
      loomSeen,
    ]);
    const loomMs = performance.now() - loomStart;
    if (i >= WARMUP) {
      baselineSamples.push(rawMs);
      subjectSamples.push(loomMs);
    }
  }
  loomSub.unsubscribe();
  rawSub.unsubscribe();
  await loom.close();
  raw.close();
  await Promise.all([Dexie.delete(loom.name), Dexie.delete(raw.name)]);

  for (const [p, target] of [
    [50, 1.5],
    [99, 2],
  ] as const) {
    const result = await reportBench({
      name: `projection-latency-p${p}`,
      value: percentile(subjectSamples, p),
      unit: 'ms',
      baseline: percentile(baselineSamples, p),
      target,
      better: 'lower',
    });
    expect(result.value).toBeGreaterThan(0);
  }
});
