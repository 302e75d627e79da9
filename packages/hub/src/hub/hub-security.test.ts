import type { PullResult, PushAck } from '@eventloom/protocol';
import { generateKeyPair, exportJWK, exportSPKI, SignJWT, UnsecuredJWT } from 'jose';
import type { Socket as ClientSocket } from 'socket.io-client';
import { describe, expect, it } from 'vitest';
import { createMemoryStore } from '../store/memory-store.ts';
import { jwtAuthenticator } from './authenticator.ts';
import { HubError } from './hub-error.ts';
import {
  TEST_AUDIENCE,
  TEST_ISSUER,
  TEST_SECRET,
  connectClient,
  connectError,
  hello,
  makeEvent,
  openClient,
  request,
  signToken,
  testScope,
} from './test-kit.ts';

const scope = testScope();

async function refusal(url: string, token: unknown, headers?: Record<string, string>) {
  const socket = openClient(
    url,
    token === undefined ? undefined : { token },
    headers ? { extraHeaders: headers } : {},
  );
  scope.defer(() => socket.disconnect());
  return connectError(socket);
}

describe('hub security: the handshake', () => {
  it('refuses a connection without a token', async () => {
    const { url } = await scope.startHub();
    const error = await refusal(url, undefined);
    expect(error.message).toBe('no token');
    expect(error.data?.code).toBe('unauthenticated');
  });

  it('refuses an expired token', async () => {
    const { url } = await scope.startHub();
    const error = await refusal(
      url,
      await signToken('alice', { expiresAt: Math.floor(Date.now() / 1000) - 10 }),
    );
    expect(error.message).toBe('token expired');
    expect(error.data?.code).toBe('unauthenticated');
  });

  it('refuses an unsigned token (alg: none)', async () => {
    const { url } = await scope.startHub();
    const token = new UnsecuredJWT({ sub: 'alice' })
      .setIssuer(TEST_ISSUER)
      .setAudience(TEST_AUDIENCE)
      .setExpirationTime('1h')
      .encode();
    const error = await refusal(url, token);
    expect(error.data?.code).toBe('unauthenticated');
  });

  it('refuses a token signed with the wrong key', async () => {
    const { url } = await scope.startHub();
    const error = await refusal(
      url,
      await signToken('alice', { secret: 'another-secret-that-is-also-32-bytes-long' }),
    );
    expect(error.message).toBe('token signature invalid');
  });

  it('refuses a token for another audience or from another issuer', async () => {
    const { url } = await scope.startHub();
    expect((await refusal(url, await signToken('alice', { audience: 'someone-else' }))).data?.code).toBe(
      'unauthenticated',
    );
    expect((await refusal(url, await signToken('alice', { issuer: 'evil' }))).data?.code).toBe(
      'unauthenticated',
    );
  });

  it('refuses a token that is not a string', async () => {
    const { url } = await scope.startHub();
    expect((await refusal(url, { nested: 'object' })).data?.code).toBe('unauthenticated');
  });

  it('accepts tokens signed by a configured public key or JWKS', async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    const sign = (sub: string, kid?: string) =>
      new SignJWT({})
        .setProtectedHeader(kid === undefined ? { alg: 'ES256' } : { alg: 'ES256', kid })
        .setSubject(sub)
        .setExpirationTime('1h')
        .sign(privateKey);
    const pem = await scope.startHub({ auth: jwtAuthenticator({ publicKey: await exportSPKI(publicKey) }) });
    const a = await connectClient(pem.url, { token: await sign('alice') });
    scope.defer(() => a.disconnect());
    expect((await hello(a, 'client-a')).head).toBe(0);
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256' };
    const jwks = await scope.startHub({ auth: jwtAuthenticator({ jwks: { keys: [jwk] } }) });
    const b = await connectClient(jwks.url, { token: await sign('bob', 'k1') });
    scope.defer(() => b.disconnect());
    expect((await hello(b, 'client-b')).head).toBe(0);
    // An HS256 token made with the public key as its secret must not pass (algorithm confusion).
    expect(
      (await refusal(pem.url, await signToken('mallory', { secret: await exportSPKI(publicKey) }))).data
        ?.code,
    ).toBe('unauthenticated');
  });

  it('refuses unusable auth options', () => {
    expect(() => jwtAuthenticator({ secret: 'short' })).toThrow(HubError);
    expect(() => jwtAuthenticator({})).toThrow(HubError);
    expect(() => jwtAuthenticator({ publicKey: 'not a pem' })).toThrow(HubError);
  });
});

describe('hub security: origins', () => {
  it('refuses a WebSocket handshake from an origin not on the list, and lets listed ones in', async () => {
    const { url } = await scope.startHub({ allowedOrigins: ['https://app.example'] });
    const token = await signToken('alice');
    const refused = await refusal(url, token, { origin: 'https://evil.example' });
    expect(refused).toBeInstanceOf(Error);
    const allowed = await connectClient(url, { token }, { extraHeaders: { origin: 'https://app.example' } });
    scope.defer(() => allowed.disconnect());
    expect(allowed.connected).toBe(true);
  });
});

const secret = new TextEncoder().encode(TEST_SECRET);
/** A token with the claims given, signed with the test secret (nothing added). */
const raw = (claims: Record<string, unknown>) =>
  new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setAudience(TEST_AUDIENCE).sign(secret);
const now = () => Math.floor(Date.now() / 1000);
const push = (socket: ClientSocket, events: unknown[]) =>
  request<PushAck & { error?: { code: string } }>(socket, 'push', { events });

describe('hub security: token rules', () => {
  it('refuses a token without exp', async () => {
    const { url } = await scope.startHub();
    const error = await refusal(url, await raw({ sub: 'alice', iss: TEST_ISSUER, iat: now() }));
    expect(error.data?.code).toBe('unauthenticated');
    expect(error.message).toMatch(/exp/);
  });

  it('refuses a token issued in the future', async () => {
    const { url } = await scope.startHub();
    const error = await refusal(
      url,
      await raw({ sub: 'alice', iss: TEST_ISSUER, iat: now() + 600, exp: now() + 1200 }),
    );
    expect(error.message).toBe('token issued in the future (iat)');
  });

  it('refuses a token that lives longer than the maximum token age, or was issued longer ago', async () => {
    const { url } = await scope.startHub({
      auth: jwtAuthenticator({ secret: TEST_SECRET, audience: TEST_AUDIENCE, maxTokenAgeSeconds: 3600 }),
    });
    const long = await raw({ sub: 'alice', iat: now(), exp: now() + 7200 });
    expect((await refusal(url, long)).message).toMatch(/longer than 3600/);
    const old = await raw({ sub: 'alice', iat: now() - 7200, exp: now() + 60 });
    expect((await refusal(url, old)).message).toMatch(/older than 3600/);
    const fine = await connectClient(url, {
      token: await raw({ sub: 'alice', iat: now(), exp: now() + 600 }),
    });
    scope.defer(() => fine.disconnect());
    expect(fine.connected).toBe(true);
  });

  it('refuses an iss over 256 characters instead of dropping it', async () => {
    const { url } = await scope.startHub({
      auth: jwtAuthenticator({ secret: TEST_SECRET, audience: TEST_AUDIENCE }),
    });
    const error = await refusal(url, await raw({ sub: 'alice', iss: 'i'.repeat(301), exp: now() + 60 }));
    expect(error.data?.code).toBe('unauthenticated');
    expect(error.message).toMatch(/iss/);
  });
});

describe('hub security: identity', () => {
  it('keeps `{ sub: "tenantA|alice" }` off the client id of `{ iss: "tenantA", sub: "alice" }`', async () => {
    const { url, store } = await scope.startHub({
      auth: jwtAuthenticator({ secret: TEST_SECRET, audience: TEST_AUDIENCE }),
    });
    const alice = await connectClient(url, {
      token: await raw({ iss: 'tenantA', sub: 'alice', exp: now() + 60 }),
    });
    const forger = await connectClient(url, { token: await raw({ sub: 'tenantA|alice', exp: now() + 60 }) });
    scope.defer(
      () => alice.disconnect(),
      () => forger.disconnect(),
    );
    await hello(alice, 'client-alice');
    expect((await push(alice, [makeEvent('client-alice', 1)])).results[0]!.status).toBe('ok');
    expect(await hello(forger, 'client-alice')).toMatchObject({ error: { code: 'unauthorized' } });
    // Alice's own next event is taken: nothing of her sequence went to someone else.
    expect((await push(alice, [makeEvent('client-alice', 2)])).results[0]!.status).toBe('ok');
    expect((await store.client('client-alice')).lastClientSeq).toBe(2);
  });

  it('answers id-conflict without the position of an event the pusher may not read', async () => {
    const authorize = (principal: { sub: string }, action: string, stream: string) =>
      action === 'push' || stream.startsWith(`user:${principal.sub}:`);
    const { url } = await scope.startHub({ authorize });
    const { socket: alice } = await scope.client(url, 'alice', 'client-a', ['user:alice:*']);
    const { socket: mallory } = await scope.client(url, 'mallory', 'client-m', ['user:mallory:*']);
    await push(alice, [makeEvent('client-a', 1, { stream: 'user:alice:x' })]);
    const secretEvent = makeEvent('client-a', 2, { stream: 'user:alice:secret' });
    await push(alice, [secretEvent]);
    const probe = await push(mallory, [
      { ...makeEvent('client-m', 1, { stream: 'user:mallory:x' }), id: secretEvent.id },
    ]);
    expect(probe.results[0]).toMatchObject({ status: 'rejected', code: 'id-conflict' });
    const message = (probe.results[0] as { message: string }).message;
    expect(message).not.toMatch(/position|\b2\b/);
  });
});

describe('hub security: limits per principal and per address', () => {
  it('refuses connections past the limit of one principal, and of one address', async () => {
    const { url } = await scope.startHub({
      limits: { maxConnectionsPerPrincipal: 2, maxConnectionsPerAddress: 3 },
    });
    const token = await signToken('alice');
    for (let i = 0; i < 2; i++) {
      const s = await connectClient(url, { token });
      scope.defer(() => s.disconnect());
    }
    const third = await refusal(url, token);
    expect(third.data?.code).toBe('rate-limited');
    const bob = await connectClient(url, { token: await signToken('bob') });
    scope.defer(() => bob.disconnect());
    expect((await refusal(url, await signToken('carol'))).message).toMatch(/address/);
  });

  it('shares one push rate among the sockets of a principal', async () => {
    const { url } = await scope.startHub({
      limits: { principalRateBurst: 40, principalRatePerSecond: 1 },
    });
    const sockets = await Promise.all(
      [1, 2, 3, 4].map(async (i) => (await scope.client(url, 'alice', `client-${i}`, [])).socket),
    );
    const answers = await Promise.all(
      sockets.map((s, i) =>
        push(
          s,
          Array.from({ length: 9 }, (_, k) => makeEvent(`client-${i + 1}`, k + 1)),
        ),
      ),
    );
    // Each socket alone is far below its own rate; together they pass the principal's.
    expect(answers.filter((a) => a.error?.code === 'rate-limited').length).toBeGreaterThan(0);
    const { socket: bob } = await scope.client(url, 'bob', 'client-bob', []);
    expect((await push(bob, [makeEvent('client-bob', 1)])).results[0]!.status).toBe('ok');
  });

  it('binds no client id on hello, and caps the new client ids one principal binds', async () => {
    const { url, store } = await scope.startHub({ limits: { newClientIdsBurst: 2, newClientIdsPerHour: 1 } });
    const socket = await connectClient(url, { token: await signToken('churner') });
    scope.defer(() => socket.disconnect());
    for (let i = 0; i < 20; i++) {
      const s = await connectClient(url, { token: await signToken('churner') });
      await hello(s, `churn-${i}`, []);
      s.disconnect();
    }
    for (let i = 0; i < 20; i++) expect((await store.client(`churn-${i}`)).principal).toBeUndefined();
    const results: (string | undefined)[] = [];
    for (let i = 0; i < 3; i++) {
      const s = await connectClient(url, { token: await signToken('churner') });
      scope.defer(() => s.disconnect());
      await hello(s, `new-${i}`, []);
      const ack = await push(s, [makeEvent(`new-${i}`, 1)]);
      results.push(ack.error?.code ?? ack.results[0]!.status);
    }
    expect(results).toEqual(['ok', 'ok', 'rate-limited']);
    expect((await store.client('new-2')).principal).toBeUndefined();
  });
});

describe('hub security: memory', () => {
  it('reads a pull page within one message budget, not the whole limit', async () => {
    const store = await createMemoryStore();
    const reads: number[] = [];
    const read = store.read.bind(store);
    store.read = async (query) => {
      const page = await read(query);
      if (query.streams !== undefined) reads.push(page.events.length);
      return page;
    };
    const maxMessageBytes = 200_000;
    const { url } = await scope.startHub({ store, limits: { maxMessageBytes, maxEventBytes: 100_000 } });
    const { socket } = await scope.client(url, 'alice', 'client-a');
    const big = { text: 'x'.repeat(50_000) };
    for (let seq = 1; seq <= 40; seq += 2) {
      await push(socket, [
        makeEvent('client-a', seq, { data: big }),
        makeEvent('client-a', seq + 1, { data: big }),
      ]);
    }
    const page = await request<PullResult>(socket, 'pull', { from: 0, limit: 5000 });
    expect(page.events.length).toBeLessThanOrEqual(4);
    expect(page.more).toBe(true);
    // The store itself stopped at the budget (it did not read 40 events to send 4).
    expect(Math.max(...reads)).toBeLessThanOrEqual(4);
  });

  it('answers pulls past the per-socket limit, and past the hub memory cap, with rate-limited', async () => {
    const { url } = await scope.startHub({ limits: { maxPullsPerSocket: 1 } });
    const { socket } = await scope.client(url, 'alice', 'client-a');
    await push(socket, [makeEvent('client-a', 1)]);
    const answers = await Promise.all(
      Array.from({ length: 8 }, () =>
        request<{ error?: { code: string } }>(socket, 'pull', { from: 0, limit: 10 }),
      ),
    );
    expect(answers.filter((a) => a.error?.code === 'rate-limited').length).toBeGreaterThan(0);
    expect(answers.filter((a) => a.error === undefined).length).toBeGreaterThan(0);

    const tight = await scope.startHub({
      limits: { maxHubMemoryBytes: 8 * 1024 * 1024, maxMessageBytes: 1024 * 1024, maxEventBytes: 64 * 1024 },
    });
    const { socket: other } = await scope.client(tight.url, 'bob', 'client-b');
    // A pull reserves four messages' worth: 4 MiB of 8, and no principal more than a quarter.
    expect(await request(other, 'pull', { from: 0, limit: 10 })).toMatchObject({
      error: { code: 'rate-limited', retryable: true },
    });
  });

  it('refuses pushes once a principal holds its share of the hub memory in gapped events', async () => {
    const { url, hub } = await scope.startHub({
      limits: { maxHubMemoryBytes: 16 * 1024 * 1024, gapTimeoutMs: 10_000 },
    });
    const { socket } = await scope.client(url, 'mallory', 'client-m', []);
    const big = { text: 'x'.repeat(100_000) };
    // Events far ahead of the next seq: each push is held for a gap until it times out.
    const held = Array.from({ length: 30 }, (_, i) =>
      push(socket, [makeEvent('client-m', 100 + i, { data: big })]),
    );
    const within = (p: Promise<unknown>) =>
      Promise.race([p, new Promise((resolve) => setTimeout(() => resolve('held'), 1_000))]);
    const answers = (await Promise.all(held.map(within))) as ({ error?: { code: string } } | 'held')[];
    const held_ = answers.filter((a) => a === 'held').length;
    const refused = answers.filter((a) => a !== 'held' && a.error?.code === 'rate-limited').length;
    expect(held_).toBeGreaterThan(0);
    expect(refused).toBeGreaterThan(0);
    expect(held_ + refused).toBe(30);
    // Another principal still gets its events in.
    const { socket: bob } = await scope.client(url, 'bob', 'client-b', []);
    expect((await push(bob, [makeEvent('client-b', 1)])).results[0]!.status).toBe('ok');
    expect(hub.metrics.registry.getSingleMetric('eventloom_hub_memory_held_bytes')).toBeDefined();
    void Promise.allSettled(held);
    socket.disconnect();
  });
});
