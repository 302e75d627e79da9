/**
 * What the Postgres benchmarks share: a database of their own, hub nodes on one log, the ingest
 * clients in a child process, the raw baseline (batched inserts into the same schema with the
 * same driver), and the CPU time the server's backends spent (from /proc).
 */
import { readFile } from 'node:fs/promises';
import type { EventEnvelope } from '@eventloom/protocol';
import postgres from 'postgres';
import { pino } from 'pino';
import { jwtAuthenticator } from '../src/hub/authenticator.ts';
import { createHub, type Hub } from '../src/hub/create-hub.ts';
import { connectRedisCluster, type RedisCluster } from '../src/hub/redis-cluster.ts';
import { TEST_SECRET } from '../src/hub/test-kit.ts';
import type { EventStore } from '../src/store/event-store.ts';
import { INSERT_CHUNK } from '../src/store/postgres-append.ts';
import { createPostgresStore } from '../src/store/postgres-store.ts';
import { committedJson, envelopeJson } from '../src/store/committed-json.ts';

export { createTestDatabase } from '../src/store/postgres-test-database.ts';
export { startIngestClients } from './hub-ingest-clients-kit.ts';

/** Hub nodes on one Postgres log (one schema), each with its own store and pool, optionally with Redis. */
export async function startNodes(
  url: string,
  schema: string,
  count: number,
  redis?: string,
): Promise<{ hubs: Hub[]; stores: EventStore[]; close(): Promise<void> }> {
  const hubs: Hub[] = [];
  const stores: EventStore[] = [];
  const buses: RedisCluster[] = [];
  for (let i = 0; i < count; i++) {
    const store = await createPostgresStore({ url, schema, poolSize: 4 });
    const bus =
      redis === undefined
        ? undefined
        : await connectRedisCluster(redis, pino({ level: 'silent' }), {
            key: `bench#${await store.hubId()}`,
          });
    if (bus !== undefined) buses.push(bus);
    stores.push(store);
    hubs.push(
      await createHub({
        store,
        auth: jwtAuthenticator({ secret: TEST_SECRET }),
        logger: pino({ level: 'silent' }),
        limits: { rateBurst: 1e9, ratePerSecond: 1e9 },
        ...(bus === undefined ? {} : { cluster: bus }),
      }),
    );
  }
  return {
    hubs,
    stores,
    async close() {
      for (const hub of hubs) await hub.close();
      for (const bus of buses) await bus.close();
      for (const store of stores) await store.close();
    },
  };
}

/**
 * The raw baseline: the same rows as the hub would commit (positions, stream versions, JSON text)
 * inserted into the store's own `eventloom_events` table (made by its migrations, in `schema`),
 * one transaction per batch (each client's push: a batch is acked after its own commit), with the
 * same driver and the same statements (`unnest`, INSERT_CHUNK rows each), under the server's own
 * durability settings (`synchronous_commit` as configured, as for the store). Nothing else: what
 * the store does beyond (the lock, judging, counters, NOTIFY, group commit) is what the ratio
 * measures. Returns the ms taken.
 */
export async function rawInsert(
  url: string,
  schema: string,
  batches: readonly EventEnvelope[][],
): Promise<number> {
  const store = await createPostgresStore({ url, schema, pollIntervalMs: 0 });
  await store.close();
  const sql = postgres(url, { max: 4, onnotice: () => undefined, connection: { search_path: schema } });
  const versions = new Map<string, number>();
  let position = 0;
  const recordedAt = new Date().toISOString();
  const rows = batches.map((batch) =>
    batch.map((event) => {
      const version = (versions.get(event.stream) ?? 0) + 1;
      versions.set(event.stream, version);
      position++;
      return {
        position,
        id: event.id,
        stream: event.stream,
        version,
        text: committedJson(envelopeJson(event), position, version, recordedAt),
      };
    }),
  );
  const started = performance.now();
  for (const batch of rows) {
    // In statements of INSERT_CHUNK rows, pipelined, as the store writes them: its fastest form.
    await sql.begin((tx) => {
      const statements = [];
      for (let start = 0; start < batch.length; start += INSERT_CHUNK) {
        const chunk = batch.slice(start, start + INSERT_CHUNK);
        statements.push(tx`
          INSERT INTO eventloom_events (position, id, stream, stream_version, event)
          SELECT * FROM unnest(${chunk.map((r) => r.position)}::bigint[], ${chunk.map((r) => r.id)}::text[],
                               ${chunk.map((r) => r.stream)}::text[], ${chunk.map((r) => r.version)}::integer[],
                               ${chunk.map((r) => r.text)}::text[])`);
      }
      return Promise.all(statements);
    });
  }
  const ms = performance.now() - started;
  await sql.end();
  return ms;
}

/** CPU seconds (user + system) that the server's processes have used so far, from /proc (0 where unreadable). */
export async function postgresCpuSeconds(url: string): Promise<number> {
  const sql = postgres(url, { max: 1, onnotice: () => undefined });
  let pids: number[];
  try {
    // Every backend and the background processes of the server (WAL writer, checkpointer…).
    pids = (await sql<{ pid: number }[]>`SELECT pid FROM pg_stat_activity`).map((r) => r.pid);
  } finally {
    await sql.end();
  }
  let ticks = 0;
  for (const pid of pids) {
    try {
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // Gone, or not ours to read.
    }
  }
  return ticks / 100;
}
