import { Limits, type EventEnvelope } from '@eventloom/protocol';
import { Dexie } from 'dexie';
import { expect, inject, test } from 'vitest';
import { reportBench } from '../../bench/browser.ts';
import { connectToHub } from '../../packages/sync-lab/src/connect-to-hub.ts';
import type { BrowserHubKey } from '../src/sync/sync-hub.global-setup.node.ts';
import { createEventloom, createSync, createUuidV7 } from '@eventloom/client';
import { BATCH, dbName, todoInput, todoRegistry } from '@eventloom/client/testing';
import { syncPortOf } from '@eventloom/client/testing';

/** Backlogs drained, smallest first: the growth from one to the next shows whether it is linear. */
const SIZES = [10_000, 30_000, 100_000] as const;
/** Pushes a bare client keeps in flight, as the sync does by default. */
const IN_FLIGHT = 4;
const key: BrowserHubKey = 'eventloomHubUrl';

// outbox-drain (Chromium, the hub the bench-browser project starts in Node): a write-only device
// (`subscriptions: []`) appends N events offline, then goes online; timed until `flushed()` (the
// hub acked every one). Baseline, same run, same hub: the same events pushed by a bare protocol
// client from memory (batches of the hub's maximum, IN_FLIGHT at once), plus a raw IndexedDB
// pass over them (bulkGet then bulkPut of the N rows, 1,000 at a time) — reading and marking
// the rows is the least a device must do. Target at 100k: ≥ 0.5× the baseline's events/s.
test('outbox-drain', async () => {
  const url = inject(key);
  const times: string[] = [];
  for (const n of SIZES) {
    const inputs = Array.from({ length: n }, (_, i) => ({
      ...todoInput(i),
      stream: `drain:${n}:${i % 100}`,
    }));
    const loom = await createEventloom({ name: dbName(`drain-${n}`), registry: todoRegistry });
    for (let i = 0; i < n; i += BATCH) await loom.appendMany(`drain:${n}:0`, inputs.slice(i, i + BATCH));
    const rows = await syncPortOf(loom).readOutbox();
    expect(rows).toHaveLength(n);

    // Baseline 1: the same events, from memory, by a bare client of its own.
    const bareId = `bare-${n}-${Date.now()}`;
    const bare = await connectToHub(url, { clientId: bareId, subscriptions: [], timeoutMs: 120_000 });
    const nextId = createUuidV7();
    const envelopes: EventEnvelope[] = rows.map((r, i) => ({
      ...r.event,
      id: nextId(),
      clientId: bareId,
      clientSeq: i + 1,
    }));
    let started = performance.now();
    let next = 0;
    const pushRest = async () => {
      while (next < envelopes.length) {
        const batch = envelopes.slice(next, next + Limits.maxBatchSize);
        next += batch.length;
        const ack = await bare.push(batch);
        expect(ack.results.find((r) => r.status !== 'ok')).toBeUndefined();
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, pushRest));
    const pushMs = performance.now() - started;
    bare.close();

    // Baseline 2: a raw IndexedDB pass over the rows.
    const raw = new Dexie(dbName(`drain-raw-${n}`));
    raw.version(1).stores({ outbox: 'clientSeq' });
    await raw.open();
    const table = raw.table('outbox');
    for (let i = 0; i < n; i += BATCH) await table.bulkAdd(rows.slice(i, i + BATCH));
    started = performance.now();
    for (let i = 0; i < n; i += BATCH) {
      const got = await table.bulkGet(rows.slice(i, i + BATCH).map((r) => r.clientSeq));
      await table.bulkPut(got.map((r) => ({ ...r, acked: 1 })));
    }
    const idbMs = performance.now() - started;
    raw.close();
    await Dexie.delete(raw.name);

    // The device: online, write-only, until the hub acked everything.
    started = performance.now();
    const sync = createSync(loom, { url, subscriptions: [] });
    await sync.flushed();
    const drainMs = performance.now() - started;
    await sync.close();
    await loom.close();
    await Dexie.delete(loom.name);

    const baselineMs = pushMs + idbMs;
    times.push(
      `${n / 1000}k: drain ${(drainMs / 1000).toFixed(2)} s (${((drainMs / n) * 1000).toFixed(1)} µs/event), baseline ${(baselineMs / 1000).toFixed(2)} s (push ${(pushMs / 1000).toFixed(2)} + IndexedDB ${(idbMs / 1000).toFixed(2)})`,
    );
    console.log(`[bench] outbox-drain ${times.at(-1)}`);
    if (n === SIZES.at(-1)) {
      await reportBench({
        name: 'outbox-drain',
        value: n / (drainMs / 1000),
        unit: 'events/s',
        baseline: n / (baselineMs / 1000),
        target: 0.5,
        better: 'higher',
      });
    }
  }
  console.log(`[bench] outbox-drain growth:\n  ${times.join('\n  ')}`);
});
