import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sampleEnvelope } from '@eventloom/protocol/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { LOCAL_MAX_EVENTS, LocalWriter } from './sqlite-local-writer.ts';
import { appendColumnsOf, type AppendAnswer, type AppendColumns } from './append-columns.ts';
import { openSqliteDatabase } from './sqlite-log.ts';
import { createSqliteStore } from './sqlite-store.ts';

const dir = mkdtempSync(join(tmpdir(), 'eventloom-sqlite-local-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

/** A file log created by the store (so its schema is current), and a local writer on it. */
async function openLog(
  options: Parameters<typeof LocalWriter.open>[1] = {},
): Promise<{ path: string; local: LocalWriter }> {
  const path = join(dir, `log-${++files}.db`);
  await (await createSqliteStore({ path })).close();
  return { path, local: LocalWriter.open({ path, scanWindow: 50_000 }, options) };
}

const batchOf = (from: number, count: number) =>
  appendColumnsOf(
    Array.from({ length: count }, (_, i) => ({ event: sampleEnvelope({ clientSeq: from + i }) })),
  ).columns;

/** Appends until the writer takes the batch (it declines while it rests after a commit). */
async function appendTaken(
  local: LocalWriter,
  batch: AppendColumns,
  checkpoint = () => {},
): Promise<AppendAnswer> {
  for (;;) {
    const answer = local.append(batch, checkpoint);
    if (answer !== undefined) return answer;
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

function countEvents(path: string): number {
  const db = openSqliteDatabase({ path });
  try {
    return db.prepare('SELECT count(*) FROM events').pluck().get() as number;
  } finally {
    db.close();
  }
}

describe('LocalWriter', () => {
  it('commits a small batch durably, where another connection reads it', async () => {
    const { path, local } = await openLog();
    try {
      const answer = await appendTaken(local, batchOf(1, 3));
      expect([...answer.positions]).toEqual([1, 2, 3]);
      expect(countEvents(path)).toBe(3);
    } finally {
      local.close();
    }
  });

  it('declines a batch of more events than it takes, and writes nothing of it', async () => {
    const { path, local } = await openLog();
    try {
      expect(local.append(batchOf(1, LOCAL_MAX_EVENTS + 1), () => {})).toBeUndefined();
      expect(countEvents(path)).toBe(0);
    } finally {
      local.close();
    }
  });

  it('declines, without waiting and without writing, while another connection holds the write lock', async () => {
    const { path, local } = await openLog();
    const other = openSqliteDatabase({ path });
    try {
      other.exec('BEGIN IMMEDIATE');
      const started = performance.now();
      expect(local.append(batchOf(1, 1), () => {})).toBeUndefined();
      expect(performance.now() - started).toBeLessThan(1_000);
      other.exec('ROLLBACK');
      expect(countEvents(path)).toBe(0);
      await appendTaken(local, batchOf(1, 1));
      expect(countEvents(path)).toBe(1);
    } finally {
      other.close();
      local.close();
    }
  });

  it('never checkpoints itself, and asks for a checkpoint every so many commits', async () => {
    const { path, local } = await openLog({ commitsPerCheckpoint: 4 });
    let asked = 0;
    try {
      for (let seq = 1; seq <= 9; seq++) await appendTaken(local, batchOf(seq, 1), () => asked++);
      expect(asked).toBe(2);
      // Nothing of the WAL went into the file yet: a checkpoint now copies every frame.
      const db = openSqliteDatabase({ path });
      try {
        const [result] = db.pragma('wal_checkpoint(PASSIVE)') as { log: number; checkpointed: number }[];
        expect(result!.log).toBeGreaterThan(0);
        expect(result!.checkpointed).toBe(result!.log);
      } finally {
        db.close();
      }
    } finally {
      local.close();
    }
  });

  /**
   * A writer on a clock the test drives, and `append(at, took)`: asks at `at` (ms); a commit that
   * is taken takes `took` ms. True when it was taken.
   */
  async function clocked(): Promise<{
    append: (at: number, took: number) => boolean;
    committed: () => number;
    path: string;
    local: LocalWriter;
  }> {
    // The times the writer reads, in ms: when it is asked, then (if it commits) when the commit ended.
    const times: number[] = [];
    const { path, local } = await openLog({ clock: () => times.shift()! });
    let seq = 0;
    return {
      path,
      local,
      committed: () => seq,
      append: (at, took) => {
        times.push(at, at + took);
        const taken = local.append(batchOf(seq + 1, 1), () => {}) !== undefined;
        if (taken) seq++;
        else times.shift();
        expect(times).toEqual([]);
        return taken;
      },
    };
  }

  it('takes a burst of commits on the credit it banked while idle, then at most a quarter of the time, and banks again when idle', async () => {
    const { append, committed, path, local } = await clocked();
    try {
      // 4 ms of credit: five commits of 1 ms in a row (the last one from a credit of 0), then none
      // until three times the overdraft has passed.
      for (let at = 0; at < 5; at++) expect(append(at, 1)).toBe(true);
      expect(append(5, 1)).toBe(false);
      expect(append(7, 1)).toBe(false);
      expect(append(8, 1)).toBe(true);
      // A flood, a batch asked every ms for 400 ms: one commit of 1 ms in four.
      let taken = 0;
      for (let at = 9; at < 409; at++) if (append(at, 1)) taken++;
      expect(taken).toBeGreaterThanOrEqual(99);
      expect(taken).toBeLessThanOrEqual(101);
      // Idle for a while: the credit is back, up to its 4 ms and no more.
      for (let at = 2_000; at < 2_005; at++) expect(append(at, 1)).toBe(true);
      expect(append(2_005, 1)).toBe(false);
      expect(countEvents(path)).toBe(committed());
    } finally {
      local.close();
    }
  });

  it('after a lone slow commit, declines for its share only; from the second slow one in a row, longer for each, from the start again after a fast one', async () => {
    const { append, committed, path, local } = await clocked();
    try {
      expect(append(0, 6)).toBe(true); // slow, alone: credit 4 - 6, so 6 ms (three times 2), until 12
      expect(append(11, 6)).toBe(false);
      expect(append(12, 6)).toBe(true); // slow again: 25 ms, until 43
      expect(append(42, 1)).toBe(false);
      expect(append(43, 1)).toBe(true); // fast: the credit is enough for the next
      expect(append(44, 6)).toBe(true); // slow after a fast one: alone again, its share only (~14 ms)
      expect(append(63, 6)).toBe(false);
      let at = 65;
      for (let i = 0; i < 8; i++) {
        expect(append(at, 6)).toBe(true); // 25, 50, … ms, never more than 1 s
        at += 6 + Math.min(1_000, 25 * 2 ** i);
        expect(append(at - 1, 6)).toBe(false);
      }
      expect(append(at, 1)).toBe(true);
      expect(countEvents(path)).toBe(committed());
    } finally {
      local.close();
    }
  });
});

describe('createSqliteStore with commits on both connections', () => {
  it('keeps positions gapless and every event once when small and large batches alternate', async () => {
    const path = join(dir, `log-${++files}.db`);
    const store = await createSqliteStore({ path });
    try {
      let seq = 0;
      // The first append opens the connection on this thread, in the background.
      await store.append([{ event: sampleEnvelope({ clientSeq: ++seq }) }]);
      await new Promise((resolve) => setTimeout(resolve, 200));
      const sizes = [1, 40, 2, 1, 100, 3, 1];
      for (const size of sizes) {
        const batch = Array.from({ length: size }, () => ({ event: sampleEnvelope({ clientSeq: ++seq }) }));
        const results = await store.append(batch);
        expect(results.every((r) => r.status === 'ok')).toBe(true);
      }
      // Appends in flight at once: each on whichever connection is free, in call order.
      const concurrent = await Promise.all(
        [1, 50, 1, 1].map((size) =>
          store.append(Array.from({ length: size }, () => ({ event: sampleEnvelope({ clientSeq: ++seq }) }))),
        ),
      );
      const positions = concurrent.flat().map((r) => (r.status === 'ok' ? r.position : -1));
      expect(positions).toEqual(positions.map((_, i) => seq - positions.length + i + 1));
      expect(countEvents(path)).toBe(seq);
      const page = await store.read({ from: 0, limit: 1_000 });
      expect(page.events.map((e) => e.clientSeq)).toEqual(Array.from({ length: seq }, (_, i) => i + 1));
    } finally {
      await store.close();
    }
  });
});
