import type { Checkpoint, ReactionTransaction } from '@eventloom/core';
import { describeReactionStore } from '@eventloom/core/testing';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import {
  createTestDatabase,
  postgresUnavailable,
  requirePostgres,
  type TestDatabase,
} from '../store/postgres-test-database.ts';
import { createPostgresReactionStore, type PostgresReactionStore } from './postgres-reaction-store.ts';
import { sagaInstance } from './saga-instance.test-kit.ts';

const run = requirePostgres(await postgresUnavailable());

const opened: PostgresReactionStore[] = [];
let database: Promise<TestDatabase> | undefined;
const schemas = new Map<string, string>();
afterAll(async () => {
  for (const store of opened) await store.close();
  if (database !== undefined) await (await database).drop();
});

async function open(name: string): Promise<PostgresReactionStore> {
  database ??= createTestDatabase('eventloom_reactions');
  if (!schemas.has(name)) schemas.set(name, `r_${schemas.size + 1}`);
  const store = await createPostgresReactionStore({ url: (await database).url, schema: schemas.get(name)! });
  opened.push(store);
  return store;
}

describe.runIf(run)('Postgres reaction store', () => {
  describeReactionStore('postgres', open);

  it('fences a writer whose lease moved on, and lets the new holder write', async () => {
    const store = await open('fencing');
    const first = await store.takeLease('reactions', 'node-a');
    const old = store.fenced('reactions', first);
    await old.transaction((tx) => tx.putCheckpoint('h', { position: 1, recentIds: [] }));
    const second = await store.takeLease('reactions', 'node-b');
    expect(second).toBe(first + 1);
    await expect(
      old.transaction((tx) => tx.putCheckpoint('h', { position: 99, recentIds: [] })),
    ).rejects.toMatchObject({
      code: 'conflict',
      message: expect.stringContaining('node-b'),
    });
    await store
      .fenced('reactions', second)
      .transaction((tx) => tx.putCheckpoint('h', { position: 2, recentIds: [] }));
    expect(await store.transaction((tx) => tx.getCheckpoint('h'))).toEqual({ position: 2, recentIds: [] });
  });

  it('fences transactions that read, and those that write nothing, as well as those that only write', async () => {
    const store = await open('fencing-reads');
    const first = await store.takeLease('reactions', 'node-a');
    const old = store.fenced('reactions', first);
    await old.transaction((tx) => tx.putCheckpoint('h', { position: 1, recentIds: ['e1'] }));
    await store.takeLease('reactions', 'node-b');
    const conflict = { code: 'conflict', message: expect.stringContaining('node-b') };
    await expect(
      old.transaction(async (tx) => {
        await tx.putSaga(sagaInstance('s/1', 'active'));
        const checkpoint = await tx.getCheckpoint('h');
        await tx.putCheckpoint('h', { position: checkpoint!.position + 1, recentIds: [] });
      }),
    ).rejects.toMatchObject(conflict);
    await expect(old.transaction((tx) => tx.getCheckpoint('h'))).rejects.toMatchObject(conflict);
    await expect(old.transaction(async () => 'nothing')).rejects.toMatchObject(conflict);
    await store.transaction(async (tx) => {
      expect(await tx.getCheckpoint('h')).toEqual({ position: 1, recentIds: ['e1'] });
      expect(await tx.getSaga('s/1')).toBeUndefined();
    });
  });

  it('fails the whole transaction when one of its writes fails, whether it reads or not', async () => {
    const store = await open('failing-write');
    const fenced = store.fenced('reactions', await store.takeLease('reactions', 'node-a'));
    const badCheckpoint = { position: -1, recentIds: [] };
    const bodies: ((tx: ReactionTransaction) => Promise<unknown>)[] = [
      // Only writes (one batch), the failing one in the middle.
      async (tx) => {
        await tx.putSaga(sagaInstance('s/1', 'active'));
        await tx.putCheckpoint('h', badCheckpoint);
        await tx.putApplied('h', 'e1');
      },
      // Writes, then a read after the failing one.
      async (tx) => {
        await tx.putSaga(sagaInstance('s/1', 'active'));
        await tx.putCheckpoint('h', badCheckpoint);
        return tx.hasApplied('h', 'e1');
      },
      // A read, then writes sent in the open transaction, the last one failing.
      async (tx) => {
        await tx.getSaga('s/1');
        await tx.putApplied('h', 'e1');
        await tx.putCheckpoint('h', badCheckpoint);
      },
    ];
    for (const writer of [store, fenced]) {
      for (const body of bodies) {
        await expect(writer.transaction(body)).rejects.toMatchObject({
          code: 'store',
          message: expect.stringContaining('check'),
        });
      }
    }
    await store.transaction(async (tx) => {
      expect(await tx.getSaga('s/1')).toBeUndefined();
      expect(await tx.getCheckpoint('h')).toBeUndefined();
      expect(await tx.hasApplied('h', 'e1')).toBe(false);
    });
  });

  it('sends statements in the order they were issued: before the transaction opens, while it opens, once open', async () => {
    const store = await open('issue-order');
    const fenced = store.fenced('order', await store.takeLease('order', 'node-a'));
    for (const writer of [store, fenced]) {
      await writer.transaction((tx) => tx.putCheckpoint('h', at(1)));
      await writer.transaction(async (tx) => {
        // The first read opens the transaction; the write is issued while it opens.
        const first = tx.getCheckpoint('h');
        const put = tx.putCheckpoint('h', at(2));
        const second = tx.getCheckpoint('h');
        expect(await first).toEqual(at(1));
        await put;
        expect(await second).toEqual(at(2));
        // Open now: a write issued right after a read still goes after it.
        const third = tx.getCheckpoint('h');
        const next = tx.putCheckpoint('h', at(3));
        expect(await third).toEqual(at(2));
        await next;
        expect(await tx.getCheckpoint('h')).toEqual(at(3));
      });
    }
  });

  it('lets each read see exactly the writes issued before it, whichever of them are awaited', async () => {
    const store = await open('issue-order-property');
    const fenced = store.fenced('order', await store.takeLease('order', 'node-a'));
    const op = fc.record({ put: fc.boolean(), wait: fc.boolean() });
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 10 }), fc.boolean(), async (ops, isFenced) => {
        const consumer = `c${++run}`;
        const seen: Promise<unknown>[] = [];
        const expected: (Checkpoint | undefined)[] = [];
        await (isFenced ? fenced : store).transaction(async (tx) => {
          let last: Checkpoint | undefined;
          for (const [i, { put, wait }] of ops.entries()) {
            const issued = put ? tx.putCheckpoint(consumer, (last = at(i))) : tx.getCheckpoint(consumer);
            if (!put) {
              seen.push(issued);
              expected.push(last);
            }
            if (wait) await issued;
            else issued.catch(() => undefined);
          }
          expect(await Promise.all(seen)).toEqual(expected);
        });
      }),
      { numRuns: 40 },
    );
  });

  it('compresses the dedupe windows of checkpoints with lz4 when the server has it', async () => {
    const store = await open('lz4');
    const recentIds = Array.from(
      { length: 256 },
      (_, i) => `0190a1b2-c3d4-7e5f-8a6b-${String(i).padStart(12, '0')}`,
    );
    await store.transaction((tx) => tx.putCheckpoint('h', { position: 256, recentIds }));
    const [server] = await store.sql<{ lz4: boolean }[]>`
      SELECT 'lz4' = ANY(enumvals) AS lz4 FROM pg_settings WHERE name = 'default_toast_compression'`;
    const [row] = await store.sql<{ method: string | null }[]>`
      SELECT pg_column_compression(recent_ids) AS method FROM eventloom_reaction_checkpoints WHERE consumer = 'h'`;
    expect(row!.method).toBe(server?.lz4 === true ? 'lz4' : 'pglz');
    expect(await store.transaction((tx) => tx.getCheckpoint('h'))).toEqual({ position: 256, recentIds });
  });

  it('leaves the dedupe windows to pglz when the lock for lz4 is not had soon, and opens', async () => {
    const store = await open('lz4-locked');
    const [server] = await store.sql<{ lz4: boolean }[]>`
      SELECT 'lz4' = ANY(enumvals) AS lz4 FROM pg_settings WHERE name = 'default_toast_compression'`;
    if (server?.lz4 !== true) return;
    await store.sql`ALTER TABLE eventloom_reaction_checkpoints ALTER COLUMN recent_ids SET COMPRESSION pglz`;
    const compression = async () => {
      const [row] = await store.sql<{ method: string }[]>`
        SELECT attcompression AS method FROM pg_attribute
         WHERE attrelid = 'eventloom_reaction_checkpoints'::regclass AND attname = 'recent_ids'`;
      return row!.method;
    };
    // A transaction of another node reads the table until the second node has opened.
    let opened!: () => void;
    const holding = new Promise<void>((resolve) => (opened = resolve));
    let locked!: () => void;
    const lockTaken = new Promise<void>((resolve) => (locked = resolve));
    const held = store.sql.begin(async (tx) => {
      await tx`SELECT count(*) FROM eventloom_reaction_checkpoints`;
      locked();
      await holding;
    });
    await lockTaken;
    try {
      await open('lz4-locked');
      expect(await compression()).toBe('p');
    } finally {
      opened();
      await held;
    }
    await open('lz4-locked');
    expect(await compression()).toBe('l');
  });

  it('counts saga instances by saga and status', async () => {
    const store = await open('counts');
    await store.transaction(async (tx) => {
      await tx.putSaga(sagaInstance('a/1', 'active'));
      await tx.putSaga(sagaInstance('a/2', 'active'));
      await tx.putSaga(sagaInstance('b/1', 'done'));
    });
    expect(await store.sagaCounts()).toEqual([
      { saga: 'a', status: 'active', count: 2 },
      { saga: 'b', status: 'done', count: 1 },
    ]);
  });
});

/** A checkpoint at `position`. */
function at(position: number): Checkpoint {
  return { position, recentIds: [`e${position}`] };
}
