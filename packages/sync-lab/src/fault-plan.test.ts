import { describe, expect, it } from 'vitest';
import { NO_FAULTS, mergeFaultSettings, planChunk, type FaultSettings } from './fault-plan.ts';
import { seededRandom } from './seeded-random.ts';

const plans = (seed: number, settings: FaultSettings, sizes: readonly number[]) => {
  const random = seededRandom(seed);
  return sizes.map((size) => planChunk(random, settings, size));
};

const SIZES = Array.from({ length: 300 }, (_, i) => 1 + ((i * 7919) % 4000));
const EVERYTHING = mergeFaultSettings(NO_FAULTS, {
  delayMs: [5, 40],
  splitProbability: 0.5,
  maxPieces: 5,
  resetProbability: 0.1,
  blackholeProbability: 0.05,
  blackholeMs: [100, 300],
});

describe('planChunk', () => {
  it('is deterministic: the same seed and chunk sizes give the same plans', () => {
    expect(plans(11, EVERYTHING, SIZES)).toEqual(plans(11, EVERYTHING, SIZES));
    expect(plans(11, EVERYTHING, SIZES)).not.toEqual(plans(12, EVERYTHING, SIZES));
  });

  it('keeps every value within the settings', () => {
    const all = plans(3, EVERYTHING, SIZES);
    for (const [i, plan] of all.entries()) {
      expect(plan.delayMs).toBeGreaterThanOrEqual(5);
      expect(plan.delayMs).toBeLessThanOrEqual(40);
      expect(plan.pieces.reduce((a, b) => a + b, 0)).toBe(SIZES[i]);
      expect(plan.pieces.every((n) => n > 0)).toBe(true);
      expect(plan.pieces.length).toBeLessThanOrEqual(5);
      if (plan.resetAfter !== undefined) expect(plan.resetAfter).toBeLessThan(SIZES[i]!);
      if (plan.blackholeMs !== undefined) {
        expect(plan.blackholeMs).toBeGreaterThanOrEqual(100);
        expect(plan.blackholeMs).toBeLessThanOrEqual(300);
        expect(plan.resetAfter).toBeUndefined();
      }
    }
    // Each kind of fault happens at these rates.
    expect(all.some((p) => p.pieces.length > 1)).toBe(true);
    expect(all.some((p) => p.resetAfter !== undefined)).toBe(true);
    expect(all.some((p) => p.blackholeMs !== undefined)).toBe(true);
  });

  it('draws the same count whatever the settings, so changing faults does not shift later decisions', () => {
    const a = seededRandom(9);
    const b = seededRandom(9);
    for (const size of SIZES.slice(0, 50)) {
      planChunk(a, NO_FAULTS, size);
      planChunk(b, EVERYTHING, size);
    }
    expect(a.next()).toBe(b.next());
  });

  it('a clean pipe neither delays, splits, resets nor blackholes', () => {
    for (const plan of plans(1, NO_FAULTS, SIZES)) {
      expect(plan).toEqual({
        delayMs: 0,
        pieces: [plan.pieces[0]],
        resetAfter: undefined,
        blackholeMs: undefined,
      });
    }
  });
});

describe('mergeFaultSettings', () => {
  it('merges a subset and takes one number as a fixed range', () => {
    const merged = mergeFaultSettings(EVERYTHING, { delayMs: 3, resetProbability: 0 });
    expect(merged).toEqual({ ...EVERYTHING, delayMs: [3, 3], resetProbability: 0 });
  });

  it('refuses values that make no sense or would not end', () => {
    expect(() => mergeFaultSettings(NO_FAULTS, { splitProbability: 1.5 })).toThrow(/splitProbability/);
    expect(() => mergeFaultSettings(NO_FAULTS, { resetProbability: -0.1 })).toThrow(/resetProbability/);
    expect(() => mergeFaultSettings(NO_FAULTS, { delayMs: [10, 5] })).toThrow(/delayMs/);
    expect(() => mergeFaultSettings(NO_FAULTS, { blackholeMs: 3_600_000 })).toThrow(/blackholeMs/);
    expect(() => mergeFaultSettings(NO_FAULTS, { maxPieces: 1 })).toThrow(/maxPieces/);
  });
});
