import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describeReactionStore } from '@eventloom/core/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { createSqliteStore } from '../store/sqlite-store.ts';
import { sagaInstance } from './saga-instance.test-kit.ts';
import { createSqliteReactionStore, type SqliteReactionStore } from './sqlite-reaction-store.ts';

const dir = mkdtempSync(join(tmpdir(), 'eventloom-reactions-'));
const opened: SqliteReactionStore[] = [];
afterAll(async () => {
  for (const store of opened) await store.close();
  rmSync(dir, { recursive: true, force: true });
});

function open(name: string): SqliteReactionStore {
  const store = createSqliteReactionStore({ path: join(dir, `${name}.db`) });
  opened.push(store);
  return store;
}

describeReactionStore('sqlite', open);

describe('createSqliteReactionStore', () => {
  it('opens its file in WAL mode with synchronous=FULL, at the latest schema version', async () => {
    const store = open('pragmas');
    await store.transaction((tx) => tx.putCheckpoint('h', { position: 1, recentIds: [] }));
    const db = new Database(join(dir, 'pragmas.db'), { readonly: true });
    try {
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(db.pragma('user_version', { simple: true })).toBe(1);
    } finally {
      db.close();
    }
  });

  it('refuses the event log’s file and a file of another application', async () => {
    const events = await createSqliteStore({ path: join(dir, 'events.db') });
    await events.close();
    expect(() => createSqliteReactionStore({ path: join(dir, 'events.db') })).toThrow(
      /not an Eventloom reaction store/,
    );
    const foreign = new Database(join(dir, 'foreign.db'));
    foreign.exec('CREATE TABLE t (x)');
    foreign.close();
    expect(() => createSqliteReactionStore({ path: join(dir, 'foreign.db') })).toThrow(
      /not an Eventloom reaction store/,
    );
  });

  it('refuses a file whose schema is newer than it knows, and leaves it alone', async () => {
    await createSqliteReactionStore({ path: join(dir, 'newer.db') }).close();
    const raw = new Database(join(dir, 'newer.db'));
    raw.pragma('user_version = 2');
    raw.close();
    expect(() => createSqliteReactionStore({ path: join(dir, 'newer.db') })).toThrow(
      /reaction store schema version 2, newer than this @eventloom\/hub knows \(1\)/,
    );
    const check = new Database(join(dir, 'newer.db'), { readonly: true });
    expect(check.pragma('user_version', { simple: true })).toBe(2);
    check.close();
  });

  it('counts saga instances by saga and status', async () => {
    const store = open('counts');
    await store.transaction(async (tx) => {
      await tx.putSaga(sagaInstance('a/1', 'active'));
      await tx.putSaga(sagaInstance('a/2', 'active'));
      await tx.putSaga(sagaInstance('a/3', 'done'));
      await tx.putSaga(sagaInstance('b/1', 'done'));
    });
    expect(await store.sagaCounts()).toEqual([
      { saga: 'a', status: 'active', count: 2 },
      { saga: 'a', status: 'done', count: 1 },
      { saga: 'b', status: 'done', count: 1 },
    ]);
  });

  it('fails transactions with store-closed once closed, after the one in flight', async () => {
    const store = open('closing');
    const inFlight = store.transaction((tx) => tx.putCheckpoint('h', { position: 1, recentIds: [] }));
    const closing = store.close();
    await expect(inFlight).rejects.toMatchObject({ code: 'store-closed' });
    await closing;
    await expect(store.transaction((tx) => tx.getCheckpoint('h'))).rejects.toMatchObject({
      code: 'store-closed',
    });
  });
});
