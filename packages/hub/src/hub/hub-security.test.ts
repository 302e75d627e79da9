import { generateKeyPair, exportJWK, exportSPKI, SignJWT, UnsecuredJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { jwtAuthenticator } from './authenticator.ts';
import { HubError } from './hub-error.ts';
import {
  TEST_AUDIENCE,
  TEST_ISSUER,
  connectClient,
  connectError,
  hello,
  openClient,
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
