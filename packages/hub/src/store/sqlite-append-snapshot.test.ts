import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { sampleEnvelope } from '@eventloom/protocol/testing';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { appendColumnsOf } from './append-columns.ts';
import { SqliteLog } from './sqlite-log.ts';

const dirs: string[] = [];
afterEach(() => {
  vi.restoreAllMocks();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** The SQL of every statement run (`get`, `all`, `run`, `iterate`) while `fn` runs, in order. */
function statementsRunBy(fn: () => void): string[] {
  const probe = new Database(':memory:');
  const proto = Object.getPrototypeOf(probe.prepare('SELECT 1')) as Record<string, unknown>;
  probe.close();
  const run: string[] = [];
  for (const method of ['get', 'all', 'run', 'iterate'] as const) {
    const original = proto[method] as (this: Database.Statement, ...args: unknown[]) => unknown;
    vi.spyOn(proto as Record<string, (...args: unknown[]) => unknown>, method).mockImplementation(function (
      this: Database.Statement,
      ...args: unknown[]
    ) {
      run.push(this.source);
      return original.apply(this, args);
    });
  }
  try {
    fn();
  } finally {
    vi.restoreAllMocks();
  }
  return run;
}

describe('SqliteAppendSnapshot', () => {
  it("reads each client's row once per batch, however many of its events carry an epoch", () => {
    const dir = mkdtempSync(join(tmpdir(), 'eventloom-snapshot-'));
    dirs.push(dir);
    const log = SqliteLog.open({ path: join(dir, 'hub.db'), scanWindow: 1000 });
    try {
      const epochs = new Map<string, number>();
      for (const clientId of ['client-a', 'client-b', 'client-c']) {
        const claim = log.claimNewClient(clientId, 'alice');
        if (claim.status !== 'claimed') throw new Error(claim.status);
        epochs.set(clientId, claim.epoch);
      }
      // Three clients' pushes in one sequencer batch, interleaved, three events each.
      const batch = [1, 2, 3].flatMap((clientSeq) =>
        [...epochs].map(([clientId, epoch]) => ({
          event: sampleEnvelope({ clientId, clientSeq, stream: `${clientId}-stream` }),
          epoch,
        })),
      );
      const { columns } = appendColumnsOf(batch);
      let others: unknown[] = [];
      const run = statementsRunBy(() => {
        others = [...log.append(columns).others];
      });
      expect(others.filter((o) => o !== undefined)).toEqual([]);
      // The first client's row comes with the head (one statement); the two others', once each.
      const reads = run.filter((sql) => /^\s*SELECT/i.test(sql));
      expect(reads.filter((sql) => /\bclients\b/i.test(sql))).toHaveLength(3);
      // Nothing else is read per event: the other streams are looked up once each too.
      expect(reads).toHaveLength(1 + 2 + 2);
    } finally {
      log.close();
    }
  });
});
