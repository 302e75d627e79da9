import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createPostgresReactionStore } from '@eventloom/hub/postgres';
import {
  COMPLETED_ORDER,
  createTestDatabase,
  postgresUnavailable,
  requirePostgres,
  type TestDatabase,
} from '@eventloom/hub/testing';
import type { CommittedEvent, PullResult, PushAck, Welcome } from '@eventloom/protocol';
import { afterAll, describe, expect, it } from 'vitest';
import {
  call,
  connectTo,
  eventOf,
  hubArgs,
  killHub,
  spawnHub,
  tokenFor,
  type HubProcess,
} from './spawn-hub.ts';

const FIXTURE = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'order-reactions.ts');
const FAILED_AT_SHIPMENT = [
  ...COMPLETED_ORDER.slice(0, 6),
  'shipment.failed',
  'payment.refund',
  'stock.release',
  'order.cancelled',
];
const run = requirePostgres(await postgresUnavailable());

/** Which node (its port) runs the reactions, as a node's /metrics says; undefined while none does. */
async function runnerPort(hub: HubProcess): Promise<string | undefined> {
  const text = await (await fetch(`${hub.url}/metrics`)).text();
  return /eventloom_hub_reaction_runner\{reaction="order",node="[^"]*:(\d+)",epoch="\d+"\} 1/.exec(text)?.[1];
}

describe.runIf(run)('three eventloom-hub nodes on one Postgres log, with a handler and a saga', () => {
  let db: TestDatabase | undefined;
  const nodes: HubProcess[] = [];
  afterAll(async () => {
    for (const node of nodes) await killHub(node);
    await db?.drop();
  });

  it('handles every event exactly once on one node; when it is killed another takes over within 10 s', async () => {
    db = await createTestDatabase('eventloom_cluster_reactions');
    const start = () => spawnHub(hubArgs(db!.url, ['--reactions', FIXTURE]));
    // One first (it creates the schema), then two more.
    nodes.push(await start());
    nodes.push(...(await Promise.all([start(), start()])));
    const portOf = (hub: HubProcess) => new URL(hub.url).port;

    let leaderPort: string | undefined;
    for (const deadline = Date.now() + 15_000; leaderPort === undefined && Date.now() < deadline;) {
      leaderPort = await runnerPort(nodes[1]!);
      if (leaderPort === undefined) await new Promise((r) => setTimeout(r, 100));
    }
    expect(nodes.map(portOf)).toContain(leaderPort);
    const leader = nodes.find((n) => portOf(n) === leaderPort)!;
    const others = nodes.filter((n) => n !== leader);
    // Every node's /metrics says the same.
    for (const node of nodes) expect(await runnerPort(node)).toBe(leaderPort);

    const socket = await connectTo(others[0]!.url, await tokenFor('shop'));
    await call<Welcome>(socket, 'hello', {
      protocol: 1,
      clientId: 'shop',
      lastPosition: 0,
      subscriptions: ['orders'],
      schemaFingerprint: null,
    });
    const orders = Array.from({ length: 12 }, (_, i) => ({
      id: `o${i}`,
      failAt: i % 3 === 0 ? 'shipment' : undefined,
    }));
    const expected = (o: (typeof orders)[number]) =>
      o.failAt === undefined ? COMPLETED_ORDER : FAILED_AT_SHIPMENT;
    const total = orders.reduce((n, o) => n + expected(o).length, 0);
    const ack = await call<PushAck>(socket, 'push', {
      events: orders.map((o, i) => ({
        ...eventOf('shop', i + 1, 'orders'),
        type: 'order.placed',
        data: o.failAt === undefined ? { orderId: o.id } : { orderId: o.id, failAt: o.failAt },
      })),
    });
    expect(ack.results.every((r) => r.status === 'ok')).toBe(true);
    const pullAll = async (): Promise<CommittedEvent[]> => {
      const events: CommittedEvent[] = [];
      for (let from = 0; ;) {
        const page = await call<PullResult>(socket, 'pull', { from, limit: 1000 });
        events.push(...page.events);
        if (!page.more) return events;
        from = page.until;
      }
    };
    const pullUntil = async (done: (log: CommittedEvent[]) => boolean) => {
      for (const deadline = Date.now() + 60_000; ;) {
        const log = await pullAll();
        if (done(log)) return log;
        if (Date.now() > deadline) throw new Error(`timed out: ${log.length} events`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    // The reactions are part way; the runner dies.
    await pullUntil((log) => log.length >= 30);
    leader.child.kill('SIGKILL');
    await leader.exited;
    const killedAt = Date.now();
    let next: string | undefined;
    while (next === undefined || next === leaderPort) {
      next = await runnerPort(others[0]!);
      if (Date.now() - killedAt > 10_000) throw new Error(`no takeover within 10 s (runner ${next})`);
      if (next === undefined || next === leaderPort) await new Promise((r) => setTimeout(r, 100));
    }
    expect(others.map(portOf)).toContain(next);

    const typesOf = (log: readonly CommittedEvent[], id: string) =>
      log.filter((e) => (e.data as { orderId?: string }).orderId === id).map((e) => e.type);
    const log = await pullUntil(
      (l) => l.length >= total && orders.every((o) => typesOf(l, o.id).length >= expected(o).length),
    );
    await new Promise((r) => setTimeout(r, 500));
    const settled = await pullAll();
    expect(settled).toHaveLength(total);
    for (const o of orders) expect(typesOf(settled, o.id)).toEqual(expected(o));
    expect(new Set(settled.map((e) => e.id)).size).toBe(total);
    expect(log.length).toBe(total);
    socket.close();

    const store = await createPostgresReactionStore({ url: db.url });
    try {
      const instances = await store.transaction((tx) => tx.listSagas({ saga: 'order' }));
      expect(Object.fromEntries(instances.map((i) => [i.key, i.status]))).toEqual(
        Object.fromEntries(orders.map((o) => [o.id, o.failAt === undefined ? 'done' : 'compensated'])),
      );
    } finally {
      await store.close();
    }
  }, 150_000);
});
