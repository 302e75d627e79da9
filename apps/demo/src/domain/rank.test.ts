import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { byRank, rankAt, type Ranked } from './rank.ts';

describe('ranks', () => {
  it('puts an item exactly where it was dropped', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: -1000, max: 1000 }), { maxLength: 12 }),
        fc.nat({ max: 13 }),
        (ranks, index) => {
          const siblings: Ranked[] = ranks.sort((a, b) => a - b).map((rank, i) => ({ id: `s${i}`, rank }));
          const placed = { id: 'new', rank: rankAt(siblings, index) };
          const order = [...siblings, placed].sort(byRank);
          expect(order.indexOf(placed)).toBe(Math.min(index, siblings.length));
        },
      ),
    );
  });

  it('breaks ties by id, so every device sorts alike', () => {
    const a = { id: 'a', rank: 1 };
    const b = { id: 'b', rank: 1 };
    expect([b, a].sort(byRank)).toEqual([a, b]);
    expect(rankAt([], 0)).toBe(1);
  });
});
