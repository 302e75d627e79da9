/**
 * A file log is opened on the caller's thread; the commit thread starts with the first append (or
 * import, or checkpoint): a hub nobody writes to does without that thread's heap. No append waits
 * for that start: until the thread is up, every batch is committed on the caller's connection. In a
 * file of its own, so that no other test has started the process's commit thread first.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { sampleEnvelope } from '@eventloom/protocol/testing';
import { afterAll, expect, it } from 'vitest';
import { createSqliteStore } from './sqlite-store.ts';
import { SqliteThread } from './sqlite-thread.ts';
import { holdThread } from './fixtures/held-thread.ts';

const dir = mkdtempSync(join(tmpdir(), 'eventloom-sqlite-writer-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('answers everything but writes of events without the commit thread, and starts it with the first append', async () => {
  const path = join(dir, 'idle.db');
  const store = await createSqliteStore({ path });
  try {
    const hubId = await store.hubId();
    expect(await store.head()).toBe(0);
    expect(await store.streamVersion('s')).toBe(0);
    expect(await store.bindClient('client-a', 'alice')).toBe(true);
    expect(await store.client('client-a')).toEqual({ lastClientSeq: 0, principal: 'alice' });
    expect(SqliteThread.running('writer')).toBe(false);

    const [result] = await store.append([{ event: sampleEnvelope({ clientSeq: 1, clientId: 'client-a' }) }]);
    expect(result).toMatchObject({ status: 'ok', position: 1 });
    expect(SqliteThread.running('writer')).toBe(true);
    expect(await store.hubId()).toBe(hubId);
  } finally {
    await store.close();
  }
  // Closed, the file alone is the whole log.
  const db = new Database(path, { readonly: true });
  try {
    expect(db.prepare('SELECT count(*) FROM events').pluck().get()).toBe(1);
  } finally {
    db.close();
  }
});

it('commits every batch, large ones too, on the caller’s connection while the commit thread opens, in order', async () => {
  const held = await holdThread('writer', dir);
  const path = join(dir, 'opening.db');
  const store = await createSqliteStore({ path, readConnection: false });
  try {
    const batch = (from: number, count: number) =>
      Array.from({ length: count }, (_, i) => ({ event: sampleEnvelope({ clientSeq: from + i }) }));
    const first = await store.append(batch(1, 40));
    const second = await store.append(batch(41, 3));
    expect([...first, ...second].map((r) => (r.status === 'ok' ? r.position : -1))).toEqual(
      Array.from({ length: 43 }, (_, i) => i + 1),
    );
    // A read that would go to the commit thread answers here too.
    const page = await store.readJson!({ from: 0, limit: 100, streams: ['list:1'] });
    expect(page.head).toBe(43);
    expect(page.count).toBe(43);
    // Answered while the commit thread was still inside the other open: not by it.
    expect(held.released()).toBe(false);

    await held.release();
    // The log opens on the thread behind it; the appends after it keep counting on.
    const third = await store.append(batch(44, 40));
    expect(third.map((r) => (r.status === 'ok' ? r.position : -1))).toEqual(
      Array.from({ length: 40 }, (_, i) => i + 44),
    );
    expect(await store.head()).toBe(83);
  } finally {
    await held.release();
    await store.close();
  }
}, 60_000);
