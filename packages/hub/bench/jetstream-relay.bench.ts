/**
 * The JetStream relay over 100k integration events, through the whole runtime (a feed of 1000-event
 * pages, the SQLite reaction store, `integrationHandler` with a checkpoint every 500 events, each
 * page's publishes in flight together, each awaited for its PubAck), against raw JetStream
 * publishes with acks of the same messages (same subjects, bodies, headers and Nats-Msg-Id, in
 * pages of 1000 awaited together) in the same run, to a stream of their own each.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createReactionRunner,
  encodeCloudEvent,
  integrationHandler,
  toCloudEvent,
  type ConfirmedEvent,
  type EventFeed,
} from '@eventloom/core';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, headers as natsHeaders } from '@nats-io/transport-node';
import { expect, it } from 'vitest';
import { reportBench } from '../../../bench/node.ts';
import { createJetStreamRelay } from '../src/integration/jetstream-relay.ts';
import { natsUnavailable, TEST_NATS_URL, uniqueName } from '../src/integration/nats-test-server.ts';
import { createSqliteReactionStore } from '../src/reactions/sqlite-reaction-store.ts';

const EVENTS = 100_000;
const PAGE = 1_000;
const why = await natsUnavailable();

function events(): ConfirmedEvent[] {
  return Array.from({ length: EVENTS }, (_, i) => ({
    id: `0190a1b2-c3d4-7e5f-8a6b-${String(i).padStart(12, '0')}`,
    type: 'order.shipped',
    version: 1,
    kind: 'integration',
    stream: `order:o${i % 500}`,
    data: { orderId: `o${i}`, carrier: 'ups', items: 3 },
    meta: { correlationId: `c${i}` },
    clientId: 'shop',
    clientSeq: i + 1,
    hlc: '001732700000007-0000000000-shop',
    position: i + 1,
    streamVersion: 1,
    recordedAt: '2026-11-27T10:00:07.000Z',
  }));
}

it.skipIf(why !== undefined)(
  'relays integration events to JetStream at least half as fast as raw publishes with acks',
  async () => {
    const all = events();
    const feed: EventFeed = {
      async *read(after) {
        for (let from = after; from < all.length; from += PAGE) yield all.slice(from, from + PAGE);
      },
    };
    const nc = await connect({ servers: TEST_NATS_URL });
    const jsm = await jetstreamManager(nc);
    const js = jetstream(nc);
    const dir = mkdtempSync(join(tmpdir(), 'eventloom-bench-js-'));
    const streams: string[] = [];
    try {
      const relayRun = async () => {
        const stream = uniqueName('BENCH_RELAY');
        streams.push(stream);
        const relay = await createJetStreamRelay({
          connection: nc,
          stream,
          subjectPrefix: stream.toLowerCase(),
        });
        const store = createSqliteReactionStore({ path: join(dir, `${stream}.db`) });
        const runner = createReactionRunner({
          store,
          feed,
          scheduler: { now: Date.now, schedule: () => () => undefined },
          handlers: [integrationHandler(relay, { name: 'jetstream', checkpointEvery: 500 })],
        });
        const t = performance.now();
        await runner.start();
        await runner.settled(EVENTS);
        const ms = performance.now() - t;
        await runner.stop();
        await store.close();
        relay.close();
        expect((await jsm.streams.info(stream)).state.messages).toBe(EVENTS);
        return ms;
      };
      const rawRun = async () => {
        const stream = uniqueName('BENCH_RAW');
        streams.push(stream);
        const prefix = stream.toLowerCase();
        await jsm.streams.add({ name: stream, subjects: [`${prefix}.>`] });
        const t = performance.now();
        for (let from = 0; from < EVENTS; from += PAGE) {
          const acks = [];
          for (const event of all.slice(from, from + PAGE)) {
            const message = encodeCloudEvent(toCloudEvent(event), 'structured');
            const h = natsHeaders();
            for (const [name, value] of Object.entries(message.headers)) h.set(name, value);
            acks.push(js.publish(`${prefix}.${event.type}`, message.body, { msgID: event.id, headers: h }));
          }
          await Promise.all(acks);
        }
        const ms = performance.now() - t;
        expect((await jsm.streams.info(stream)).state.messages).toBe(EVENTS);
        return ms;
      };
      let relayMs = Infinity;
      let rawMs = Infinity;
      for (let round = 0; round < 2; round++) {
        rawMs = Math.min(rawMs, await rawRun());
        relayMs = Math.min(relayMs, await relayRun());
        for (const stream of streams.splice(0)) await jsm.streams.delete(stream).catch(() => undefined);
      }
      const result = await reportBench({
        name: 'jetstream-relay',
        value: EVENTS / (relayMs / 1000),
        unit: 'events/s',
        baseline: EVENTS / (rawMs / 1000),
        target: 0.5,
        better: 'higher',
      });
      expect(result.pass).toBe(true);
    } finally {
      for (const stream of streams) await jsm.streams.delete(stream).catch(() => undefined);
      await nc.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
