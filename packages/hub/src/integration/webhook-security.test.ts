import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { HubError } from '../hub/hub-error.ts';
import {
  createWebhookVerifier,
  memoryReplayStore,
  signWebhook,
  verifyWebhook,
  webhookKey,
} from './webhook-signature.ts';

const SECRET = `whsec_${Buffer.from('a key of at least sixteen bytes!').toString('base64')}`;
const now = 1_800_000_000_000;
const body = '{"specversion":"1.0","id":"e1"}';
const signed = (id = 'msg-1', secret: string | Uint8Array = SECRET, at = now) => {
  const timestamp = Math.floor(at / 1000);
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': signWebhook({ secret, id, timestamp, body }),
  };
};

describe('webhook security: the verifier', () => {
  it('refuses a request replayed within the tolerance when given a replay store', async () => {
    const clock = { at: now };
    const verifier = createWebhookVerifier({
      secret: SECRET,
      replayStore: memoryReplayStore({ now: () => clock.at }),
      now: () => clock.at,
    });
    const headers = signed();
    expect(await verifier.verify({ headers, body })).toEqual({ ok: true, id: 'msg-1' });
    clock.at += 120_000; // two minutes later, inside the 300 s window
    expect(await verifier.verify({ headers, body })).toEqual({ ok: false, reason: 'replay' });
    expect(verifyWebhook({ secret: SECRET, headers, body, now: clock.at })).toBe(true); // without a store it passes
    expect(await verifier.verify({ headers: signed('msg-2', SECRET, clock.at), body })).toMatchObject({
      ok: true,
    });
  });

  it('burns no id for a request whose signature fails', async () => {
    const verifier = createWebhookVerifier({
      secret: SECRET,
      replayStore: memoryReplayStore({ now: () => now }),
      now: () => now,
    });
    const forged = { ...signed(), 'webhook-signature': 'v1,AAAA' };
    expect(await verifier.verify({ headers: forged, body })).toEqual({ ok: false, reason: 'signature' });
    expect(await verifier.verify({ headers: signed(), body })).toMatchObject({ ok: true });
    expect(
      await verifier.verify({
        headers: { ...signed(), 'webhook-timestamp': String(now / 1000 - 400) },
        body,
      }),
    ).toMatchObject({ reason: 'timestamp' });
  });

  it('refuses an empty or undecodable secret when configured, on both ends', () => {
    for (const secret of ['', 'whsec_', 'whsec_!!!not base64!!!', 'whsec_abc', new Uint8Array(0)]) {
      expect(() => createWebhookVerifier({ secret })).toThrow(HubError);
      expect(() => webhookKey(secret)).toThrow(/webhook secret/);
      expect(() => signWebhook({ secret, id: 'x', timestamp: 1, body })).toThrow(HubError);
      expect(() => verifyWebhook({ secret, headers: signed(), body, now })).toThrow(HubError);
    }
  });

  it('never accepts a signature made with an empty key', () => {
    const timestamp = Math.floor(now / 1000);
    const mac = createHmac('sha256', Buffer.alloc(0)).update(`msg-1.${timestamp}.${body}`).digest('base64');
    const headers = {
      'webhook-id': 'msg-1',
      'webhook-timestamp': String(timestamp),
      'webhook-signature': `v1,${mac}`,
    };
    expect(() => verifyWebhook({ secret: 'whsec_', headers, body, now })).toThrow(HubError);
    expect(verifyWebhook({ secret: SECRET, headers, body, now })).toBe(false);
  });

  it('forgets ids once their requests could no longer pass, and keeps at most maxIds', async () => {
    let at = now;
    const store = memoryReplayStore({ maxIds: 2, now: () => at });
    expect(await store.remember('a', at + 1_000)).toBe(true);
    expect(await store.remember('a', at + 1_000)).toBe(false);
    at += 2_000;
    expect(await store.remember('a', at + 1_000)).toBe(true);
    expect(await store.remember('b', at + 1_000)).toBe(true);
    expect(await store.remember('c', at + 1_000)).toBe(true);
  });
});
