import { describe, expect, it } from 'vitest';
import { createBackoff, seededRandom } from './backoff.ts';

describe('createBackoff', () => {
  it('grows exponentially up to the cap, with the jitter share drawn at random', () => {
    const none = createBackoff({ initialMs: 100, maxMs: 1000, factor: 2, jitter: 0 });
    expect([0, 1, 2, 3, 4, 5].map((a) => none.delay(a))).toEqual([100, 200, 400, 800, 1000, 1000]);
    const half = createBackoff({ initialMs: 100, maxMs: 1000, seed: 3 });
    for (let attempt = 0; attempt < 8; attempt++) {
      const base = Math.min(1000, 100 * 2 ** attempt);
      const d = half.delay(attempt);
      expect(d).toBeGreaterThanOrEqual(base / 2);
      expect(d).toBeLessThanOrEqual(base);
    }
  });

  it('replays the same delays from the same seed, and spreads clients of different seeds', () => {
    const delays = (seed: number) => {
      const b = createBackoff({ seed, jitter: 1 });
      return [0, 1, 2, 3, 4].map((a) => b.delay(a));
    };
    expect(delays(7)).toEqual(delays(7));
    expect(delays(7)).not.toEqual(delays(8));
  });

  it('refuses options that make no sense', () => {
    expect(() => createBackoff({ initialMs: 10, maxMs: 5 })).toThrow(RangeError);
    expect(() => createBackoff({ jitter: 2 })).toThrow(RangeError);
  });
});

describe('seededRandom', () => {
  it('gives numbers in [0, 1), the same for the same seed', () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    const values = Array.from({ length: 1000 }, () => a());
    expect(values).toEqual(Array.from({ length: 1000 }, () => b()));
    expect(values.every((v) => v >= 0 && v < 1)).toBe(true);
    const mean = values.reduce((s, v) => s + v, 0) / values.length;
    expect(mean).toBeGreaterThan(0.4);
    expect(mean).toBeLessThan(0.6);
  });
});
