import fc from 'fast-check';
import { expect, test } from 'vitest';
import { formatHlc, HLC_MAX_COUNTER, HLC_MAX_WALL, parseHlc } from './hlc-string.ts';

const ts = fc.record({
  wall: fc.integer({ min: 0, max: HLC_MAX_WALL }),
  counter: fc.integer({ min: 0, max: HLC_MAX_COUNTER }),
  node: fc.stringMatching(/^[A-Za-z0-9_-]{1,20}$/),
});

test('format then parse is the identity', () => {
  fc.assert(
    fc.property(ts, (t) => {
      expect(parseHlc(formatHlc(t))).toEqual(t);
    }),
  );
});

test('string order is (wall, counter, node) order', () => {
  fc.assert(
    fc.property(ts, ts, (a, b) => {
      const byClock =
        a.wall - b.wall || a.counter - b.counter || (a.node < b.node ? -1 : a.node > b.node ? 1 : 0);
      const sa = formatHlc(a);
      const sb = formatHlc(b);
      const byString = sa < sb ? -1 : sa > sb ? 1 : 0;
      expect(Math.sign(byString)).toBe(Math.sign(byClock));
    }),
  );
});

test('refuses values the format cannot hold', () => {
  expect(() => formatHlc({ wall: -1, counter: 0, node: 'a' })).toThrow(RangeError);
  expect(() => formatHlc({ wall: 1, counter: HLC_MAX_COUNTER + 1, node: 'a' })).toThrow(RangeError);
  expect(() => formatHlc({ wall: 1, counter: 0, node: 'a b' })).toThrow(RangeError);
  expect(parseHlc('not-a-clock')).toBeUndefined();
});
