import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectNats } from '@eventloom/hub/jetstream';
import {
  natsUnavailable,
  requireNats,
  startOwnNatsServer,
  uniqueName,
  type OwnNatsServer,
} from '@eventloom/hub/testing';
import type { EventEnvelope, PushAck, Welcome } from '@eventloom/protocol';
import { AckPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
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

const TOTAL = 240;
const run = requireNats(await natsUnavailable());

describe.runIf(run)('eventloom-hub --nats across hub SIGKILLs and a NATS restart', () => {
  let dir: string | undefined;
  let nats: OwnNatsServer | undefined;
  let hub: HubProcess | undefined;
  afterAll(async () => {
    if (hub !== undefined) await killHub(hub);
    await nats?.dispose();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('every integration event reaches a JetStream consumer exactly once; while NATS is down they wait', async () => {
    dir = await mkdtemp(join(tmpdir(), 'eventloom-jetstream-'));
    nats = await startOwnNatsServer();
    const stream = uniqueName('EL_CRASH');
    const prefix = stream.toLowerCase();
    // Integration events are not writable by ordinary clients: the operator's rule lets the
    // shop's service (its token's sub) push them.
    const rules = join(dir, 'rules.json');
    await writeFile(
      rules,
      JSON.stringify({
        rules: [{ when: { sub: 'shop' }, streams: ['order:*'], kinds: ['domain', 'integration'] }],
      }),
    );
    const args = hubArgs(join(dir, 'events.db'), [
      '--nats',
      nats.url,
      '--nats-stream',
      stream,
      '--rules',
      rules,
    ]);
    const env = { EVENTLOOM_NATS_SUBJECT_PREFIX: prefix };
    const start = async () => {
      hub = await spawnHub(args, env);
      return hub.url;
    };
    const events: EventEnvelope[] = Array.from({ length: TOTAL }, (_, i) => ({
      ...eventOf('shop', i + 1, `order:${i % 5}`),
      type: 'order.shipped',
      kind: 'integration',
      data: { n: i + 1 },
    }));
    let acked = 0;
    /** Pushes the events up to `until` in batches of 20 over the hub at `url` (the device's outbox). */
    const pushUntil = async (url: string, until: number) => {
      const socket = await connectTo(url, await tokenFor('shop'));
      try {
        const welcome = await call<Welcome>(socket, 'hello', {
          protocol: 1,
          clientId: 'shop',
          lastPosition: 0,
          subscriptions: [],
          schemaFingerprint: null,
        });
        acked = Math.max(acked, welcome.lastClientSeq);
        while (acked < until) {
          const ack = await call<PushAck>(socket, 'push', {
            events: events.slice(acked, Math.min(until, acked + 20)),
          });
          for (const result of ack.results) {
            if (result.status === 'rejected') throw new Error(`${result.code}: ${result.message}`);
            acked++;
          }
        }
      } finally {
        socket.close();
      }
    };
    const client = await connectNats(nats.url, 'test-reader');
    const stored = async () => {
      try {
        return (await (await jetstreamManager(client)).streams.info(stream)).state.messages;
      } catch {
        return 0;
      }
    };
    const waitFor = async (count: number, what: string) => {
      for (const deadline = Date.now() + 30_000; (await stored()) < count;) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${await stored()} stored`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };

    const first = await start();
    await pushUntil(first, 80);
    // SIGKILL while the relay is at work (some of the 80 may be in flight, unacknowledged).
    await killHub(hub!);
    const second = await start();
    await pushUntil(second, 120);
    await waitFor(120, 'the first 120');
    // NATS goes down: the hub keeps taking events, the relay waits.
    await nats.stop();
    await pushUntil(hub!.url, 180);
    await new Promise((r) => setTimeout(r, 500));
    await nats.start();
    await waitFor(180, 'the events that waited for NATS');
    await pushUntil(hub!.url, TOTAL);
    await killHub(hub!);
    await start();
    await waitFor(TOTAL, 'all of them');
    await new Promise((r) => setTimeout(r, 500));

    const jsm = await jetstreamManager(client);
    const info = await jsm.consumers.add(stream, { ack_policy: AckPolicy.None });
    const consumer = await jetstream(client).consumers.get(stream, info.name);
    const ids: string[] = [];
    const messages = await consumer.fetch({ max_messages: TOTAL + 50, expires: 3_000 });
    for await (const msg of messages) ids.push((msg.json() as { id: string }).id);
    expect(ids.length).toBe(TOTAL);
    expect(new Set(ids).size).toBe(TOTAL);
    expect([...ids].sort()).toEqual(events.map((e) => e.id).sort());
    expect((await jsm.streams.info(stream)).state.messages).toBe(TOTAL);
    await client.close();
  }, 120_000);
});
