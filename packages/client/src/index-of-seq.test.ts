import fc from 'fast-check';
import { expect, it } from 'vitest';
import { indexOfSeq } from './index-of-seq.ts';

it('finds a clientSeq in a pending list by binary search, as a linear search would', () => {
  fc.assert(
    fc.property(
      fc.uniqueArray(fc.integer({ min: 1, max: 500 })),
      fc.integer({ min: 0, max: 501 }),
      (seqs, seq) => {
        const pending = seqs.sort((a, b) => a - b).map((clientSeq) => ({ row: { clientSeq } }));
        const i = pending.findIndex((p) => p.row.clientSeq === seq);
        expect(indexOfSeq(pending, seq)).toBe(i === -1 ? undefined : i);
      },
    ),
  );
});
