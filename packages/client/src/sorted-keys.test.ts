import fc from 'fast-check';
import { expect, it } from 'vitest';
import { SortedKeys } from './sorted-keys.ts';

// The memory backend's ordered keys against a plain sorted set, under any mix of adds, deletes and
// range reads (front deletions included, which is how an outbox drains).
it('reads the same ranges as a sorted set after any adds and deletes', () => {
  const op = fc.oneof(
    fc.record({ kind: fc.constant('add' as const), key: fc.integer({ min: 0, max: 200 }) }),
    fc.record({ kind: fc.constant('delete' as const), key: fc.integer({ min: 0, max: 200 }) }),
    fc.record({ kind: fc.constant('deleteFirst' as const), count: fc.integer({ min: 1, max: 40 }) }),
    fc.record({
      kind: fc.constant('range' as const),
      lower: fc.integer({ min: -5, max: 205 }),
      upper: fc.integer({ min: -5, max: 205 }),
      limit: fc.integer({ min: 0, max: 50 }),
      reverse: fc.boolean(),
    }),
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 400 }), (ops) => {
      const live = new Set<number>();
      const keys = new SortedKeys<number>(
        (a, b) => a - b,
        (k) => live.has(k),
      );
      const remove = (k: number) => {
        if (live.delete(k)) keys.deleted();
      };
      for (const o of ops) {
        if (o.kind === 'add') {
          if (!live.has(o.key)) {
            live.add(o.key);
            keys.added(o.key);
          }
        } else if (o.kind === 'delete') remove(o.key);
        else if (o.kind === 'deleteFirst') {
          for (const k of [...live].sort((a, b) => a - b).slice(0, o.count)) remove(k);
        } else {
          const inside = [...live]
            .filter((k) => k >= o.lower && k <= o.upper)
            .sort((a, b) => (o.reverse ? b - a : a - b));
          const got = keys.range(
            (k) => k < o.lower,
            (k) => k > o.upper,
            o.limit,
            o.reverse,
          );
          expect(got).toEqual(inside.slice(0, o.limit));
        }
      }
      const all = keys.range(
        () => false,
        () => false,
        Infinity,
        false,
      );
      expect(all).toEqual([...live].sort((a, b) => a - b));
    }),
    { numRuns: 300 },
  );
});
