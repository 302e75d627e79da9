import { formatHlc } from '@eventloom/protocol';
import { sampleCommitted } from '@eventloom/protocol/testing';
import { expect, it } from 'vitest';
import { DeviceClock } from './device-clock.ts';

const at = (wall: number, node: string, counter = 0) => formatHlc({ wall, counter, node });
const seen = (hlc: string, clientId: string) => sampleCommitted({ hlc, clientId });

it('stamps after every event seen from another device, however many arrived since the last stamp', () => {
  const clock = new DeviceClock('me', () => 1_000, undefined);
  const first = clock.stamp();
  clock.observe([seen(at(5_000, 'other', 3), 'other'), seen(at(4_000, 'other'), 'other')]);
  clock.observe([seen(at(2_000, 'third'), 'third')]);
  const next = clock.stamp();
  expect(next > first).toBe(true);
  expect(next > at(5_000, 'other', 3)).toBe(true);
  // Merged once: the stamp after goes on from it.
  const after = clock.stamp();
  expect(after > next).toBe(true);
  expect(after < at(5_001, 'me')).toBe(true);
});

it('ignores its own events, keeps its time against a clock too far ahead, and keeps what it saw across a catch-up', () => {
  const clock = new DeviceClock('me', () => 1_000, undefined);
  clock.observe([seen(at(9_000, 'me'), 'me')]);
  expect(clock.stamp() < at(9_000, 'me')).toBe(true);
  // Far beyond the allowed drift (a week): the event is kept, its time is not.
  const wild = 1_000 + 30 * 24 * 3600 * 1000;
  clock.observe([seen(at(wild, 'other'), 'other')]);
  expect(clock.stamp() < at(2_000, 'me')).toBe(true);
  clock.observe([seen(at(7_000, 'other'), 'other')]);
  clock.catchUp(at(6_000, 'tab'));
  expect(clock.stamp() > at(7_000, 'other')).toBe(true);
});

it('a clock too far ahead hides no valid event seen in the same window, in either order', () => {
  const wild = at(1_000 + 30 * 24 * 3600 * 1000, 'other');
  for (const order of [
    [at(7_000, 'other'), wild],
    [wild, at(7_000, 'other')],
  ]) {
    const clock = new DeviceClock('me', () => 1_000, undefined);
    clock.stamp();
    for (const hlc of order) clock.observe([seen(hlc, 'other')]);
    const next = clock.stamp();
    expect(next > at(7_000, 'other')).toBe(true);
    expect(next < at(7_001, 'me')).toBe(true);
  }
  // The same within one batch.
  const clock = new DeviceClock('me', () => 1_000, undefined);
  clock.observe([seen(at(7_000, 'other'), 'other'), seen(wild, 'other')]);
  expect(clock.stamp() > at(7_000, 'other')).toBe(true);
});

it('merges an hlc right at the drift limit and leaves out one a millisecond beyond it', () => {
  const week = 7 * 24 * 3600 * 1000;
  const clock = new DeviceClock('me', () => 1_000, undefined);
  clock.observe([seen(at(1_000 + week, 'other', 5), 'other')]);
  expect(clock.stamp() > at(1_000 + week, 'other', 5)).toBe(true);
  const fresh = new DeviceClock('me', () => 1_000, undefined);
  fresh.observe([seen(at(1_001 + week, 'other'), 'other')]);
  expect(fresh.stamp() < at(2_000, 'me')).toBe(true);
});
