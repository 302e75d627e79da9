/**
 * hub-catchup-read: a client catching up on 100k events reads them in pages of 1000 through the
 * SQLite store's `read`, against a raw better-sqlite3 SELECT of the same pages of the same file,
 * in the same run, each row's JSON parsed into the event (a reader needs events, not text). Ratio
 * in events/s; the store must reach half the raw speed. The text-only SELECT is printed as well:
 * it shows what parsing costs, which no JSON-text store can avoid.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { EventEnvelope } from '@eventloom/protocol';
import { sampleEventId } from '@eventloom/protocol/testing';
import { afterAll, expect, it } from 'vitest';
import { reportBench } from '../../../bench/node.ts';
import { bestOf } from '../../../bench/report.ts';
import { createSqliteStore } from '../src/store/sqlite-store.ts';

const EVENTS = 100_000;
const PAGE = 1000;
const ROUNDS = 7;

const dir = mkdtempSync(join(tmpdir(), 'eventloom-bench-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('hub-catchup-read', async () => {
  const path = join(dir, 'catchup.db');
  const store = await createSqliteStore({ path });
  for (let batch = 0; batch < EVENTS / PAGE; batch++) {
    const clientId = `client-${batch % 10}`;
    const seq0 = Math.floor(batch / 10) * PAGE;
    const results = await store.append(
      Array.from({ length: PAGE }, (_, i) => ({
        event: todoEvent(batch * PAGE + i + 1, clientId, seq0 + i + 1),
      })),
    );
    expect(results.every((r) => r.status === 'ok')).toBe(true);
  }
  expect(await store.head()).toBe(EVENTS);

  const raw = new Database(path, { readonly: true });
  const rawPage = raw
    .prepare<[number, number], string>(
      'SELECT event FROM events WHERE position > ? ORDER BY position LIMIT ?',
    )
    .pluck();

  const rawRead = () => {
    let count = 0;
    for (let from = 0; from < EVENTS; from += PAGE) {
      count += rawPage.all(from, PAGE).map((text) => JSON.parse(text) as unknown).length;
    }
    return count;
  };
  const textOnly = () => {
    let count = 0;
    for (let from = 0; from < EVENTS; from += PAGE) count += rawPage.all(from, PAGE).length;
    return count;
  };

  let storeCount = 0;
  let rawCount = 0;
  const { subjectMs, baselineMs } = await bestOf(
    ROUNDS,
    async () => {
      storeCount = 0;
      for (let from = 0; from < EVENTS;) {
        const page = await store.read({ from, limit: PAGE });
        storeCount += page.events.length;
        from = page.until;
      }
    },
    () => {
      rawCount = rawRead();
    },
  );
  const { subjectMs: textMs } = await bestOf(ROUNDS, textOnly, () => undefined);
  raw.close();
  await store.close();
  expect([storeCount, rawCount]).toEqual([EVENTS, EVENTS]);
  console.log(
    `[bench] hub-catchup-read: text-only SELECT ${Math.round(EVENTS / (textMs / 1000))} events/s ` +
      `(store at ${(textMs / subjectMs).toFixed(2)}× of it)`,
  );

  await reportBench({
    name: 'hub-catchup-read',
    value: EVENTS / (subjectMs / 1000),
    unit: 'events/s',
    baseline: EVENTS / (baselineMs / 1000),
    target: 0.5,
    better: 'higher',
  });
});

/** A todo event of a typical size (≈ 450 bytes as committed JSON). */
function todoEvent(n: number, clientId: string, clientSeq: number): EventEnvelope {
  return {
    id: sampleEventId(n),
    type: 'todo.added',
    version: 1,
    kind: 'domain',
    stream: `list:${n % 100}`,
    data: { todoId: `todo-${n}`, title: `Buy item number ${n}`, done: n % 3 === 0, tags: ['home', 'errand'] },
    meta: { correlationId: `corr-${n}`, principal: { sub: `user-${n % 10}` } },
    clientId,
    clientSeq,
    hlc: `${String(1_732_700_000_000 + n).padStart(15, '0')}-0000000000-${clientId}`,
  };
}
