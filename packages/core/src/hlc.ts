import { formatHlc, HLC_MAX_COUNTER, HLC_MAX_WALL, parseHlc } from '@eventloom/protocol';
import { compareCodeUnits } from './compare-code-units.ts';
import { CoreError, CoreErrorCode } from './core-error.ts';

/** Default {@link HlcOptions.maxDriftMs}: seven days, well beyond the ±24 h of skew clients must survive. */
export const DEFAULT_HLC_MAX_DRIFT_MS = 7 * 24 * 60 * 60 * 1000;

/** Options of {@link createHlc}. */
export interface HlcOptions {
  /** This clock's node id, the client id: letters, digits, `_` and `-`. Breaks ties between nodes. */
  readonly node: string;
  /** The physical clock in ms since the epoch; `Date.now` by default. May jump backward. */
  readonly now?: () => number;
  /** The last timestamp this node issued (persisted), so that a restarted clock stays after it. */
  readonly last?: string;
  /**
   * How far (ms) a remote timestamp may be ahead of the local physical clock before `receive`
   * refuses it with a {@link CoreError} `hlc-drift`. Default {@link DEFAULT_HLC_MAX_DRIFT_MS};
   * `Infinity` accepts any remote timestamp.
   */
  readonly maxDriftMs?: number;
}

/**
 * A hybrid logical clock (Kulkarni, Demirbas et al., "Logical Physical Clocks", 2014): a timestamp
 * is `(wall, counter, node)`, where `wall` is the largest physical time seen so far and `counter`
 * orders events within that millisecond.
 *
 * - `now()` (local or send event): `wall' = max(wall, pt)`; `counter' = counter + 1` if the wall
 *   time did not move, else 0.
 * - `receive(m)`: `wall' = max(wall, m.wall, pt)`; the counter is one above the larger counter of
 *   those whose wall equals `wall'` (0 if only `pt` does).
 *
 * Invariants: every timestamp issued is strictly greater than every timestamp this clock issued or
 * received before it (so causality implies order), whatever the physical clock does; `wall` is
 * never more than `maxDriftMs` ahead of the largest local physical time seen. Serialised (`formatHlc`) timestamps sort as
 * strings in clock order. When the counter would exceed its 10 digits (10¹⁰ events in one
 * millisecond, or a physical clock stuck far behind), the clock moves `wall` forward by 1 ms and
 * restarts the counter instead of throwing: order is kept, at the price of a 1 ms lead.
 */
export interface HybridLogicalClock {
  /** This clock's node id. */
  readonly node: string;
  /** Issues a new timestamp, strictly greater than any issued or received before. */
  now(): string;
  /**
   * Merges a remote timestamp and issues a new local one, strictly greater than both `remote` and
   * anything issued before. Throws a {@link CoreError} (clock unchanged), `hlc-malformed` if
   * `remote` is not a timestamp, `hlc-drift` if it is more than `maxDriftMs` ahead of the physical
   * clock: the caller keeps the event but not its time, so one wild clock cannot drag all along.
   */
  receive(remote: string): string;
  /** The last timestamp issued (or the seeded `last`); persist it to seed the next start. */
  last(): string | undefined;
}

/**
 * Creates a {@link HybridLogicalClock} for one node.
 *
 * @example
 * const clock = createHlc({ node: clientId, last: await loadLastHlc() });
 * const hlc = clock.now(); // stamp a new event
 * clock.receive(incoming.hlc); // on each event from another client
 */
export function createHlc(options: HlcOptions): HybridLogicalClock {
  const { node } = options;
  const physical = options.now ?? Date.now;
  const maxDriftMs = options.maxDriftMs ?? DEFAULT_HLC_MAX_DRIFT_MS;
  // Validates the node id once, through the formatter, so that every later format succeeds.
  formatHlc({ wall: 0, counter: 0, node });
  if (!(maxDriftMs >= 0)) throw new RangeError(`hlc maxDriftMs must be ≥ 0: ${maxDriftMs}`);

  let wall = 0;
  let counter = -1;
  let lastIssued: string | undefined;
  if (options.last !== undefined) {
    const seed = parseHlc(options.last);
    if (!seed) throw new CoreError(CoreErrorCode.hlcMalformed, `not an hlc timestamp: ${options.last}`);
    wall = seed.wall;
    counter = seed.counter;
    lastIssued = options.last;
  }

  const readPhysical = (): number => {
    const pt = Math.floor(physical());
    // A broken physical clock (NaN, negative) must not break order: fall back to logical time.
    return pt >= 0 ? Math.min(pt, HLC_MAX_WALL) : 0;
  };

  const issue = (nextWall: number, nextCounter: number): string => {
    if (nextCounter > HLC_MAX_COUNTER) {
      nextWall += 1;
      nextCounter = 0;
    }
    const ts = formatHlc({ wall: nextWall, counter: nextCounter, node });
    wall = nextWall;
    counter = nextCounter;
    lastIssued = ts;
    return ts;
  };

  return {
    node,
    now() {
      const pt = readPhysical();
      return pt > wall ? issue(pt, 0) : issue(wall, counter + 1);
    },
    receive(remote) {
      const m = parseHlc(remote);
      if (!m) throw new CoreError(CoreErrorCode.hlcMalformed, `not an hlc timestamp: ${remote}`);
      const pt = readPhysical();
      if (m.wall - pt > maxDriftMs) {
        throw new CoreError(
          CoreErrorCode.hlcDrift,
          `hlc ${remote} is ${m.wall - pt} ms ahead of the local clock (max ${maxDriftMs} ms)`,
        );
      }
      const nextWall = Math.max(wall, m.wall, pt);
      if (nextWall === wall && nextWall === m.wall) return issue(nextWall, Math.max(counter, m.counter) + 1);
      if (nextWall === wall) return issue(nextWall, counter + 1);
      if (nextWall === m.wall) return issue(nextWall, m.counter + 1);
      return issue(nextWall, 0);
    },
    last: () => lastIssued,
  };
}

/**
 * Orders two serialised HLC timestamps: negative if `a` is earlier, positive if later, 0 if equal.
 * The same as comparing the strings by code unit, since the fields are fixed-width.
 *
 * @example events.sort((x, y) => compareHlc(x.hlc, y.hlc));
 */
export function compareHlc(a: string, b: string): number {
  return compareCodeUnits(a, b);
}
