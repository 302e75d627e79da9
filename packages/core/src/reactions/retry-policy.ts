import { CoreError, CoreErrorCode } from '../core-error.ts';

/** Exponential backoff between attempts: `initialMs × factor^(n-1)`, capped at `maxMs`, before retry n. */
export interface BackoffPolicy {
  /** Delay before the first retry. */
  readonly initialMs: number;
  /** Growth per retry (≥ 1). */
  readonly factor: number;
  /** Longest delay. */
  readonly maxMs: number;
  /**
   * Fraction of each delay (0 … 1) drawn at random and taken off, so that many runtimes failing
   * together do not retry in lockstep: with 0.5 a 1000 ms delay becomes 500 … 1000 ms. Default 0.
   */
  readonly jitter?: number;
}

/** How often a failing reaction runs before its event is dead-lettered (or its saga compensates). */
export interface RetryPolicy {
  /** Runs in all, the first included (≥ 1): 1 means no retry. */
  readonly attempts: number;
  readonly backoff: BackoffPolicy;
}

/** 5 attempts, 100 ms doubling up to 30 s, no jitter. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  attempts: 5,
  backoff: { initialMs: 100, factor: 2, maxMs: 30_000 },
};

/**
 * The delay before retry `retry` (1 for the one after the first failure).
 *
 * @example backoffDelay({ initialMs: 100, factor: 2, maxMs: 1000 }, 3) // 400
 */
export function backoffDelay(
  policy: BackoffPolicy,
  retry: number,
  random: () => number = Math.random,
): number {
  const base = Math.min(policy.maxMs, policy.initialMs * policy.factor ** Math.max(0, retry - 1));
  const jitter = policy.jitter ?? 0;
  return jitter > 0 ? Math.round(base * (1 - jitter * random())) : base;
}

/** Checks a retry policy (throws `invalid-definition`), filling in the default. */
export function resolveRetryPolicy(owner: string, policy: RetryPolicy | undefined): RetryPolicy {
  if (policy === undefined) return DEFAULT_RETRY_POLICY;
  const { attempts, backoff } = policy;
  const bad = (what: string) => new CoreError(CoreErrorCode.invalidDefinition, `${owner}: retry ${what}`);
  if (!Number.isSafeInteger(attempts) || attempts < 1)
    throw bad(`attempts must be an integer ≥ 1, got ${attempts}`);
  if (typeof backoff !== 'object' || backoff === null) throw bad('needs a backoff');
  const { initialMs, factor, maxMs, jitter } = backoff;
  if (!(initialMs >= 0) || !Number.isFinite(initialMs)) throw bad(`initialMs must be ≥ 0, got ${initialMs}`);
  if (!(factor >= 1) || !Number.isFinite(factor)) throw bad(`factor must be ≥ 1, got ${factor}`);
  if (!(maxMs >= initialMs) || !Number.isFinite(maxMs)) throw bad(`maxMs must be ≥ initialMs, got ${maxMs}`);
  if (jitter !== undefined && !(jitter >= 0 && jitter <= 1))
    throw bad(`jitter must be in 0 … 1, got ${jitter}`);
  return { attempts, backoff: { ...backoff } };
}
