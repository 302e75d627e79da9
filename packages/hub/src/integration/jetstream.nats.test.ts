import {
  createMemoryReactionStore,
  createReactionRunner,
  createRegistry,
  defineEvent,
  integrationHandler,
  type ReactionStore,
} from '@eventloom/core';
import { createMemoryEventLog, settle } from '@eventloom/core/testing';
import { AckPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import { CloudEvent as SdkCloudEvent } from 'cloudevents';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Hub } from '../hub/create-hub.ts';
import { silentLogger, startTestHub, until, type TestHub } from '../hub/test-kit.ts';
import { startJetStreamInbound } from './jetstream-inbound.ts';
import { createJetStreamRelay } from './jetstream-relay.ts';
import { natsUnavailable, requireNats, TEST_NATS_URL, uniqueName } from './nats-test-server.ts';

const run = requireNats(await natsUnavailable());

let nc: NatsConnection;
const streams: string[] = [];
beforeAll(async () => {
  if (run) nc = await connect({ servers: TEST_NATS_URL });
});
afterAll(async () => {
  if (!run) return;
  const jsm = await jetstreamManager(nc);
  for (const stream of streams) await jsm.streams.delete(stream).catch(() => undefined);
  await nc.close();
});

/** Every message of a stream, read with an ephemeral consumer, as the SDK judges the CloudEvents. */
async function readAll(
  stream: string,
  expected: number,
): Promise<{ msgId: string; event: SdkCloudEvent<unknown> }[]> {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.consumers.add(stream, { ack_policy: AckPolicy.None });
  const consumer = await jetstream(nc).consumers.get(stream, info.name);
  const out: { msgId: string; event: SdkCloudEvent<unknown> }[] = [];
  if (expected > 0) {
    const messages = await consumer.fetch({ max_messages: expected + 10, expires: 2_000 });
    for await (const msg of messages) {
      out.push({ msgId: msg.headers?.get('Nats-Msg-Id') ?? '', event: new SdkCloudEvent(msg.json()) });
    }
  }
  await jsm.consumers.delete(stream, info.name);
  return out;
}

describe.runIf(run)('createJetStreamRelay', () => {
  it('publishes each integration event once as a CloudEvent with Nats-Msg-Id, creating the stream; a re-send is dropped', async () => {
    const stream = uniqueName('EL_RELAY');
    const prefix = stream.toLowerCase();
    streams.push(stream);
    const relay = await createJetStreamRelay({ connection: nc, stream, subjectPrefix: prefix });
    const log = createMemoryEventLog({ pageSize: 7 });
    const store = createMemoryReactionStore();
    const runner = () =>
      createReactionRunner({
        store,
        feed: log.feed,
        scheduler: { now: Date.now, schedule: (ms, task) => clearer(setTimeout(task, ms)) },
        handlers: [integrationHandler(relay, { name: 'jetstream', source: '/shop', checkpointEvery: 5 })],
      });
    const first = runner();
    await first.start();
    for (let n = 1; n <= 30; n++) {
      log.append(
        { type: 'order.shipped', data: { n }, stream: `order:o${n}`, kind: 'integration' },
        { type: 'order.noted', data: { n }, stream: `order:o${n}` },
      );
    }
    await settle(first, () => log.head);
    await first.stop();
    expect(await store.transaction((tx) => tx.getCheckpoint('jetstream'))).toMatchObject({ position: 60 });
    expect(relay.counts).toEqual({ stored: 30, duplicates: 0 });
    // The checkpoint is lost (a crash before it was written): everything goes again, and is dropped.
    await store.transaction((tx) => tx.putCheckpoint('jetstream', { position: 0, recentIds: [] }));
    const second = runner();
    await second.start();
    await settle(second, () => log.head);
    await second.stop();
    expect(relay.counts).toEqual({ stored: 30, duplicates: 30 });
    const read = await readAll(stream, 30);
    const integration = log.events.filter((e) => e.kind === 'integration');
    expect(read.map((r) => r.event.id)).toEqual(integration.map((e) => e.id));
    expect(read.map((r) => r.msgId)).toEqual(integration.map((e) => e.id));
    expect(read[0]!.event.validate()).toBe(true);
    expect(read[0]!.event).toMatchObject({
      type: 'order.shipped',
      source: '/shop',
      subject: 'order:o1',
      position: '1',
    });
    const info = await (await jetstreamManager(nc)).streams.info(stream);
    expect(info.config.subjects).toEqual([`${prefix}.>`]);
    relay.close();
  });

  it('refuses a stream that does not take its subjects, and dead-letters an event JetStream refuses', async () => {
    const stream = uniqueName('EL_OTHER');
    streams.push(stream);
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: stream, subjects: [`${stream.toLowerCase()}.other.>`] });
    await expect(
      createJetStreamRelay({ connection: nc, stream, subjectPrefix: `${stream.toLowerCase()}.mine` }),
    ).rejects.toMatchObject({ code: 'config', message: expect.stringContaining('add them to the stream') });
    await expect(
      createJetStreamRelay({ connection: nc, stream: uniqueName('EL_MISSING'), createStream: false }),
    ).rejects.toMatchObject({ code: 'config', message: expect.stringContaining('does not exist') });

    const gone = uniqueName('EL_GONE');
    const relay = await createJetStreamRelay({
      connection: nc,
      stream: gone,
      subjectPrefix: gone.toLowerCase(),
      ackTimeoutMs: 500,
    });
    await jsm.streams.delete(gone); // nobody takes the subjects now
    const log = createMemoryEventLog();
    const store: ReactionStore = createMemoryReactionStore();
    const runner = createReactionRunner({
      store,
      feed: log.feed,
      scheduler: { now: Date.now, schedule: (ms, task) => clearer(setTimeout(task, ms)) },
      handlers: [
        integrationHandler(relay, {
          name: 'jetstream',
          retry: { attempts: 3, backoff: { initialMs: 10, factor: 2, maxMs: 50 } },
        }),
      ],
    });
    await runner.start();
    const [refused] = log.append({
      type: 'order.shipped',
      data: {},
      stream: 'order:o1',
      kind: 'integration',
    });
    await settle(runner, () => log.head);
    const [letter] = await runner.deadLetters.list();
    expect(letter).toMatchObject({
      handler: 'jetstream',
      attempts: 3,
      event: { id: refused!.id },
      error: { code: 'relay' },
    });
    await runner.stop();
    relay.close();
  });
});

describe.runIf(run)('startJetStreamInbound', () => {
  const Paid = defineEvent('billing.paid', { 1: z.object({ invoice: z.string(), amount: z.number() }) });
  const registry = createRegistry([Paid]);
  let testHub: TestHub;
  beforeAll(async () => {
    if (run) testHub = await startTestHub({ registry });
  });
  afterAll(async () => {
    if (run) await testHub.close();
  });

  const publish = async (subject: string, body: unknown, msgId?: string, binary = false) => {
    const js = jetstream(nc);
    const h = natsHeaders();
    if (binary) {
      const e = body as { id: string; type: string; source: string; data: unknown };
      h.set('ce-specversion', '1.0');
      h.set('ce-id', e.id);
      h.set('ce-type', e.type);
      h.set('ce-source', e.source);
      h.set('content-type', 'application/json');
      await js.publish(subject, JSON.stringify(e.data), {
        headers: h,
        ...(msgId === undefined ? {} : { msgID: msgId }),
      });
      return;
    }
    h.set('content-type', 'application/cloudevents+json');
    await js.publish(subject, typeof body === 'string' ? body : JSON.stringify(body), {
      headers: h,
      ...(msgId === undefined ? {} : { msgID: msgId }),
    });
  };
  const paid = (id: string, amount: number) => ({
    specversion: '1.0',
    id,
    source: '/billing',
    type: 'billing.paid',
    subject: `invoice:${id}`,
    data: { invoice: id, amount },
  });

  it('stores each message once across a nak after the commit and a consumer restart; a bad one is dead-lettered and the consumer goes on', async () => {
    const stream = uniqueName('EL_IN');
    const subject = `${stream.toLowerCase()}.billing`;
    streams.push(stream);
    const reactionStore = createMemoryReactionStore();
    // The first append of i2 commits, then "fails" as a lost answer would: the message is nak'ed and comes again.
    let lose = true;
    const hub = new Proxy(testHub.hub, {
      get(target, key, receiver) {
        if (key === 'append') {
          return async (items: Parameters<Hub['append']>[0]) => {
            const results = await target.append(items);
            if (lose && items.some((i) => (i.event.data as { invoice?: string }).invoice === 'i2')) {
              lose = false;
              throw new Error('the answer was lost');
            }
            return results;
          };
        }
        const value: unknown = Reflect.get(target, key, receiver);
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const start = () =>
      startJetStreamInbound({
        connection: nc,
        hub,
        reactionStore,
        registry,
        stream,
        subjects: [subject],
        durable: 'hub',
        logger: silentLogger,
      });
    let inbound = await start();
    await publish(subject, paid('i1', 10));
    await publish(subject, paid('i2', 20));
    await publish(subject, 'not json at all');
    await publish(subject, { ...paid('i3', 30), type: 'billing.unknown' });
    await publish(subject, { ...paid('i4', 40), data: { invoice: 'i4', amount: 'forty' } });
    await publish(subject, paid('i5', 50), undefined, true);
    await until(
      () => inbound.counts.stored + inbound.counts.duplicates + inbound.counts.deadLettered >= 6,
      'six messages',
    );
    await inbound.stop();
    // The same messages again, after a consumer restart (the producer re-sent i1 with a new msg id).
    await publish(subject, paid('i1', 10), 'resend-i1');
    inbound = await start();
    await publish(subject, paid('i6', 60));
    const stored = async () =>
      (await testHub.store.read({ from: 0, limit: 100 })).events.filter(
        (e) => e.clientId === 'eventloom-inbound',
      );
    for (const deadline = Date.now() + 15_000; (await stored()).length < 4 && Date.now() < deadline;) {
      await new Promise((r) => setTimeout(r, 50));
    }
    await until(() => inbound.counts.stored + inbound.counts.duplicates >= 2, 'the resend and i6');
    await inbound.stop();
    expect(lose).toBe(false); // i2's first answer was lost, and the message came again
    const events = await stored();
    expect(events.map((e) => (e.data as { invoice: string }).invoice)).toEqual(['i1', 'i2', 'i5', 'i6']);
    expect(events.every((e) => e.type === 'billing.paid' && e.kind === 'domain')).toBe(true);
    expect(events[0]).toMatchObject({
      stream: 'invoice:i1',
      meta: { causationId: 'i1', source: '/billing' },
    });
    const letters = await reactionStore.transaction((tx) => tx.listDeadLetters());
    expect(letters.map((l) => l.handler)).toEqual([
      'jetstream-inbound',
      'jetstream-inbound',
      'jetstream-inbound',
    ]);
    expect(letters.map((l) => l.error.message).join('\n')).toMatch(
      /not a CloudEvent[\s\S]*billing\.unknown[\s\S]*amount/,
    );
    const info = await (await jetstreamManager(nc)).consumers.info(stream, 'hub');
    expect(info.num_ack_pending + info.num_pending).toBe(0);
  });
});

function clearer(timer: NodeJS.Timeout): () => void {
  timer.unref();
  return () => clearTimeout(timer);
}
