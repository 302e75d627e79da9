import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  createMemoryReactionStore,
  createReactionRunner,
  integrationHandler,
  type CloudEvent,
  type IntegrationRelay,
} from '@eventloom/core';
import { createFakeScheduler, createMemoryEventLog, settle } from '@eventloom/core/testing';
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
const events = (r: Received) => JSON.parse(r.body) as CloudEvent[];

describe('createWebhookRelay on a hub runner', () => {
  it('POSTs the integration events as CloudEvents batches, in position order, with the custom headers', async () => {
    const { url, received } = await receiver();
    const { log, runner, shipped } = onHub(createWebhookRelay({ url, headers: { 'x-api-key': 'k1' } }));
    await runner.start();
    log.append(shipped(1), { type: 'order.placed', data: {}, stream: 'order:o9' }, shipped(2), shipped(3));
    await settle(runner, () => log.head);
    expect(received.map((r) => events(r).map((e) => [e.type, e.subject, e.position]))).toEqual([
      [['order.shipped', 'order:o1', 1]],
      [['order.shipped', 'order:o2', 3]],
      [['order.shipped', 'order:o3', 4]],
    ]);
    const [first] = received;
    expect(first!.headers['content-type']).toBe(`${CLOUD_EVENTS_BATCH_CONTENT_TYPE}; charset=utf-8`);
    expect(first!.headers['x-api-key']).toBe('k1');
    expect(first!.headers['webhook-id']).toBe(log.events[0]!.id);
    expect(first!.headers['webhook-signature']).toBeUndefined();
    expect(events(first!)).toEqual([
      {
        specversion: '1.0',
        id: log.events[0]!.id,
        source: '/shop/hub',
        type: 'order.shipped',
        subject: 'order:o1',
        time: log.events[0]!.recordedAt,
        datacontenttype: 'application/json',
        data: { orderId: 'o1' },
        position: 1,
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
    position: 1,
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

  it('sends several events as one batch with a webhook-id that depends on them only', async () => {
    const { url, received } = await receiver();
    const relay = createWebhookRelay({ url });
    const second = { ...event, id: 'e2', position: 2 };
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
