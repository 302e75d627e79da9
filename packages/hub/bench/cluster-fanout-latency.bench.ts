/**
 * cluster-fanout-latency: one client appends through node A, one event at a time; a subscriber on
 * node A and one on node C (same Postgres log, Redis bus) each time the push to their `events`.
 * The same-node delivery (the committed batch handed to the feed) is the baseline of the
 * cross-node one (NOTIFY wakes C, which reads by position), measured on the same appends.
 * Reports p50 (target ≤ 1.5×) and p99 (target ≤ 2×) as two results.
 */
import type { LiveEvents } from '@eventloom/protocol';
import { afterAll, expect, it } from 'vitest';
import { reportBench } from '../../../bench/node.ts';
import { percentile } from '../../../bench/report.ts';
import { connectClient, hello, makeEvent, request, signToken } from '../src/hub/test-kit.ts';
import { createTestDatabase, startNodes } from './postgres-bench-kit.ts';

const APPENDS = 1_000;
const WARMUP = 50;
const REDIS = process.env['EVENTLOOM_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';

const db = await createTestDatabase('eventloom_bench');
afterAll(() => db.drop(), 60_000);

it('cluster-fanout-latency', { timeout: 600_000 }, async () => {
  const nodes = await startNodes(db.url, 'fanout', 2, REDIS);
  const [a, c] = nodes.hubs as [(typeof nodes.hubs)[0], (typeof nodes.hubs)[0]];
  const connect = async (url: string, id: string, subscriptions: string[]) => {
    const socket = await connectClient(url, { token: await signToken(id) });
    await hello(socket, id, subscriptions);
    return socket;
  };
  const writer = await connect(a.url, 'writer', []);
  const sameNode = await connect(a.url, 'sub-a', ['*']);
  const otherNode = await connect(c.url, 'sub-c', ['*']);
  const arrived = { same: new Map<number, number>(), other: new Map<number, number>() };
  sameNode.on('events', (m: LiveEvents) =>
    m.events.forEach((e) => arrived.same.set(e.clientSeq, performance.now())),
  );
  otherNode.on('events', (m: LiveEvents) =>
    m.events.forEach((e) => arrived.other.set(e.clientSeq, performance.now())),
  );
  const sent = new Map<number, number>();
  for (let seq = 1; seq <= APPENDS + WARMUP; seq++) {
    sent.set(seq, performance.now());
    await request(writer, 'push', { events: [makeEvent('writer', seq)] });
    // Both deliveries of this append before the next: one event in flight at a time.
    while (!arrived.same.has(seq) || !arrived.other.has(seq)) await new Promise((r) => setImmediate(r));
  }
  const latencies = (at: Map<number, number>) =>
    [...sent].filter(([seq]) => seq > WARMUP).map(([seq, t]) => at.get(seq)! - t);
  const same = latencies(arrived.same);
  const other = latencies(arrived.other);
  expect(other).toHaveLength(APPENDS);
  for (const socket of [writer, sameNode, otherNode]) socket.disconnect();
  await nodes.close();
  for (const [p, target] of [
    [50, 1.5],
    [99, 2],
  ] as const) {
    await reportBench({
      name: `cluster-fanout-latency-p${p}`,
      value: round(percentile(other, p)),
      unit: 'ms',
      baseline: round(percentile(same, p)),
      target,
      better: 'lower',
    });
  }
});

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
