import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  createMemoryReactionStore,
  createReactionRunner,
  integrationHandler,
  toCloudEvent,
  type CloudEvent,
  type ConfirmedEvent,
  type IntegrationRelay,
} from '@eventloom/core';
import { createFakeScheduler, createMemoryEventLog, settle } from '@eventloom/core/testing';
import { HTTP, type CloudEvent as SdkCloudEvent, type CloudEventV1 } from 'cloudevents';
import { afterEach, describe, expect, it } from 'vitest';
import { HubError, HubErrorCode } from '../hub/hub-error.ts';
import { CLOUD_EVENTS_BATCH_CONTENT_TYPE, createWebhookRelay } from './webhook-relay.ts';
import { signWebhook, verifyWebhook } from './webhook-signature.ts';

interface Received {
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** A real HTTP receiver: records each request and answers with the next status of `statuses` (then the last). */
async function receiver(statuses: readonly number[] = [200]) {
  const received: Received[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const status = statuses[Math.min(received.length, statuses.length) - 1]!;
      if (status === 0) return; // never answers
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status >= 300 ? 'ERP is down' : 'ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hooks/eventloom`, received };
}

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

function onHub(relay: IntegrationRelay, attempts = 3) {
  const log = createMemoryEventLog();
  return onLog(log, relay, attempts);
}

function onLog(log: ReturnType<typeof createMemoryEventLog>, relay: IntegrationRelay, attempts = 3) {
  const scheduler = createFakeScheduler();
  const runner = createReactionRunner({
    store: createMemoryReactionStore(),
    feed: log.feed,
    scheduler,
    outbox: log.relay,
    handlers: [
      integrationHandler(relay, {
        name: 'erp-webhook',
        source: '/shop/hub',
        retry: { attempts, backoff: { initialMs: 1000, factor: 2, maxMs: 10_000 } },
      }),
    ],
  });
  const shipped = (n: number) => ({
    type: 'order.shipped',
    data: { orderId: `o${n}` },
    stream: `order:o${n}`,
    kind: 'integration' as const,
  });
  return { log, scheduler, runner, shipped };
}

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
/** What the official CloudEvents SDK reads from a request (it validates each event as it reads). */
const judged = (r: Received): CloudEventV1<unknown>[] => {
  const read = HTTP.toEvent({ headers: r.headers as Record<string, string>, body: r.body });
  const list = (Array.isArray(read) ? read : [read]) as SdkCloudEvent<unknown>[];
  return list.map((e) => {
    e.validate();
    return e.toJSON() as CloudEventV1<unknown>;
  });
};
const events = (r: Received) => judged(r);

describe('createWebhookRelay on a hub runner', () => {
  it('POSTs the integration events as CloudEvents batches in batch mode, in position order, with the custom headers', async () => {
    const { url, received } = await receiver();
    const { log, runner, shipped } = onHub(
      createWebhookRelay({ url, mode: 'batch', headers: { 'X-Api-Key': 'k1' } }),
    );
    await runner.start();
    log.append(shipped(1), { type: 'order.placed', data: {}, stream: 'order:o9' }, shipped(2), shipped(3));
    await settle(runner, () => log.head);
    expect(received.map((r) => events(r).map((e) => [e.type, e.subject, e.position]))).toEqual([
      [['order.shipped', 'order:o1', '1']],
      [['order.shipped', 'order:o2', '3']],
      [['order.shipped', 'order:o3', '4']],
    ]);
    const [first] = received;
    expect(first!.headers['content-type']).toBe(`${CLOUD_EVENTS_BATCH_CONTENT_TYPE}; charset=utf-8`);
    expect(first!.headers['x-api-key']).toBe('k1');
    expect(first!.headers['webhook-id']).toBe(log.events[0]!.id);
    expect(first!.headers['webhook-signature']).toBeUndefined();
    expect(JSON.parse(first!.body)).toEqual([
      {
        specversion: '1.0',
        id: log.events[0]!.id,
        source: '/shop/hub',
        type: 'order.shipped',
        subject: 'order:o1',
        time: log.events[0]!.recordedAt,
        datacontenttype: 'application/json',
        data: { orderId: 'o1' },
        position: '1',
        streamversion: 1,
      },
    ]);
    await runner.stop();
  });

  it('retries after a 500 with backoff and then delivers; the retry carries the same ids', async () => {
    const { url, received } = await receiver([500, 200]);
    const { log, runner, scheduler, shipped } = onHub(createWebhookRelay({ url }));
    await runner.start();
    log.append(shipped(1));
    const done = runner.settled(log.head);
    await scheduler.next();
    await done;
    expect(scheduler.delays).toEqual([1000]);
    expect(received).toHaveLength(2);
    expect(received[1]!.body).toBe(received[0]!.body);
    expect(received[1]!.headers['webhook-id']).toBe(received[0]!.headers['webhook-id']);
    expect(events(received[1]!)[0]!.id).toBe(log.events[0]!.id);
    expect(await runner.deadLetters.list()).toEqual([]);
    await runner.stop();
  });

  it('dead-letters the event after the last attempt, with a relay failure, and goes on', async () => {
    const { url, received } = await receiver([500, 500, 503, 200]);
    const { log, runner, scheduler, shipped } = onHub(createWebhookRelay({ url }));
    await runner.start();
    const [bad, next] = log.append(shipped(1), shipped(2));
    const done = runner.settled(log.head);
    await scheduler.next();
    await scheduler.next();
    await done;
    expect(received.map((r) => events(r)[0]!.id)).toEqual([bad!.id, bad!.id, bad!.id, next!.id]);
    const [letter, ...others] = await runner.deadLetters.list();
    expect(others).toEqual([]);
    expect(letter).toMatchObject({
      handler: 'erp-webhook',
      attempts: 3,
      event: { id: bad!.id },
      error: {
        name: 'HubError',
        code: HubErrorCode.relay,
        message: expect.stringMatching(
          /^webhook POST http:\/\/127\.0\.0\.1:\d+\/hooks\/eventloom answered 503/,
        ),
      },
    });
    await runner.stop();
  });

  it('signs each request so that the receiver can verify the body with the secret', async () => {
    const { url, received } = await receiver([500, 200]);
    const t0 = Date.UTC(2026, 10, 27, 10);
    let attempts = 0;
    const relay = createWebhookRelay({ url, secret: SECRET, now: () => t0 + 61_000 * attempts++ });
    const { log, runner, scheduler, shipped } = onHub(relay);
    await runner.start();
    log.append(shipped(1));
    const done = runner.settled(log.head);
    await scheduler.next();
    await done;
    for (const { headers, body } of received) {
      // The Standard Webhooks scheme, computed here independently of signWebhook.
      const id = headers['webhook-id'] as string;
      const timestamp = headers['webhook-timestamp'] as string;
      const key = Buffer.from(SECRET.slice('whsec_'.length), 'base64');
      const mac = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64');
      expect(headers['webhook-signature']).toBe(`v1,${mac}`);
      expect(verifyWebhook({ secret: SECRET, headers, body, now: Number(timestamp) * 1000 })).toBe(true);
    }
    const [first, retry] = received;
    expect(Number(retry!.headers['webhook-timestamp']) - Number(first!.headers['webhook-timestamp'])).toBe(
      61,
    );
    expect(
      verifyWebhook({ secret: SECRET, headers: first!.headers, body: first!.body, now: t0 + 400_000 }),
    ).toBe(false);
    await runner.stop();
  });
});

describe('verifyWebhook', () => {
  const body = '[{"id":"e1"}]';
  const headers = (over: Record<string, string> = {}) => ({
    'webhook-id': 'e1',
    'webhook-timestamp': '1764237600',
    'webhook-signature': signWebhook({ secret: 'plain secret', id: 'e1', timestamp: 1764237600, body }),
    ...over,
  });
  const now = 1764237600 * 1000;

  it('accepts the signed body and refuses a changed body, id, secret, or a stale timestamp', () => {
    expect(verifyWebhook({ secret: 'plain secret', headers: headers(), body, now })).toBe(true);
    expect(
      verifyWebhook({ secret: 'plain secret', headers: headers(), body: body.replace('e1', 'e2'), now }),
    ).toBe(false);
    expect(
      verifyWebhook({ secret: 'plain secret', headers: headers({ 'webhook-id': 'e2' }), body, now }),
    ).toBe(false);
    expect(verifyWebhook({ secret: 'other secret', headers: headers(), body, now })).toBe(false);
    expect(verifyWebhook({ secret: 'plain secret', headers: headers(), body, now: now + 301_000 })).toBe(
      false,
    );
    const rotated = headers({ 'webhook-signature': `v1,bm9wZQ== ${headers()['webhook-signature']}` });
    expect(verifyWebhook({ secret: 'plain secret', headers: rotated, body, now })).toBe(true);
    expect(verifyWebhook({ secret: 'plain secret', headers: {}, body, now })).toBe(false);
  });
});

describe('createWebhookRelay failures', () => {
  const event: CloudEvent = {
    specversion: '1.0',
    id: 'e1',
    source: '/shop/hub',
    type: 'order.shipped',
    subject: 'order:o1',
    datacontenttype: 'application/json',
    data: {},
    position: '1',
  };

  it('fails with a relay failure when the receiver does not answer in time', async () => {
    const { url } = await receiver([0]);
    const relay = createWebhookRelay({ url, timeoutMs: 50 });
    const error = await relay.publish([event]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HubError);
    expect(error).toMatchObject({
      code: HubErrorCode.relay,
      message: expect.stringContaining('timed out after 50 ms'),
    });
  });

  it('fails with a relay failure when the receiver is unreachable', async () => {
    const { url } = await receiver();
    for (const server of servers.splice(0)) await new Promise((resolve) => server.close(resolve));
    const error = await createWebhookRelay({ url })
      .publish([event])
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'HubError', code: HubErrorCode.relay });
    expect((error as HubError).message).toContain('failed');
  });

  it('refuses a bad configuration up front', () => {
    expect(() => createWebhookRelay({ url: 'not a url' })).toThrow(
      expect.objectContaining({ code: 'config' }),
    );
    expect(() => createWebhookRelay({ url: 'ftp://erp.example/' })).toThrow(
      expect.objectContaining({ code: 'config' }),
    );
    expect(() => createWebhookRelay({ url: 'http://erp.example/', timeoutMs: 0 })).toThrow(HubError);
  });

  it('sends several events one request each in structured mode, in order', async () => {
    const { url, received } = await receiver();
    const relay = createWebhookRelay({ url });
    const second = { ...event, id: 'e2', position: '2' };
    await relay.publish([event, second]);
    await relay.publish([event, second]);
    await relay.publish([]);
    expect(received.map((r) => events(r).map((e) => e.id))).toEqual([['e1'], ['e2'], ['e1'], ['e2']]);
    expect(received.map((r) => r.headers['webhook-id'])).toEqual(['e1', 'e2', 'e1', 'e2']);
  });

  it('sends several events as one batch in batch mode, with a webhook-id that depends on them only', async () => {
    const { url, received } = await receiver();
    const relay = createWebhookRelay({ url, mode: 'batch' });
    const second = { ...event, id: 'e2', position: '2' };
    await relay.publish([event, second]);
    await relay.publish([event, second]);
    await relay.publish([]);
    expect(received.map((r) => events(r).map((e) => e.id))).toEqual([
      ['e1', 'e2'],
      ['e1', 'e2'],
    ]);
    expect(received[0]!.headers['webhook-id']).toMatch(/^batch_[0-9a-f]{32}$/);
    expect(received[1]!.headers['webhook-id']).toBe(received[0]!.headers['webhook-id']);
  });
});

describe('createWebhookRelay modes, judged by the CloudEvents SDK', () => {
  const beyondInt32: ConfirmedEvent = {
    id: '0190a1b2-c3d4-7e5f-8a6b-000000000007',
    type: 'order.shipped',
    version: 1,
    kind: 'integration',
    stream: 'order:ö 1',
    data: { orderId: 'o1', note: 'ünïcode "quoted" 100%' },
    meta: {
      correlationId: 'checkout-7',
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    },
    clientId: 'c1',
    clientSeq: 4,
    hlc: '001732700000007-0000000000-c1',
    position: 3_000_000_000,
    streamVersion: 3,
    recordedAt: '2026-11-27T10:00:07.000Z',
  };

  it.each(['structured', 'binary', 'batch'] as const)(
    '%s mode: every delivery validates, with the same attributes, position as a string past 2^31',
    async (mode) => {
      const { url, received } = await receiver([500, 200]);
      const relay = createWebhookRelay({ url, mode, secret: SECRET });
      const cloud = toCloudEvent(beyondInt32, { source: '/shop/hub' });
      await expect(relay.publish([cloud])).rejects.toMatchObject({ code: HubErrorCode.relay });
      await relay.publish([cloud]);
      expect(received).toHaveLength(2);
      const expected = {
        specversion: '1.0',
        id: beyondInt32.id,
        source: '/shop/hub',
        type: 'order.shipped',
        subject: 'order:ö 1',
        time: '2026-11-27T10:00:07.000Z',
        datacontenttype: 'application/json',
        data: beyondInt32.data,
        position: '3000000000',
        streamversion: 3,
        correlationid: 'checkout-7',
        traceparent: beyondInt32.meta.traceparent,
      };
      for (const request of received) {
        const [read, ...more] = judged(request);
        expect(more).toEqual([]);
        // Binary mode carries every attribute as a (percent-encoded) header string; the SDK leaves it encoded.
        const decoded = Object.fromEntries(
          Object.entries(read!)
            .filter(([, v]) => v !== undefined)
            .map(([k, v]) => [k, typeof v === 'string' && mode === 'binary' ? decodeURIComponent(v) : v]),
        );
        expect(decoded).toEqual(mode === 'binary' ? { ...expected, streamversion: '3' } : expected);
        expect(request.headers['webhook-id']).toBe(beyondInt32.id);
        expect(verifyWebhook({ secret: SECRET, headers: request.headers, body: request.body })).toBe(true);
        expect(request.headers['content-type']).toBe(
          {
            structured: 'application/cloudevents+json; charset=utf-8',
            binary: 'application/json',
            batch: 'application/cloudevents-batch+json; charset=utf-8',
          }[mode],
        );
      }
      expect(received[1]!.body).toBe(received[0]!.body);
    },
  );

  it('defaults to structured mode, one event per request, stable across a hub runner restart', async () => {
    const { url, received } = await receiver();
    const log = createMemoryEventLog();
    const store = createMemoryReactionStore();
    const relay = createWebhookRelay({ url });
    const run = (scheduler = createFakeScheduler()) =>
      createReactionRunner({
        store,
        feed: log.feed,
        scheduler,
        handlers: [integrationHandler(relay, { name: 'erp-webhook', source: '/shop/hub' })],
      });
    const first = run();
    await first.start();
    const shipped = (n: number) => ({
      type: 'order.shipped',
      data: { n },
      stream: `order:o${n}`,
      kind: 'integration' as const,
    });
    log.append(shipped(1), shipped(2));
    await settle(first, () => log.head);
    await first.stop();
    // The checkpoint is lost (a kill before it was written): the same events go again, unchanged.
    await store.transaction((tx) => tx.putCheckpoint('erp-webhook', { position: 0, recentIds: [] }));
    const second = run();
    await second.start();
    await settle(second, () => log.head);
    await second.stop();
    expect(received.map((r) => r.headers['content-type'])).toEqual(
      Array(4).fill('application/cloudevents+json; charset=utf-8'),
    );
    expect(received.map((r) => judged(r)[0]!.id)).toEqual([
      log.events[0]!.id,
      log.events[1]!.id,
      log.events[0]!.id,
      log.events[1]!.id,
    ]);
    expect(received[2]!.body).toBe(received[0]!.body);
    expect(received[3]!.body).toBe(received[1]!.body);
  });
});

describe('createWebhookRelay headers and secrets', () => {
  const event: CloudEvent = {
    specversion: '1.0',
    id: 'e1',
    source: '/shop/hub',
    type: 'order.shipped',
    subject: 'order:o1',
    datacontenttype: 'application/json',
    data: {},
    position: '1',
  };

  it('refuses user values for content-type, webhook-* and ce-* in any case, and a name given twice', () => {
    for (const name of [
      'Content-Type',
      'content-type',
      'Webhook-Id',
      'WEBHOOK-SIGNATURE',
      'webhook-x',
      'Ce-Id',
    ]) {
      expect(() => createWebhookRelay({ url: 'http://erp.example/', headers: { [name]: 'x' } })).toThrow(
        expect.objectContaining({ code: 'config', message: expect.stringContaining(name) }),
      );
    }
    expect(() =>
      createWebhookRelay({ url: 'http://erp.example/', headers: { 'X-Key': 'a', 'x-key': 'b' } }),
    ).toThrow(/given twice/);
    expect(() => createWebhookRelay({ url: 'http://erp.example/', headers: { 'bad name': 'a' } })).toThrow(
      /not a valid HTTP header/,
    );
    expect(() =>
      createWebhookRelay({ url: 'http://erp.example/', mode: 'bulk' as unknown as 'batch' }),
    ).toThrow(/mode must be one of structured, binary, batch/);
  });

  it('sends one content type and one webhook-id, whatever the case of the user headers', async () => {
    const { url, received } = await receiver();
    await createWebhookRelay({ url, headers: { 'X-Api-Key': 'k1', Authorization: 'Bearer t' } }).publish([
      event,
    ]);
    const [request] = received;
    expect(request!.headers['content-type']).toBe('application/cloudevents+json; charset=utf-8');
    expect(request!.headers['webhook-id']).toBe('e1');
    expect(request!.headers['x-api-key']).toBe('k1');
    expect(request!.headers['authorization']).toBe('Bearer t');
    expect(judged(request!).map((e) => e.id)).toEqual(['e1']);
  });

  it('requires the whsec_ form of a secret (or raw key bytes), which Standard Webhooks libraries verify', () => {
    for (const secret of ['plain secret', 'whsec_', 'whsec_not base64!', 'whsec_c2hvcnQ=']) {
      expect(() => createWebhookRelay({ url: 'http://erp.example/', secret })).toThrow(
        expect.objectContaining({ code: 'config', message: expect.stringMatching(/whsec_/) }),
      );
    }
    expect(() => createWebhookRelay({ url: 'http://erp.example/', secret: new Uint8Array(8) })).toThrow(
      /at least 16 bytes/,
    );
    expect(() => createWebhookRelay({ url: 'http://erp.example/', secret: SECRET })).not.toThrow();
    expect(() =>
      createWebhookRelay({ url: 'http://erp.example/', secret: new Uint8Array(32).fill(7) }),
    ).not.toThrow();
  });
});
