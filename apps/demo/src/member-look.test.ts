import { describe, expect, it } from 'vitest';
import { newMemberLook } from './member-look.ts';

describe('newMemberLook', () => {
  it('gives a device the same look every time', () => {
    expect(newMemberLook('device-1', [])).toEqual(newMemberLook('device-1', []));
  });

  it('never takes a name a known member has, while one is free', () => {
    const members: { name: string }[] = [];
    for (let i = 0; i < 20; i++) {
      const { name } = newMemberLook(`device-${i}`, members);
      expect(members.map((m) => m.name)).not.toContain(name);
      members.push({ name });
    }
    // All twenty names taken: the client id tells the next one apart.
    expect(newMemberLook('device-xyz', members).name).toMatch(/ xyz$/);
  });

  it('spreads client ids that differ in one character over different names', () => {
    const names = new Set(['a1', 'a2', 'a3', 'a4', 'b1'].map((id) => newMemberLook(id, []).name));
    expect(names.size).toBeGreaterThan(2);
  });
});
