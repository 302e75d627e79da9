import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IdWindow } from './id-window.ts';

describe('IdWindow', () => {
  it('keeps the last ids, oldest first, forgetting the oldest beyond its size', () => {
    const window = new IdWindow(3, ['a', 'b']);
    window.add('c');
    window.add('b');
    window.add('d');
    expect(window.toArray()).toEqual(['b', 'c', 'd']);
    expect(window.has('a')).toBe(false);
    expect(window.has('d')).toBe(true);
    window.add('e');
    window.add('f');
    expect(window.toArray()).toEqual(['d', 'e', 'f']);
    expect(new IdWindow(2, ['x', 'y', 'z']).toArray()).toEqual(['y', 'z']);
  });

  it('keeps nothing with size 0', () => {
    const window = new IdWindow(0, ['a']);
    window.add('b');
    expect(window.has('b')).toBe(false);
    expect(window.toArray()).toEqual([]);
  });
});

describe('IdWindow, against a list of the last ids', () => {
  it('answers has() and toArray() as the plain model does, whatever the ids and the size', () => {
    // Many ids for few fingerprint buckets: colliding fingerprints are exercised as well.
    const id = fc.oneof(
      fc
        .integer({ min: 0, max: 3000 })
        .map((n) => `0190a1b2-c3d4-7e5f-8a6b-${n.toString(16).padStart(12, '0')}`),
      fc.string({ maxLength: 6 }),
    );
    const op = fc.oneof(
      id.map((value) => ({ add: value })),
      id.map((value) => ({ has: value })),
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 12 }),
        fc.array(id, { maxLength: 20 }),
        fc.array(op, { maxLength: 300 }),
        (size, initial, ops) => {
          const window = new IdWindow(size, initial);
          const model: string[] = [];
          const add = (value: string) => {
            if (size === 0 || model.includes(value)) return;
            model.push(value);
            if (model.length > size) model.shift();
          };
          for (const value of initial.slice(-size)) add(value);
          for (const o of ops) {
            if ('add' in o) {
              window.add(o.add);
              add(o.add);
            } else expect(window.has(o.has)).toBe(model.includes(o.has));
            expect(window.toArray()).toEqual(model);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
