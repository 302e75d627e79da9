import { createPublicKey, type KeyObject } from 'node:crypto';
import type { Principal } from '@eventloom/protocol';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import { HubError, HubErrorCode } from './hub-error.ts';

/** What an {@link Authenticator} is given: the handshake of one Socket.IO connection. */
export interface AuthRequest {
  /** `socket.handshake.auth.token`, as the client sent it (unchecked). */
  readonly token: unknown;
  /** The connection's remote address. */
  readonly address: string;
}

/** The verdict on a handshake: a principal (with when its credentials expire), or why not. */
export type AuthOutcome =
  | {
      readonly ok: true;
      readonly principal: Principal;
      readonly expiresAt?: number;
      /** The verified token's claims, when the credentials are a token (for admin checks by role). */
      readonly claims?: Readonly<Record<string, unknown>>;
    }
  | { readonly ok: false; readonly message: string };

/**
 * Decides who a connection is. `expiresAt` (ms since the epoch) makes the hub disconnect the
 * socket when the credentials expire. Must not throw; a throw counts as a refusal.
 */
export interface Authenticator {
  authenticate(request: AuthRequest): Promise<AuthOutcome>;
  /** True only for {@link insecureDevAuthenticator}: the hub announces it loudly. */
  readonly insecure?: boolean;
}

/** How {@link jwtAuthenticator} verifies tokens: exactly one of `secret`, `publicKey`, `jwks`. */
export interface JwtAuthOptions {
  /** An HS256 shared secret (at least 32 bytes). */
  readonly secret?: string | Uint8Array;
  /** A public key in PEM (SPKI) form: RSA (RS256), EC (ES256/384/512) or Ed25519 (EdDSA). */
  readonly publicKey?: string;
  /** A JSON Web Key Set, as parsed from a JWKS file. */
  readonly jwks?: JSONWebKeySet;
  /** The required `iss` claim. */
  readonly issuer?: string;
  /** The required `aud` claim. */
  readonly audience?: string;
  /** Seconds of clock skew tolerated on `exp` and `nbf`; default 0. */
  readonly clockToleranceSeconds?: number;
}

/**
 * Verifies a JWT from the handshake with `jose`: signature (never `alg: none`), `exp`, `nbf`,
 * and `iss`/`aud` when configured; the principal is `{ sub, iss }`. Throws a {@link HubError}
 * `config` on unusable options.
 *
 * @example
 * const auth = jwtAuthenticator({ secret: process.env.JWT_SECRET!, audience: 'eventloom' });
 * await createHub({ store, auth, port: 8080 });
 */
export function jwtAuthenticator(options: JwtAuthOptions): Authenticator {
  const sources = [options.secret, options.publicKey, options.jwks].filter((s) => s !== undefined);
  if (sources.length !== 1) {
    throw new HubError(HubErrorCode.config, 'jwt auth needs exactly one of secret, publicKey or jwks');
  }
  const verifier = makeVerifier(options);
  const claims = {
    algorithms: verifier.algorithms,
    ...(options.issuer === undefined ? {} : { issuer: options.issuer }),
    ...(options.audience === undefined ? {} : { audience: options.audience }),
    clockTolerance: options.clockToleranceSeconds ?? 0,
    requiredClaims: ['sub'],
  };
  return {
    async authenticate(request) {
      if (typeof request.token !== 'string' || request.token.length === 0) {
        return { ok: false, message: 'no token' };
      }
      if (request.token.length > 16 * 1024) return { ok: false, message: 'token too long' };
      try {
        const { payload } = await jwtVerify(request.token, verifier.key, claims);
        const sub = payload.sub;
        if (typeof sub !== 'string' || sub.length === 0 || sub.length > 256) {
          return { ok: false, message: 'token has no usable sub' };
        }
        const iss = typeof payload.iss === 'string' && payload.iss.length <= 256 ? payload.iss : undefined;
        const principal: Principal = iss === undefined ? { sub } : { sub, iss };
        const tokenClaims: Readonly<Record<string, unknown>> = payload;
        return typeof payload.exp === 'number'
          ? { ok: true, principal, expiresAt: payload.exp * 1000, claims: tokenClaims }
          : { ok: true, principal, claims: tokenClaims };
      } catch (cause) {
        return { ok: false, message: describeJoseError(cause) };
      }
    },
  };
}

/**
 * Accepts every connection as the principal `{ sub: 'dev' }`. For the demo on one machine only;
 * the hub logs a warning at start and on every connection it lets in this way.
 */
export function insecureDevAuthenticator(): Authenticator {
  return {
    insecure: true,
    authenticate: () => Promise.resolve({ ok: true, principal: { sub: 'dev' } }),
  };
}

function makeVerifier(options: JwtAuthOptions): {
  key: Uint8Array | KeyObject | JWTVerifyGetKey;
  algorithms: string[];
} {
  if (options.secret !== undefined) {
    const key =
      typeof options.secret === 'string' ? new TextEncoder().encode(options.secret) : options.secret;
    if (key.byteLength < 32) {
      throw new HubError(HubErrorCode.config, 'the HS256 secret must be at least 32 bytes');
    }
    return { key, algorithms: ['HS256'] };
  }
  if (options.publicKey !== undefined) {
    let key: KeyObject;
    try {
      key = createPublicKey(options.publicKey);
    } catch (cause) {
      throw new HubError(HubErrorCode.config, 'the public key is not a PEM public key', { cause });
    }
    return { key, algorithms: algorithmsFor(key) };
  }
  try {
    const jwks = createLocalJWKSet(options.jwks as JSONWebKeySet);
    return {
      key: jwks,
      algorithms: [
        'RS256',
        'RS384',
        'RS512',
        'PS256',
        'PS384',
        'PS512',
        'ES256',
        'ES384',
        'ES512',
        'EdDSA',
        'Ed25519',
      ],
    };
  } catch (cause) {
    throw new HubError(HubErrorCode.config, 'the JWKS is not a JSON Web Key Set', { cause });
  }
}

function algorithmsFor(key: KeyObject): string[] {
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return ['RS256', 'RS384', 'RS512'];
    case 'rsa-pss':
      return ['PS256', 'PS384', 'PS512'];
    case 'ec': {
      const curve = key.asymmetricKeyDetails?.namedCurve;
      if (curve === 'prime256v1' || curve === 'P-256') return ['ES256'];
      if (curve === 'secp384r1' || curve === 'P-384') return ['ES384'];
      if (curve === 'secp521r1' || curve === 'P-521') return ['ES512'];
      throw new HubError(HubErrorCode.config, `unsupported EC curve ${String(curve)}`);
    }
    case 'ed25519':
      return ['EdDSA', 'Ed25519'];
    default:
      throw new HubError(HubErrorCode.config, `unsupported key type ${String(key.asymmetricKeyType)}`);
  }
}

function describeJoseError(cause: unknown): string {
  const code = typeof cause === 'object' && cause !== null && 'code' in cause ? String(cause.code) : '';
  switch (code) {
    case 'ERR_JWT_EXPIRED':
      return 'token expired';
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      return `token claim rejected: ${cause instanceof Error ? cause.message : 'invalid claim'}`;
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return 'token algorithm not allowed';
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return 'token signature invalid';
    case 'ERR_JWKS_NO_MATCHING_KEY':
      return 'no key matches the token';
    default:
      return 'token invalid';
  }
}
