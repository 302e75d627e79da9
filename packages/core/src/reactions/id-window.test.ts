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
