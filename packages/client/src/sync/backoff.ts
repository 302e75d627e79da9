/** Options of {@link createBackoff}: the reconnect delays of the sync engine. */
export interface BackoffOptions {
  /** The first delay, in ms; default 500. */
  readonly initialMs?: number;
  /** The longest delay, in ms; default 30,000. */
  readonly maxMs?: number;
  /** How much each delay grows over the one before; default 2. */
  readonly factor?: number;
  /**
   * The share of each delay drawn at random, 0..1 ("equal jitter" at 0.5, the default): the delay
   * is `d × (1 − jitter) + random × d × jitter`, so that clients cut off together do not all come
   * back in the same millisecond.
   */
  readonly jitter?: number;
  /** Seeds the jitter, for runs that must replay exactly (tests, fault schedules). */
  readonly seed?: number;
  /** Or the random source itself, returning [0, 1); `Math.random` by default. */
  readonly random?: () => number;
}

/** Exponential backoff with jitter: `delay(attempt)` for attempt 0, 1, 2… */
export interface Backoff {
  /** The delay before retry number `attempt` (0 for the first retry), in ms. */
  delay(attempt: number): number;
}

/**
 * Exponential backoff with jitter: `min(maxMs, initialMs × factor^attempt)`, of which the
 * `jitter` share is drawn at random.
 *
 * @example
 * const backoff = createBackoff({ initialMs: 100, maxMs: 5_000, seed: 42 });
 * await sleep(backoff.delay(attempt++));
 */
export function createBackoff(options: BackoffOptions = {}): Backoff {
  const initial = options.initialMs ?? 500;
  const max = options.maxMs ?? 30_000;
  const factor = options.factor ?? 2;
  const jitter = options.jitter ?? 0.5;
  if (!(initial >= 0 && max >= initial && factor >= 1 && jitter >= 0 && jitter <= 1)) {
    throw new RangeError('backoff: need 0 ≤ initialMs ≤ maxMs, factor ≥ 1 and 0 ≤ jitter ≤ 1');
  }
  const random = options.random ?? (options.seed === undefined ? Math.random : seededRandom(options.seed));
  return {
    delay(attempt) {
      const base = Math.min(max, initial * factor ** Math.max(0, attempt));
      return Math.round(base * (1 - jitter) + random() * base * jitter);
    },
  };
}

/**
 * A small seeded pseudo-random generator (mulberry32): the same seed gives the same sequence in
 * every run and runtime. Not for anything secret.
 *
 * @example const random = seededRandom(7); random(); // 0 ≤ x < 1
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
