import { Dexie } from 'dexie';
import { expect, test } from 'vitest';
import { committedEvents, dbName, N } from '../src/testing/bench-events.ts';

// The measurement behind the confirmed log's layout (the docblock of DexieClientStore): 100k
// confirmed events, written in batches of 1,000, then read back, as one row per event or as
// pages of events per row, with and without indexes. Prints a table; writes no result file.
test('layout of the confirmed log', async () => {
  const events = committedEvents(N);
  type Layout = { label: string; schema: string; rows: (batch: typeof events) => unknown[] };
  const pages = (size: number, withStreams: boolean) => (batch: typeof events) => {
    const out = [];
    for (let i = 0; i < batch.length; i += size) {
      const chunk = batch.slice(i, i + size);
      const page = { first: chunk[0]!.position, last: chunk.at(-1)!.position, events: chunk };
      out.push(withStreams ? { ...page, streams: [...new Set(chunk.map((e) => e.stream))] } : page);
    }
    return out;
  };
  const layouts: Layout[] = [
    { label: 'row per event, primary key only', schema: 'position', rows: (b) => b },
    { label: 'row per event, 3 indexes', schema: 'position, &id, stream, type', rows: (b) => b },
    { label: 'pages of 256, primary key only', schema: 'first', rows: pages(256, false) },
    { label: 'pages of 256, *streams index', schema: 'first, *streams', rows: pages(256, true) },
    { label: 'pages of 1000, *streams index', schema: 'first, *streams', rows: pages(1000, true) },
  ];
  const rates = new Map<string, number>();
  for (const layout of layouts) {
    const db = new Dexie(dbName('layout'));
    db.version(1).stores({ t: layout.schema });
    await db.open();
    const start = performance.now();
    for (let i = 0; i < N; i += 1000) await db.table('t').bulkAdd(layout.rows(events.slice(i, i + 1000)));
    const writeMs = performance.now() - start;
    const readStart = performance.now();
    await db.table('t').toArray();
    const readMs = performance.now() - readStart;
    rates.set(layout.label, N / (writeMs / 1000));
    console.log(
      `[layout] ${layout.label.padEnd(34)} write ${Math.round(N / (writeMs / 1000))} events/s, read all ${Math.round(readMs)} ms`,
    );
    db.close();
    await Dexie.delete(db.name);
  }
  // The decision holds only while pages with the stream index beat the bare row-per-event baseline.
  expect(rates.get('pages of 256, *streams index')!).toBeGreaterThan(
    rates.get('row per event, primary key only')!,
  );
});
