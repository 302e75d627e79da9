import { formatHlc, HLC_MAX_COUNTER, parseHlc, type HlcTimestamp } from '@eventloom/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CoreError, CoreErrorCode } from './core-error.ts';
import { compareHlc, createHlc, DEFAULT_HLC_MAX_DRIFT_MS } from './hlc.ts';

const DAY = 24 * 60 * 60 * 1000;
const T0 = 1_732_700_000_000;

/** A physical clock the test moves by hand. */
function manualClock(start = T0) {
  let t = start;
  return {
    now: () => t,
    set: (v: number) => {
      t = v;
    },
  };
}

/** Orders parsed timestamps field by field: the model the strings must agree with. */
function compareTuples(a: HlcTimestamp, b: HlcTimestamp): number {
  if (a.wall !== b.wall) return a.wall - b.wall;
  if (a.counter !== b.counter) return a.counter - b.counter;
  return a.node < b.node ? -1 : a.node > b.node ? 1 : 0;
}

const sign = (n: number) => Math.sign(n);

type Step =
  | { readonly op: 'tick'; readonly ms: number }
  | { readonly op: 'skew'; readonly node: number; readonly offset: number }
  | { readonly op: 'now'; readonly node: number }
  | { readonly op: 'send'; readonly from: number; readonly to: number };

const stepArb = (nodes: number): fc.Arbitrary<Step> =>
  fc.oneof(
    fc.record({ op: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 50 }) }),
    // Skew within ±24 h, set afresh each time: covers backward and forward jumps of one node's clock.
    fc.record({
      op: fc.constant('skew' as const),
      node: fc.nat(nodes - 1),
      offset: fc.integer({ min: -DAY, max: DAY }),
    }),
    fc.record({ op: fc.constant('now' as const), node: fc.nat(nodes - 1) }),
    fc.record({ op: fc.constant('send' as const), from: fc.nat(nodes - 1), to: fc.nat(nodes - 1) }),
  );

const scenarioArb = fc
  .integer({ min: 2, max: 5 })
  .chain((nodes) => fc.tuple(fc.constant(nodes), fc.array(stepArb(nodes), { minLength: 1, maxLength: 300 })));

describe('createHlc', () => {
  it('issues strictly increasing, globally unique timestamps across nodes under skew and backward jumps', () => {
    fc.assert(
      fc.property(scenarioArb, ([nodes, steps]) => {
        let trueTime = T0;
        const offsets = Array.from({ length: nodes }, () => 0);
        const clocks = offsets.map((_, i) => createHlc({ node: `n${i}`, now: () => trueTime + offsets[i]! }));
        // Each node's timestamps in issue order, and every (remote, result) pair of a receive().
        const issuedBy: string[][] = offsets.map(() => []);
        const received: [remote: string, result: string][] = [];
        for (const step of steps) {
          switch (step.op) {
            case 'tick':
              trueTime += step.ms;
              break;
            case 'skew':
              offsets[step.node] = step.offset;
              break;
            case 'now':
              issuedBy[step.node]!.push(clocks[step.node]!.now());
              break;
            case 'send': {
              const remote = clocks[step.from]!.now();
              issuedBy[step.from]!.push(remote);
              const result = clocks[step.to]!.receive(remote);
              issuedBy[step.to]!.push(result);
              received.push([remote, result]);
              break;
            }
          }
        }
        for (const [i, issued] of issuedBy.entries()) {
          const increasing = issued.every((ts, j) => j === 0 || compareHlc(ts, issued[j - 1]!) > 0);
          expect(increasing, `node ${i}: ${issued.join(' ')}`).toBe(true);
          expect(clocks[i]!.last()).toBe(issued.at(-1));
        }
        const all = issuedBy.flat();
        expect(new Set(all).size).toBe(all.length);
        expect(received.filter(([remote, result]) => compareHlc(result, remote) <= 0)).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });

  it('keeps the wall time at the largest physical time seen, not beyond (bounded drift)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -DAY, max: DAY }), { minLength: 1, maxLength: 100 }),
        (jumps) => {
          const pc = manualClock();
          const clock = createHlc({ node: 'a', now: pc.now });
          let maxPhysical = 0;
          for (const jump of jumps) {
            pc.set(T0 + jump);
            maxPhysical = Math.max(maxPhysical, T0 + jump);
            const ts = parseHlc(clock.now())!;
            // Counter overflow is the only way past the largest physical time, and 100 steps cannot reach it.
            expect(ts.wall).toBe(maxPhysical);
          }
        },
      ),
    );
  });

  it('returns from receive() a timestamp greater than both the remote and the previous local one', () => {
    const tsArb = fc.record({
      wall: fc.integer({ min: T0 - 2 * DAY, max: T0 + 2 * DAY }),
      counter: fc.integer({ min: 0, max: HLC_MAX_COUNTER }),
      node: fc.constantFrom('a', 'b', 'zz', 'a-1'),
    });
    fc.assert(
      fc.property(
        fc.array(fc.tuple(tsArb, fc.integer({ min: -DAY, max: DAY })), { minLength: 1 }),
        (msgs) => {
          const pc = manualClock();
          const clock = createHlc({ node: 'local', now: pc.now });
          let prev = clock.now();
          for (const [ts, jump] of msgs) {
            pc.set(T0 + jump);
            const remote = formatHlc(ts);
            const got = clock.receive(remote);
            expect(compareHlc(got, remote)).toBeGreaterThan(0);
            expect(compareHlc(got, prev)).toBeGreaterThan(0);
            prev = got;
          }
        },
      ),
    );
  });

  it('stays after a persisted last timestamp when restarted with a clock that went back', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.constant('now' as const), fc.integer({ min: 0, max: DAY })), { maxLength: 50 }),
        fc.integer({ min: 0, max: 2 * DAY }),
        fc.integer({ min: 0, max: 5 }),
        (ops, setBack, counterBump) => {
          const pc = manualClock();
          const first = createHlc({ node: 'dev', now: pc.now });
          let last = first.now();
          for (const op of ops) {
            if (op === 'now') last = first.now();
            else last = first.receive(formatHlc({ wall: T0 + op, counter: counterBump, node: 'other' }));
          }
          expect(first.last()).toBe(last);
          pc.set(T0 - setBack);
          const restarted = createHlc({ node: 'dev', now: pc.now, last });
          expect(restarted.last()).toBe(last);
          const next = restarted.now();
          expect(compareHlc(next, last)).toBeGreaterThan(0);
          expect(compareHlc(restarted.now(), next)).toBeGreaterThan(0);
        },
      ),
    );
  });

  it('follows the physical clock when it is ahead, and counts within one millisecond', () => {
    const pc = manualClock();
    const clock = createHlc({ node: 'c1', now: pc.now });
    expect(clock.last()).toBeUndefined();
    expect(clock.now()).toBe(formatHlc({ wall: T0, counter: 0, node: 'c1' }));
    expect(clock.now()).toBe(formatHlc({ wall: T0, counter: 1, node: 'c1' }));
    pc.set(T0 + 5);
    expect(clock.now()).toBe(formatHlc({ wall: T0 + 5, counter: 0, node: 'c1' }));
    pc.set(T0 - 1000);
    expect(clock.now()).toBe(formatHlc({ wall: T0 + 5, counter: 1, node: 'c1' }));
    expect(clock.receive(formatHlc({ wall: T0 + 5, counter: 7, node: 'c2' }))).toBe(
      formatHlc({ wall: T0 + 5, counter: 8, node: 'c1' }),
    );
    expect(clock.receive(formatHlc({ wall: T0 + 9, counter: 3, node: 'c2' }))).toBe(
      formatHlc({ wall: T0 + 9, counter: 4, node: 'c1' }),
    );
  });

  it('accepts a remote clock 24 h ahead and refuses one beyond maxDriftMs, leaving the clock unchanged', () => {
    const pc = manualClock();
    const clock = createHlc({ node: 'a', now: pc.now });
    const ahead = formatHlc({ wall: T0 + DAY, counter: 0, node: 'b' });
    expect(parseHlc(clock.receive(ahead))!.wall).toBe(T0 + DAY);

    const before = clock.last();
    const absurd = formatHlc({ wall: T0 + DEFAULT_HLC_MAX_DRIFT_MS + 1, counter: 0, node: 'b' });
    const error = catchError(() => clock.receive(absurd));
    expect(error).toBeInstanceOf(CoreError);
    expect(error).toMatchObject({ code: CoreErrorCode.hlcDrift });
    expect(clock.last()).toBe(before);
    expect(compareHlc(clock.now(), before!)).toBeGreaterThan(0);

    const lenient = createHlc({ node: 'a', now: pc.now, maxDriftMs: Infinity });
    expect(parseHlc(lenient.receive(absurd))!.wall).toBe(T0 + DEFAULT_HLC_MAX_DRIFT_MS + 1);
    const strict = createHlc({ node: 'a', now: pc.now, maxDriftMs: 1000 });
    expect(() => strict.receive(formatHlc({ wall: T0 + 1001, counter: 0, node: 'b' }))).toThrow(CoreError);
  });

  it('refuses malformed timestamps and node ids', () => {
    const clock = createHlc({ node: 'a' });
    expect(catchError(() => clock.receive('yesterday'))).toMatchObject({ code: CoreErrorCode.hlcMalformed });
    expect(catchError(() => createHlc({ node: 'a', last: '1-2-a' }))).toMatchObject({
      code: CoreErrorCode.hlcMalformed,
    });
    expect(() => createHlc({ node: 'no spaces' })).toThrow(RangeError);
    expect(() => createHlc({ node: 'a', maxDriftMs: -1 })).toThrow(RangeError);
  });

  it('moves the wall time forward by 1 ms instead of overflowing the counter', () => {
    const pc = manualClock();
    const full = formatHlc({ wall: T0, counter: HLC_MAX_COUNTER, node: 'a' });
    const clock = createHlc({ node: 'a', now: pc.now, last: full });
    const next = clock.now();
    expect(next).toBe(formatHlc({ wall: T0 + 1, counter: 0, node: 'a' }));
    expect(compareHlc(next, full)).toBeGreaterThan(0);

    const other = createHlc({ node: 'b', now: pc.now });
    expect(other.receive(full)).toBe(formatHlc({ wall: T0 + 1, counter: 0, node: 'b' }));
  });

  it('survives a physical clock that returns garbage', () => {
    let value = Number.NaN;
    const clock = createHlc({ node: 'a', now: () => value });
    const a = clock.now();
    value = -5;
    const b = clock.now();
    value = T0 + 0.7;
    const c = clock.now();
    expect(compareHlc(b, a)).toBeGreaterThan(0);
    expect(c).toBe(formatHlc({ wall: T0, counter: 0, node: 'a' }));
  });
});

describe('compareHlc', () => {
  const tsArb = fc.record({
    wall: fc.oneof(fc.integer({ min: 0, max: 9 }), fc.integer({ min: 0, max: 999_999_999_999_999 })),
    counter: fc.oneof(fc.integer({ min: 0, max: 9 }), fc.integer({ min: 0, max: HLC_MAX_COUNTER })),
    node: fc.stringMatching(/^[A-Za-z0-9_-]{1,8}$/),
  });

  it('orders serialised timestamps as (wall, counter, node), and string sort agrees', () => {
    fc.assert(
      fc.property(fc.array(tsArb, { minLength: 2, maxLength: 30 }), (tss) => {
        const [a, b] = tss as [HlcTimestamp, HlcTimestamp];
        expect(sign(compareHlc(formatHlc(a), formatHlc(b)))).toBe(sign(compareTuples(a, b)));
        const byTuple = [...tss].sort(compareTuples).map(formatHlc);
        const byString = tss.map(formatHlc).sort();
        const byCompare = tss.map(formatHlc).sort(compareHlc);
        expect(byString).toEqual(byTuple);
        expect(byCompare).toEqual(byTuple);
      }),
    );
  });

  it('is 0 only for equal strings', () => {
    const s = formatHlc({ wall: T0, counter: 1, node: 'a' });
    expect(compareHlc(s, s)).toBe(0);
    expect(compareHlc(s, formatHlc({ wall: T0, counter: 1, node: 'b' }))).toBeLessThan(0);
  });
});

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}
