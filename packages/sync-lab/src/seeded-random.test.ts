import { describe, expect, it } from 'vitest';
import { deriveSeed, seededRandom } from './seeded-random.ts';

const draw = (seed: number | string, n = 20) => {
  const random = seededRandom(seed);
  return Array.from({ length: n }, () => random.next());
};

describe('seededRandom', () => {
  it('gives the same sequence for the same seed, and another for another seed', () => {
    expect(draw(42)).toEqual(draw(42));
    expect(draw('run-7')).toEqual(draw('run-7'));
    expect(draw(42)).not.toEqual(draw(43));
    expect(draw(1)).not.toEqual(draw('1'));
    expect(draw(-1)).not.toEqual(draw(2 ** 32 - 1));
  });

  it('is pinned: a seed replays the same numbers on every machine and version', () => {
    const random = seededRandom(20_261_127);
    expect(Array.from({ length: 4 }, () => random.int(0, 999))).toEqual([930, 905, 136, 575]);
  });

  it('draws floats in [0, 1) and integers within inclusive bounds', () => {
    const random = seededRandom(7);
    const ints = new Set<number>();
    for (let i = 0; i < 5000; i++) {
      const x = random.next();
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThan(1);
      ints.add(random.int(-2, 2));
    }
    expect([...ints].sort((a, b) => a - b)).toEqual([-2, -1, 0, 1, 2]);
  });

  it('spreads draws roughly evenly', () => {
    const random = seededRandom(99);
    const buckets = Array.from({ length: 10 }, () => 0);
    for (let i = 0; i < 100_000; i++) buckets[Math.floor(random.next() * 10)]!++;
    for (const count of buckets) expect(Math.abs(count - 10_000)).toBeLessThan(500);
  });

  it('chance(0) is never true and chance(1) always', () => {
    const random = seededRandom(3);
    for (let i = 0; i < 1000; i++) {
      expect(random.chance(0)).toBe(false);
      expect(random.chance(1)).toBe(true);
    }
  });

  it('forks streams that depend on the seed and labels only, not on what was drawn', () => {
    const a = seededRandom(5);
    const b = seededRandom(5);
    for (let i = 0; i < 17; i++) b.next();
    const fa = a.fork('connection', 3, 'up');
    const fb = b.fork('connection', 3, 'up');
    expect([fa.next(), fa.next()]).toEqual([fb.next(), fb.next()]);
    expect(a.fork('connection', 3, 'up').seed).toBe(deriveSeed(seededRandom(5).seed, 'connection', 3, 'up'));
    expect(a.fork('connection', 3, 'down').next()).not.toBe(a.fork('connection', 3, 'up').next());
    expect(a.fork(1, 2).next()).not.toBe(a.fork(2, 1).next());
  });

  it('refuses bad arguments', () => {
    const random = seededRandom(1);
    expect(() => random.int(2, 1)).toThrow(RangeError);
    expect(() => random.int(0.5, 1)).toThrow(RangeError);
    expect(() => random.pick([])).toThrow(RangeError);
    expect(() => seededRandom(Number.NaN)).toThrow(RangeError);
    expect(() => seededRandom(1.5)).toThrow(RangeError);
    expect(random.pick(['only'])).toBe('only');
  });
});
