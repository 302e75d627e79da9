import postgres from 'postgres';
import { sampleEnvelope } from '@eventloom/protocol/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventStore, HeadChange } from './event-store.ts';
import { describeEventStore } from './describe-event-store.ts';
import { migratePostgres, postgresMigrations } from './postgres-migrations.ts';
import { createPostgresStore } from './postgres-store.ts';
import {
  createTestDatabase,
  postgresUnavailable,
  requirePostgres,
  testSchemas,
  type TestDatabase,
} from './postgres-test-database.ts';

const run = requirePostgres(await postgresUnavailable());

describe.runIf(run)('Postgres store', () => {
  const databases: TestDatabase[] = [];
  const schemas = testSchemas();
  const opened = new WeakMap<EventStore, { url: string; schema?: string }>();
  const open = async (url: string, schema?: string) => {
    const where = schema === undefined ? { url } : { url, schema };
    const store = await createPostgresStore({ ...where, poolSize: 4 });
    opened.set(store, where);
    return store;
  };
  const fresh = async () => {
    const db = await createTestDatabase();
    databases.push(db);
    return db;
  };
  afterAll(async () => {
    await schemas.drop();
    for (const db of databases) await db.drop();
  }, 30_000);

  describeEventStore(
    'postgres',
    async () => {
      const { url, schema } = await schemas.next();
      return open(url, schema);
    },
    {
      reopen: async (store) => {
        await store.close();
        const { url, schema } = opened.get(store)!;
        return open(url, schema);
      },
      propertyRuns: 10,
    },
  );

  describe('createPostgresStore', () => {
    let db: TestDatabase;
    beforeAll(async () => {
      db = await fresh();
    });

    it('shares one log between stores on the same database: positions gapless across writers', async () => {
      const stores = await Promise.all([open(db.url), open(db.url), open(db.url)]);
      try {
        const writers = stores.map((store, w) =>
          (async () => {
            for (let i = 1; i <= 20; i++) {
              await store.append([
                { event: sampleEnvelope({ clientId: `writer-${w}`, clientSeq: i, stream: `s:${i % 3}` }) },
              ]);
            }
          })(),
        );
        await Promise.all(writers);
        const page = await stores[0]!.read({ from: 0, limit: 1000 });
        expect(page.events.map((e) => e.position)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
        const ids = new Set(await Promise.all(stores.map((s) => s.hubId())));
        expect(ids.size).toBe(1);
      } finally {
        await Promise.all(stores.map((s) => s.close()));
      }
    });

    it('fences a client’s older session on one store from the claim made on another: the claim counts all it stored', async () => {
      const [older, newer] = await Promise.all([open(db.url), open(db.url)]);
      try {
        for (let round = 0; round < 5; round++) {
          const clientId = `fenced-${round}`;
          await older.claimNewClient(clientId, 'alice');
          const sent = Array.from({ length: 30 }, (_, i) =>
            sampleEnvelope({ clientId, clientSeq: i + 1, stream: `fence:${round}` }),
          );
          // The older session's pushes, one after the other through its node, while the new
          // session's hello claims the client through the other node.
          const pushed = (async () => {
            const results = [];
            for (const event of sent) results.push(...(await older.append([{ event, epoch: 1 }])));
            return results;
          })();
          await new Promise((r) => setTimeout(r, 5 * round));
          const claim = await newer.claimClient(clientId, 'alice');
          const results = await pushed;
          const stored = results.filter((r) => r.status === 'ok').length;
          expect(stored).toBe(claim.lastClientSeq);
          expect(results.slice(stored).every((r) => r.status === 'fenced')).toBe(true);
          expect(claim.epoch).toBe(2);
          // The new session's own next seq is free: nothing of the older one lands after it.
          const next = sampleEnvelope({
            clientId,
            clientSeq: claim.lastClientSeq + 1,
            stream: `fence:${round}`,
          });
          expect((await newer.append([{ event: next, epoch: 2 }]))[0]!.status).toBe('ok');
          expect((await older.append([{ event: sent.at(-1)!, epoch: 1 }]))[0]!.status).toBe('fenced');
        }
      } finally {
        await Promise.all([older.close(), newer.close()]);
      }
    });

    it('tells a watcher of commits made through another store on the same database', async () => {
      const [a, c] = await Promise.all([open(db.url), open(db.url)]);
      let w: EventStore | undefined;
      try {
        const seen: HeadChange[] = [];
        c.watchHead((change) => seen.push(change));
        await new Promise((r) => setTimeout(r, 200));
        const before = await a.head();
        await a.append([{ event: sampleEnvelope({ clientId: 'watched', clientSeq: 1 }) }]);
        await expect.poll(() => seen.some((s) => s.head === before + 1), { timeout: 5_000 }).toBe(true);
        // The writer hands its own commits over; the other node is told the head only. (A writer
        // that also listens may hear its own NOTIFY, or poll the head, before its append's answer
        // is handled: then its watchers are told the head only and read the events back. The
        // handover is checked on a writer that does not listen, where nothing can come first.)
        // Opened at the head, as a node is: its commit follows the head it knows.
        w = await createPostgresStore({ url: db.url, poolSize: 4, pollIntervalMs: 0 });
        const own: HeadChange[] = [];
        w.watchHead((change) => own.push(change));
        await w.append([{ event: sampleEnvelope({ clientId: 'watched', clientSeq: 2 }) }]);
        expect(
          own
            .at(-1)
            ?.events?.()
            .map((e) => e.clientSeq),
        ).toEqual([2]);
      } finally {
        await Promise.all([a.close(), c.close(), w?.close()]);
      }
    });

    it('records its migrations and refuses a database of a newer schema', async () => {
      const own = await fresh();
      const store = await open(own.url);
      await store.close();
      const sql = postgres(own.url, { max: 1, onnotice: () => undefined });
      try {
        const rows = await sql<
          { version: number }[]
        >`SELECT version FROM eventloom_migrations ORDER BY version`;
        expect(rows.map((r) => r.version)).toEqual(postgresMigrations.map((m) => m.version));
        expect(await migratePostgres(sql)).toEqual({
          from: postgresMigrations.length,
          to: postgresMigrations.length,
        });
        await sql`INSERT INTO eventloom_migrations (version, name) VALUES (${postgresMigrations.length + 1}, 'from the future')`;
      } finally {
        await sql.end();
      }
      await expect(open(own.url)).rejects.toMatchObject({ code: 'store', message: /newer/ });
    });

    it('fails with unavailable when the server cannot be reached', async () => {
      await expect(
        createPostgresStore({ url: 'postgres://postgres@127.0.0.1:1/none', connectTimeoutSeconds: 2 }),
      ).rejects.toMatchObject({ code: 'unavailable' });
    });
  });
});
