import { describe, expect, it } from 'vitest';
import { committedJson } from './committed-json.ts';
import { RecentCommits } from './recent-commits.ts';

const AT = '2026-11-27T12:00:00.000Z';
const envelope = (n: number) => JSON.stringify({ id: `e${n}`, type: 't', data: { n } });
const fill = (recent: RecentCommits, from: number, to: number) => {
  for (let p = from; p <= to; p++) recent.add(envelope(p), p, p, AT);
};

describe('RecentCommits', () => {
  it('answers pages of what it holds, exactly as the stored texts parse', () => {
    const recent = new RecentCommits(10);
    fill(recent, 1, 5);
    const page = recent.page(1, 2)!;
    expect(page.events).toEqual([2, 3].map((p) => JSON.parse(committedJson(envelope(p), p, p, AT))));
    expect([page.until, page.head]).toEqual([3, 5]);
    expect(recent.page(3, 100)).toMatchObject({ until: 5, head: 5 });
    expect(recent.page(3, 100)!.events.map((e) => e.position)).toEqual([4, 5]);
  });

  it('says nothing of positions it does not hold: before its first, or at and past its last', () => {
    const recent = new RecentCommits(10);
    expect(recent.page(0, 10)).toBeUndefined();
    fill(recent, 7, 9);
    expect(recent.page(5, 10)).toBeUndefined();
    expect(recent.page(6, 10)!.events.map((e) => e.position)).toEqual([7, 8, 9]);
    expect(recent.page(9, 10)).toBeUndefined();
  });

  it('starts anew when a commit does not follow on, and keeps a bounded tail', () => {
    const recent = new RecentCommits(4);
    fill(recent, 1, 3);
    fill(recent, 10, 11);
    expect(recent.page(2, 10)).toBeUndefined();
    expect(recent.page(9, 10)!.events.map((e) => e.position)).toEqual([10, 11]);
    fill(recent, 12, 40);
    expect(recent.last).toBe(40);
    expect(recent.page(20, 100)).toBeUndefined();
    expect(recent.page(36, 100)!.events.map((e) => e.position)).toEqual([37, 38, 39, 40]);
    recent.clear();
    expect(recent.page(36, 100)).toBeUndefined();
  });
});
