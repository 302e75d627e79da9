/**
 * A SQLite thread that dies once up (its worker exits): the store opens the log again on a new
 * one, and its connection here takes the work meanwhile. It kept the dead thread's log, and every
 * request that went there failed from then on (a batch too large for the connection here, one in
 * its rest, a read). In a file of its own: the process's workers are watched here.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Worker as NodeWorker } from 'node:worker_threads';
import { sampleEnvelope } from '@eventloom/protocol/testing';
import { afterAll, expect, it, vi } from 'vitest';
import { createSqliteStore } from './sqlite-store.ts';
import { SqliteThread } from './sqlite-thread.ts';

const workers = vi.hoisted(() => ({ started: [] as NodeWorker[] }));
vi.mock('node:worker_threads', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:worker_threads')>();
  class Worker extends actual.Worker {
    constructor(...args: ConstructorParameters<typeof actual.Worker>) {
      super(...args);
      workers.started.push(this);
    }
  }
  return { ...actual, Worker };
});

const dir = mkdtempSync(join(tmpdir(), 'eventloom-sqlite-thread-dies-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Resolves once the process's commit thread has opened every log asked of it so far (it answers in order). */
async function threadUp(path: string): Promise<void> {
  const thread = SqliteThread.shared('writer');
  const handle = await thread.request<number>({ op: 'open', options: { path, scanWindow: 50_000 } });
  await thread.request({ op: 'close', handle });
}

it('opens the log on a new thread after its thread died, and loses nothing', async () => {
  const path = join(dir, 'dies.db');
  const store = await createSqliteStore({ path, readConnection: false });
  const batch = (from: number, count: number) =>
    Array.from({ length: count }, (_, i) => ({ event: sampleEnvelope({ clientSeq: from + i }) }));
  const positions = async (from: number, count: number) =>
    (await store.append(batch(from, count))).map((r) => (r.status === 'ok' ? r.position : -1));
  const expected = (from: number, count: number) => Array.from({ length: count }, (_, i) => from + i);
  try {
    expect(await positions(1, 40)).toEqual(expected(1, 40));
    await threadUp(path);
    // Up, the thread takes the large batches.
    expect(await positions(41, 40)).toEqual(expected(41, 40));
    const died = SqliteThread.shared('writer').died;
    await workers.started.at(-1)!.terminate();
    await died;

    // The next large batch is committed (here, while a new thread opens the log), in order.
    expect(await positions(81, 40)).toEqual(expected(81, 40));
    await threadUp(path);
    expect(await positions(121, 40)).toEqual(expected(121, 40));
    expect(workers.started).toHaveLength(2);
    const page = await store.read({ from: 0, limit: 1000, streams: ['list:1'] });
    expect(page.events.map((e) => e.position)).toEqual(expected(1, 160));
  } finally {
    await store.close();
  }
}, 60_000);
