import { Limits, subscriptionsSchema } from '@eventloom/protocol';
import { ClientError, ClientErrorCode } from '../client-error.ts';
import { createBackoff } from './backoff.ts';
import type { SessionConfig } from './session-host.ts';
import { defaultSocketFactory } from './sync-socket.ts';
import type { SyncOptions, SyncTarget } from './sync-types.ts';
import { SyncWarnings } from './sync-warnings.ts';

/** The options of `createSync` as every session of the engine runs with them: defaults filled, limits clamped. */
export function resolveSessionConfig(loom: SyncTarget, options: SyncOptions): SessionConfig {
  const push = options.push ?? {};
  return {
    url: options.url,
    token: options.token,
    io: options.io ?? {},
    socket: options.socket ?? defaultSocketFactory,
    fingerprint: fingerprintOf(loom),
    warnings: new SyncWarnings(options.warn),
    maxEvents: clamp(push.maxEvents ?? Limits.maxBatchSize, 1, Limits.maxBatchSize),
    maxBytes: clamp(push.maxBytes ?? 1024 * 1024, Limits.maxEventBytes + 1024, Limits.maxMessageBytes - 1024),
    inFlight: clamp(push.inFlight ?? 4, 1, 16),
    pullLimit: clamp(options.pullLimit ?? 1000, 1, Limits.maxPullLimit),
    requestTimeoutMs: options.requestTimeoutMs ?? 20_000,
    // Waiting for the hub to learn an event version, or to come back from an internal failure.
    holdBackoff: createBackoff({
      ...options.backoff,
      initialMs: Math.max(1000, options.backoff?.initialMs ?? 1000),
      maxMs: Math.max(60_000, options.backoff?.maxMs ?? 60_000),
    }),
  };
}

/** The subscriptions as given to `createSync` or `setSubscriptions`: checked, duplicates dropped. */
export function checkSubscriptions(subscriptions: readonly string[]): readonly string[] {
  const parsed = subscriptionsSchema.safeParse(subscriptions);
  if (!parsed.success) {
    throw new ClientError(
      ClientErrorCode.invalid,
      `subscriptions: ${parsed.error.issues[0]?.message ?? 'invalid'}`,
    );
  }
  return [...new Set(parsed.data)];
}

/** Failures no retry can fix: wait for `goOnline()` (after the app, the token or the hub changed). */
export function isFatal(error: ClientError | undefined, token: SyncOptions['token']): boolean {
  if (error === undefined) return false;
  switch (error.code) {
    case ClientErrorCode.databaseClosed:
    case ClientErrorCode.versionConflict:
    case ClientErrorCode.protocolTooOld:
    case ClientErrorCode.protocolTooNew:
    case ClientErrorCode.hubChanged:
      return true;
    case ClientErrorCode.unauthenticated:
      // A token function may give a fresh token next time; a fixed one will not change.
      return typeof token !== 'function';
    default:
      return false;
  }
}

function fingerprintOf(loom: SyncTarget): string | null {
  try {
    return loom.registry.fingerprint;
  } catch {
    return null;
  }
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, Math.floor(value)));
}
