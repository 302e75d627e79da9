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
  /** Seconds of clock skew tolerated on `exp`, `nbf` and `iat`; default 0. */
  readonly clockToleranceSeconds?: number;
  /**
   * The longest a token may be valid, in seconds (default 86,400: a day): a token whose `exp` is
   * further than this from its `iat` (or from now, without `iat`), or issued longer ago, is refused.
   */
  readonly maxTokenAgeSeconds?: number;
}

/** The longest a token may be valid unless told otherwise: a day. */
export const DEFAULT_MAX_TOKEN_AGE_SECONDS = 86_400;
/** The longest `iss` and `sub` the hub takes; a longer one is refused, not cut or dropped. */
const MAX_CLAIM_LENGTH = 256;

/**
 * Verifies a JWT from the handshake with `jose`: signature (never `alg: none`), `exp` (required,
 * at most `maxTokenAgeSeconds` ahead), `nbf`, `iat` (not in the future), and `iss`/`aud` when
 * configured; the principal is `{ sub, iss }` (each at most 256 characters, else refused). Throws
 * a {@link HubError} `config` on unusable options.
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
  const tolerance = options.clockToleranceSeconds ?? 0;
  const maxAge = options.maxTokenAgeSeconds ?? DEFAULT_MAX_TOKEN_AGE_SECONDS;
  if (!Number.isFinite(maxAge) || maxAge <= 0) {
    throw new HubError(HubErrorCode.config, 'maxTokenAgeSeconds must be a positive number of seconds');
  }
  const claims = {
    algorithms: verifier.algorithms,
    ...(options.issuer === undefined ? {} : { issuer: options.issuer }),
    ...(options.audience === undefined ? {} : { audience: options.audience }),
    clockTolerance: tolerance,
    requiredClaims: ['sub', 'exp'],
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
        if (typeof sub !== 'string' || sub.length === 0 || sub.length > MAX_CLAIM_LENGTH) {
          return { ok: false, message: 'token has no usable sub' };
        }
        const iss = payload.iss;
        if (
          iss !== undefined &&
          (typeof iss !== 'string' || iss.length === 0 || iss.length > MAX_CLAIM_LENGTH)
        ) {
          return { ok: false, message: `token iss is empty or longer than ${MAX_CLAIM_LENGTH} characters` };
        }
        const age = checkAge(payload.exp!, payload.iat, maxAge, tolerance);
        if (age !== undefined) return { ok: false, message: age };
        const principal: Principal = iss === undefined ? { sub } : { sub, iss };
        const tokenClaims: Readonly<Record<string, unknown>> = payload;
        return { ok: true, principal, expiresAt: payload.exp! * 1000, claims: tokenClaims };
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

/** Why a token's times are refused (beyond jose's `exp` and `nbf` checks), or undefined. */
function checkAge(
  exp: number,
  iat: number | undefined,
  maxAge: number,
  tolerance: number,
): string | undefined {
  const now = Date.now() / 1000;
  if (iat !== undefined && iat > now + tolerance) return 'token issued in the future (iat)';
  if (iat !== undefined && now - iat > maxAge + tolerance) return `token older than ${maxAge} s (iat)`;
  if (exp - (iat ?? now) > maxAge + tolerance) return `token valid for longer than ${maxAge} s (exp)`;
  return undefined;
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
