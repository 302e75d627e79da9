import { describe, expect, it } from 'vitest';
import { undefinedSlots } from './slots.ts';

describe('undefinedSlots', () => {
  it('makes an array of that many undefined slots, no holes', () => {
    const slots = undefinedSlots<number>(3);
    expect(slots).toEqual([undefined, undefined, undefined]);
    expect(Object.keys(slots)).toEqual(['0', '1', '2']);
    expect(undefinedSlots(0)).toEqual([]);
  });
});
