/**
 * cluster-ingest: the hub-ingest-postgres load (5 clients, 100k events, batches of 1000) spread
 * over three hub nodes on one Postgres log, against one node on the same Postgres, same run,
 * alternating, best of each; ratio in events/s, target ≥ 0.8×. The three nodes run in this one
 * process (one event loop) and the machine has two cores: this shows what coordinating writers
 * costs (the append lock, reading each other's commits back), not the scale-up of three
 * machines. Prints the CPU time per event of the nodes and of the Postgres server.
 */
import { afterAll, expect, it } from 'vitest';
import { reportBench } from '../../../bench/node.ts';
import { timeIt } from '../../../bench/report.ts';
import {
  createTestDatabase,
  postgresCpuSeconds,
  startIngestClients,
  startNodes,
} from './postgres-bench-kit.ts';

const CLIENTS = 5;
const EVENTS = 100_000;
const BATCH = 1000;
const ROUNDS = 2;

const db = await createTestDatabase('eventloom_bench');
afterAll(() => db.drop(), 60_000);

it('cluster-ingest', { timeout: 900_000 }, async () => {
  const perClient = EVENTS / CLIENTS;
  const best = { 1: Infinity, 3: Infinity } as Record<number, number>;
  const cpu = { 1: { node: Infinity, pg: Infinity }, 3: { node: Infinity, pg: Infinity } } as Record<
    number,
    { node: number; pg: number }
  >;
  for (let round = 0; round < ROUNDS; round++) {
    for (const count of [1, 3]) {
      const nodes = await startNodes(db.url, `n${count}_${round}`, count);
      // Every node has a subscriber-free feed: each still follows the head (reads nothing back).
      const clients = await startIngestClients(
        nodes.hubs.map((h) => h.url),
        CLIENTS,
        perClient,
        BATCH,
      );
      const pgBefore = await postgresCpuSeconds(db.url);
      const cpuBefore = process.cpuUsage();
      let acked = 0;
      const ms = await timeIt(async () => void (acked = await clients.run()));
      const used = process.cpuUsage(cpuBefore);
      const pgUsed = (await postgresCpuSeconds(db.url)) - pgBefore;
      expect(acked).toBe(EVENTS);
      expect(await nodes.stores[0]!.head()).toBe(EVENTS);
      await nodes.close();
      best[count] = Math.min(best[count]!, ms);
      cpu[count] = {
        // µs of CPU per event, of one node (the process holds all of them: its time over the count).
        node: Math.min(cpu[count]!.node, (used.user + used.system) / count / EVENTS),
        pg: Math.min(cpu[count]!.pg, (pgUsed * 1e6) / EVENTS),
      };
    }
  }
  for (const count of [1, 3]) {
    console.log(
      `[bench] cluster-ingest, ${count} node(s): ${Math.round(EVENTS / (best[count]! / 1000))} events/s; ` +
        `CPU per event: ${cpu[count]!.node.toFixed(1)} µs per node, ${cpu[count]!.pg.toFixed(1)} µs in Postgres`,
    );
  }
  await reportBench({
    name: 'cluster-ingest',
    value: EVENTS / (best[3]! / 1000),
    unit: 'events/s',
    baseline: EVENTS / (best[1]! / 1000),
    target: 0.8,
    better: 'higher',
  });
});
