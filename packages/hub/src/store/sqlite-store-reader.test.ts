/**
 * The read connection of a file log, and the reader thread it runs on, start with the first read
 * that reaches SQLite: an idle hub does without that thread's heap. Reads never wait for that
 * start: until the read connection is open they go to the writer's. In a file of its own, so that
 * no other test has started the process's reader thread first.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sampleEnvelope } from '@eventloom/protocol/testing';
import { afterAll, expect, it } from 'vitest';
import { createSqliteStore } from './sqlite-store.ts';
import { SqliteThread } from './sqlite-thread.ts';
import { holdThread } from './fixtures/held-thread.ts';

const dir = mkdtempSync(join(tmpdir(), 'eventloom-sqlite-reader-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('starts the reader thread on the first read that reaches SQLite, not before', async () => {
  const unread = await createSqliteStore({ path: join(dir, 'unread.db') });
  await unread.append([{ event: sampleEnvelope({ clientSeq: 1 }) }]);
  await unread.close();
  expect(SqliteThread.running('writer')).toBe(true);
  expect(SqliteThread.running('reader')).toBe(false);

  const path = join(dir, 'read.db');
  const store = await createSqliteStore({ path });
  try {
    const events = [1, 2, 3].map((clientSeq) => sampleEnvelope({ clientSeq, stream: `s-${clientSeq % 2}` }));
    await store.append(events.map((event) => ({ event })));
    // Near the head, the store answers from what it just committed.
    expect((await store.read({ from: 0, limit: 10 })).events.map((e) => e.id)).toEqual(
      events.map((e) => e.id),
    );
    expect(SqliteThread.running('reader')).toBe(false);
    // A filtered read goes to SQLite, on the read connection.
    const filtered = await store.read({ from: 0, limit: 10, streams: ['s-1'] });
    expect(filtered.events.map((e) => e.id)).toEqual([events[0]!.id, events[2]!.id]);
    expect(SqliteThread.running('reader')).toBe(true);
  } finally {
    await store.close();
  }
  // Closed with its read connection: opened again, it reads what was written.
  const again = await createSqliteStore({ path });
  try {
    expect((await again.read({ from: 0, limit: 10 })).events).toHaveLength(3);
  } finally {
    await again.close();
  }
});

it('answers reads on the write connection while the read connection is still opening', async () => {
  const held = await holdThread('reader', dir);
  const store = await createSqliteStore({ path: join(dir, 'opening.db') });
  try {
    const events = [1, 2, 3].map((clientSeq) => sampleEnvelope({ clientSeq, stream: `s-${clientSeq % 2}` }));
    await store.append(events.map((event) => ({ event })));
    const filtered = await store.read({ from: 0, limit: 10, streams: ['s-1'] });
    expect(filtered.events.map((e) => e.id)).toEqual([events[0]!.id, events[2]!.id]);
    // Answered while the reader thread was still inside the other open: not by it.
    expect(held.released()).toBe(false);
    await held.release();
    // The read connection opens behind it; the reads after it answer the same.
    for (let i = 0; i < 3; i++) {
      const again = await store.read({ from: 0, limit: 10, streams: ['s-1'] });
      expect(again.events.map((e) => e.id)).toEqual([events[0]!.id, events[2]!.id]);
    }
  } finally {
    await held.release();
    await store.close();
  }
}, 60_000);

it('lends a JSON page read on a thread, whose buffer goes back to that thread for a later page', async () => {
  const store = await createSqliteStore({ path: join(dir, 'lent.db') });
  try {
    const events = [1, 2, 3].map((clientSeq) => sampleEnvelope({ clientSeq, stream: `s-${clientSeq % 2}` }));
    await store.append(events.map((event) => ({ event })));
    const ids = async () => {
      const page = await store.readJson!({ from: 0, limit: 10 });
      const read = JSON.parse(`[${new TextDecoder().decode(page.json)}]`) as { id: string }[];
      return { page, ids: read.map((e) => e.id) };
    };
    // Once a thread reads (not this one, before any is up), the page comes with `release`.
    let first = await ids();
    for (let tries = 0; first.page.release === undefined; tries++) {
      if (tries > 2000) throw new Error('no read reached a thread');
      await new Promise((resolve) => setTimeout(resolve, 5));
      first = await ids();
    }
    expect(first.ids).toEqual(events.map((e) => e.id));
    const { buffer } = first.page.json;
    first.page.release();
    // Moved to the thread: gone from here.
    expect(buffer.byteLength).toBe(0);
    for (let i = 0; i < 3; i++) {
      const again = await ids();
      expect(again.ids).toEqual(events.map((e) => e.id));
      again.page.release?.();
    }
  } finally {
    await store.close();
  }
});
