import { describe, expect, it } from 'vitest';
import { TokenBucket } from './token-bucket.ts';

describe('TokenBucket', () => {
  it('allows a burst up to its capacity, then refills with time', () => {
    let now = 0;
    const bucket = new TokenBucket({ capacity: 3, refillPerSecond: 2, now: () => now });
    expect([bucket.take(1), bucket.take(1), bucket.take(1), bucket.take(1)]).toEqual([
      true,
      true,
      true,
      false,
    ]);
    now += 500;
    expect(bucket.take(1)).toBe(true);
    expect(bucket.take(1)).toBe(false);
    now += 10_000;
    expect(bucket.take(3)).toBe(true);
    expect(bucket.take(1)).toBe(false);
  });

  it('spends nothing when it refuses', () => {
    const bucket = new TokenBucket({ capacity: 5, refillPerSecond: 0, now: () => 0 });
    expect(bucket.take(6)).toBe(false);
    expect(bucket.take(5)).toBe(true);
  });

  it('takes refunds back, never past its capacity', () => {
    const bucket = new TokenBucket({ capacity: 2, refillPerSecond: 0, now: () => 0 });
    expect(bucket.take(2)).toBe(true);
    bucket.refund(1);
    expect([bucket.take(1), bucket.take(1)]).toEqual([true, false]);
    bucket.refund(5);
    expect([bucket.take(3), bucket.take(2)]).toEqual([false, true]);
  });
});
