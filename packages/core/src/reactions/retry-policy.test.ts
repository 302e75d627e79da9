import { describe, expect, it } from 'vitest';
import { backoffDelay, DEFAULT_RETRY_POLICY, resolveRetryPolicy } from './retry-policy.ts';

describe('backoffDelay', () => {
  it('grows by the factor from the initial delay, up to the cap', () => {
    const policy = { initialMs: 100, factor: 3, maxMs: 2_000 };
    expect([1, 2, 3, 4, 5].map((n) => backoffDelay(policy, n))).toEqual([100, 300, 900, 2_000, 2_000]);
  });

  it('takes up to the jitter fraction off, by the random draw', () => {
    const policy = { initialMs: 1_000, factor: 2, maxMs: 10_000, jitter: 0.25 };
    expect(backoffDelay(policy, 1, () => 0)).toBe(1_000);
    expect(backoffDelay(policy, 1, () => 0.999_999)).toBe(750);
    expect(backoffDelay(policy, 2, () => 0.5)).toBe(1_750);
  });
});

describe('resolveRetryPolicy', () => {
  it('defaults to 5 attempts doubling from 100 ms to 30 s', () => {
    expect(resolveRetryPolicy('h', undefined)).toBe(DEFAULT_RETRY_POLICY);
    expect(DEFAULT_RETRY_POLICY).toEqual({
      attempts: 5,
      backoff: { initialMs: 100, factor: 2, maxMs: 30_000 },
    });
  });

  it.each([
    [{ attempts: 1.5, backoff: { initialMs: 1, factor: 1, maxMs: 1 } }, /attempts/],
    [{ attempts: 2, backoff: { initialMs: -1, factor: 1, maxMs: 1 } }, /initialMs/],
    [{ attempts: 2, backoff: { initialMs: 1, factor: 1, maxMs: 0 } }, /maxMs/],
    [{ attempts: 2, backoff: { initialMs: 1, factor: 1, maxMs: 1, jitter: 2 } }, /jitter/],
  ])('refuses %j', (policy, message) => {
    expect(() => resolveRetryPolicy('h', policy)).toThrow(message);
  });
});
