import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareCodeUnits } from './compare-code-units.ts';

describe('compareCodeUnits', () => {
  it('orders by UTF-16 code unit: upper case first, digits as text, a surrogate pair below U+E000', () => {
    expect(['b', 'B', 'a', '10', '2', '\uFB01', '😀'].sort(compareCodeUnits)).toEqual([
      '10',
      '2',
      'B',
      'a',
      'b',
      '😀',
      '\uFB01',
    ]);
  });

  it('agrees with the default sort, and is 0 only for equal strings', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'binary' })), (strings) => {
        expect([...strings].sort(compareCodeUnits)).toEqual([...strings].sort());
        for (const a of strings) {
          for (const b of strings) expect(compareCodeUnits(a, b) === 0).toBe(a === b);
        }
      }),
    );
  });
});
