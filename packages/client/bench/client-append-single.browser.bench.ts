import { Dexie } from 'dexie';
import { expect, test } from 'vitest';
import { reportBench } from '../../../bench/browser.ts';
import type { OutboxRow } from '../src/client-store.ts';
import { createEventloom, type Eventloom } from '../src/eventloom.ts';
import { todoCount, todoRegistry } from '../src/testing/todo-model.ts';
import { dbName, todoInput } from '../src/testing/bench-events.ts';
import { syncPortOf } from '@eventloom/client/testing';

/** Sequential awaited appends per round. */
const SEQUENTIAL = 500;
/** Appends in flight at once. */
const BURST = 1000;
const ROUNDS = 3;

// client-append-single: apps that call `append` once per user action (Chromium, real IndexedDB).
// - sequential: `await loom.append(...)` one at a time (validation, stamping, one write transaction,
//   a live projection) against a raw Dexie `add` of the same row, each in its own transaction, also
//   awaited one at a time. Target ≥ 0.8×.
// - in flight: 1,000 `append` calls made at once, then all awaited (they may share transactions, each
//   resolving once durable) against one raw `bulkAdd` of the same 1,000 rows. Target ≥ 0.5×.
// Both raw tables have the outbox's key (clientSeq, no secondary index); the rows are the ones the
// client stored. Each side's best round counts; the two alternate, so noise hits both alike.
test('client-append-single', async () => {
  const inputs = Array.from({ length: BURST }, (_, i) => todoInput(i));
  const warm = await createEventloom({ name: dbName('single-warm'), registry: todoRegistry });
  for (const input of inputs) await warm.append(input.stream, input);
  const rows: OutboxRow[] = (await syncPortOf(warm).readOutbox()).map((r) => ({
    clientSeq: r.clientSeq,
    event: r.event,
  }));
  await warm.close();
  await Dexie.delete(warm.name);
  expect(rows).toHaveLength(BURST);

  const best = { sequential: Infinity, rawSequential: Infinity, burst: Infinity, rawBurst: Infinity };
  for (let round = 0; round < ROUNDS; round++) {
    const loom: Eventloom = await createEventloom({
      name: dbName('single'),
      registry: todoRegistry,
      projections: [todoCount],
    });
    const raw = new Dexie(dbName('single-raw'));
    raw.version(1).stores({ outbox: 'clientSeq' });
    await raw.open();
    const outbox = raw.table<OutboxRow, number>('outbox');

    let started = performance.now();
    for (let i = 0; i < SEQUENTIAL; i++) await outbox.add(rows[i]!);
    best.rawSequential = Math.min(best.rawSequential, performance.now() - started);
    started = performance.now();
    for (let i = 0; i < SEQUENTIAL; i++) await loom.append(inputs[i]!.stream, inputs[i]!);
    best.sequential = Math.min(best.sequential, performance.now() - started);

    await outbox.clear();
    started = performance.now();
    await outbox.bulkAdd(rows);
    best.rawBurst = Math.min(best.rawBurst, performance.now() - started);
    started = performance.now();
    const appended = await Promise.all(inputs.map((input) => loom.append(input.stream, input)));
    best.burst = Math.min(best.burst, performance.now() - started);
    // Every append resolved with its own event, in call order, and all are stored.
    expect(appended.map((e) => e.clientSeq)).toEqual(
      Array.from({ length: BURST }, (_, i) => SEQUENTIAL + i + 1),
    );
    expect(await syncPortOf(loom).readOutbox()).toHaveLength(SEQUENTIAL + BURST);

    await loom.close();
    raw.close();
    await Promise.all([Dexie.delete(loom.name), Dexie.delete(raw.name)]);
  }
  const sequential = await reportBench({
    name: 'client-append-single-sequential',
    value: SEQUENTIAL / (best.sequential / 1000),
    unit: 'events/s',
    baseline: SEQUENTIAL / (best.rawSequential / 1000),
    target: 0.8,
    better: 'higher',
  });
  const burst = await reportBench({
    name: 'client-append-single-in-flight',
    value: BURST / (best.burst / 1000),
    unit: 'events/s',
    baseline: BURST / (best.rawBurst / 1000),
    target: 0.5,
    better: 'higher',
  });
  expect(sequential.value).toBeGreaterThan(0);
  expect(burst.value).toBeGreaterThan(0);
});
