/**
 * A SQLite store whose threads can never start (here worker creation fails, as it does where
 * threads are not allowed): the hub's own connection does their work. Appends stay durable, and the
 * WAL is checkpointed there, which the commit thread does otherwise: until then nothing checkpointed
 * it, and it grew without bound. The failure is told once, not once per append. In a file of its
 * own: the process's threads are mocked away.
 */
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { sampleEnvelope } from '@eventloom/protocol/testing';
import { afterAll, afterEach, expect, it, vi } from 'vitest';
import type { HubError } from '../hub/hub-error.ts';
import { createSqliteStore } from './sqlite-store.ts';

const workers = vi.hoisted(() => ({ tried: 0 }));
vi.mock('node:worker_threads', async (importOriginal) => ({
  ...(await importOriginal<typeof import('node:worker_threads')>()),
  Worker: class {
    constructor() {
      workers.tried++;
      throw new Error('no worker threads here');
    }
  },
}));

const dir = mkdtempSync(join(tmpdir(), 'eventloom-sqlite-no-thread-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => {
  vi.useRealTimers();
});

/** Events in the database file alone, without its WAL: what checkpoints copied there (the schema too). */
function checkpointed(path: string): number {
  const copy = `${path}.copy`;
  copyFileSync(path, copy);
  const db = new Database(copy);
  try {
    const schema = db.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'events'").pluck().get();
    if (schema === 0) return 0;
    return db.prepare('SELECT count(*) FROM events').pluck().get() as number;
  } finally {
    db.close();
  }
}

it('checkpoints on the caller’s connection when the commit thread cannot start, and says so once', async () => {
  const path = join(dir, 'no-thread.db');
  const errors: HubError[] = [];
  const store = await createSqliteStore({ path, onError: (error) => errors.push(error) });
  try {
    // Past two checkpoints' worth of commits (one is asked for every 64).
    for (let seq = 1; seq <= 150; seq++) {
      const [result] = await store.append([{ event: sampleEnvelope({ clientSeq: seq }) }]);
      expect(result).toMatchObject({ status: 'ok', position: seq });
    }
    const page = await store.read({ from: 0, limit: 1000, streams: ['list:1'] });
    expect(page.events.map((e) => e.position)).toEqual(Array.from({ length: 150 }, (_, i) => i + 1));
    expect(checkpointed(path)).toBeGreaterThanOrEqual(128);
    // Each thread's failure told once (the filtered read tried the read thread).
    expect(errors.map((e) => [e.code, e.message])).toEqual([
      [
        'store',
        expect.stringMatching(/SQLite writer thread cannot open the log .*: no worker threads here$/),
      ],
      [
        'store',
        expect.stringMatching(/SQLite reader thread cannot open the log .*: no worker threads here$/),
      ],
    ]);
  } finally {
    await store.close();
  }
  expect(checkpointed(path)).toBe(150);
});

it('tries a thread that failed to open the log again only after a while, longer after each failure', async () => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
  const store = await createSqliteStore({ path: join(dir, 'retries.db'), onError: () => undefined });
  try {
    let seq = 0;
    const appendSome = async (count: number) => {
      for (let i = 0; i < count; i++) await store.append([{ event: sampleEnvelope({ clientSeq: ++seq }) }]);
    };
    workers.tried = 0;
    // Each try may start a worker thread: not one per append (20 before), one per wait.
    await appendSome(20);
    expect(workers.tried).toBe(1);
    await vi.advanceTimersByTimeAsync(1_000);
    await appendSome(20);
    expect(workers.tried).toBe(2);
    // Failed twice in a row: it waits 2 s this time.
    await vi.advanceTimersByTimeAsync(1_000);
    await appendSome(20);
    expect(workers.tried).toBe(2);
    await vi.advanceTimersByTimeAsync(1_000);
    await appendSome(20);
    expect(workers.tried).toBe(3);
    expect(await store.head()).toBe(80);
  } finally {
    await store.close();
  }
});
