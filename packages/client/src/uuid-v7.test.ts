import { UUID_V7_PATTERN } from '@eventloom/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createUuidV7 } from './uuid-v7.ts';

describe('createUuidV7', () => {
  it('makes canonical UUIDv7s whose first 48 bits are the time', () => {
    const id = createUuidV7({ now: () => 0x0192_f1c6_3a9b })();
    expect(id).toMatch(UUID_V7_PATTERN);
    expect(id.slice(0, 13)).toBe('0192f1c6-3a9b');
  });

  it('stays strictly increasing whatever the clock does, counter overflow included', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 300 }), (steps) => {
        let t = 1_800_000_000_000;
        const times = steps.map((s) => (t += s - 2));
        let i = 0;
        const next = createUuidV7({ now: () => times[i++ % times.length]! });
        const ids = Array.from({ length: times.length * 20 }, () => next());
        for (const id of ids) expect(id).toMatch(UUID_V7_PATTERN);
        expect([...ids].sort()).toEqual(ids);
        expect(new Set(ids).size).toBe(ids.length);
      }),
    );
  });

  it('moves a millisecond ahead when 4,096 ids share one', () => {
    const next = createUuidV7({ now: () => 1000, random: (b) => b.fill(0) });
    const ids = Array.from({ length: 4097 }, () => next());
    expect(ids.at(-1)!.slice(0, 13)).toBe('00000000-03e9');
    expect([...ids].sort()).toEqual(ids);
  });
});
