import { describe, expect, it } from 'vitest';
import { HubMemory } from './hub-memory.ts';

describe('HubMemory', () => {
  it('grants reservations while they fit under the cap, counting the outgoing sample', () => {
    const memory = new HubMemory(100);
    expect(memory.tryReserve(60)).toBe(true);
    expect(memory.tryReserve(50)).toBe(false);
    expect(memory.reserved).toBe(60);
    memory.sampleOutgoing(30);
    expect(memory.used).toBe(90);
    expect(memory.tryReserve(20)).toBe(false);
    memory.release(60);
    expect(memory.tryReserve(70)).toBe(true);
    expect(memory.tryReserve(1)).toBe(false);
    memory.sampleOutgoing(0);
    expect(memory.tryReserve(30)).toBe(true);
  });

  it('never goes below zero on a release it did not grant', () => {
    const memory = new HubMemory(10);
    memory.release(5);
    expect(memory.reserved).toBe(0);
    expect(memory.tryReserve(10)).toBe(true);
  });
});
