/** A seed: any integer, or a string (hashed). */
export type Seed = number | string;

/**
 * A small, fast, deterministic pseudo-random generator (sfc32). Not for secrets: for fault
 * schedules that a seed replays.
 */
export interface SeededRandom {
  /** The 32-bit seed this generator started from (after hashing a string or a fork's labels). */
  readonly seed: number;
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [min, max], both inclusive. */
  int(min: number, max: number): number;
  /** A float in [min, max). */
  between(min: number, max: number): number;
  /** True with probability `p` (0 never, 1 always); draws one number either way. */
  chance(p: number): boolean;
  /** One of `items`, which must not be empty. */
  pick<T>(items: readonly T[]): T;
  /**
   * An independent generator derived from this one's seed and `labels`, not from its current
   * state: `fork('connection', 3)` is the same stream whatever was drawn before.
   */
  fork(...labels: readonly (string | number)[]): SeededRandom;
}

/**
 * Creates a deterministic generator: the same seed gives the same sequence on every machine.
 *
 * @example
 * const random = seededRandom(42);
 * random.int(1, 6); // the same roll every run
 * const perConnection = random.fork('connection', 0, 'up');
 */
export function seededRandom(seed: Seed): SeededRandom {
  const start = typeof seed === 'string' ? hashString(seed) : hashNumber(seed);
  return createGenerator(start);
}

/** The 32-bit seed of `seed` forked by `labels`, as {@link SeededRandom.fork} derives it. */
export function deriveSeed(seed: Seed, ...labels: readonly (string | number)[]): number {
  let h = typeof seed === 'string' ? hashString(seed) : hashNumber(seed);
  for (const label of labels) {
    const part = typeof label === 'string' ? hashString(label) : hashNumber(label);
    h = mix32(Math.imul(h ^ part, 0x9e3779b1) + 0x7f4a7c15);
  }
  return h;
}

function createGenerator(seed: number): SeededRandom {
  // sfc32, its state spread from the seed by splitmix32 and warmed up so near seeds diverge.
  let s = seed >>> 0;
  const split = (): number => {
    s = (s + 0x9e3779b9) >>> 0;
    return mix32(s);
  };
  let a = split();
  let b = split();
  let c = split();
  let d = 1;
  const nextUint32 = (): number => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) >>> 0;
    return t;
  };
  for (let i = 0; i < 12; i++) nextUint32();
  const next = (): number => nextUint32() / 0x1_0000_0000;
  const generator: SeededRandom = {
    seed,
    next,
    int(min, max) {
      if (!Number.isInteger(min) || !Number.isInteger(max) || max < min) {
        throw new RangeError(`int(${min}, ${max}): need integers with min <= max`);
      }
      return min + Math.floor(next() * (max - min + 1));
    },
    between(min, max) {
      if (!(max >= min)) throw new RangeError(`between(${min}, ${max}): need min <= max`);
      return min + next() * (max - min);
    },
    chance(p) {
      return next() < p;
    },
    pick(items) {
      if (items.length === 0) throw new RangeError('pick() from an empty list');
      return items[Math.floor(next() * items.length)]!;
    },
    fork(...labels) {
      return createGenerator(deriveSeed(seed, ...labels));
    },
  };
  return generator;
}

/** A 32-bit finaliser (the one of murmur3): every input bit flips about half the output bits. */
function mix32(x: number): number {
  let h = x >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

function hashNumber(n: number): number {
  if (!Number.isSafeInteger(n)) throw new RangeError(`seed ${n} is not a safe integer`);
  // Both halves count, so seeds above 2^32 and negative seeds stay distinct.
  const low = n >>> 0;
  const high = Math.floor(n / 0x1_0000_0000) >>> 0;
  return mix32(low ^ mix32(high + 0x632be5ab));
}

function hashString(text: string): number {
  // FNV-1a over UTF-16 code units, then mixed; tagged so that '1' and 1 differ.
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return mix32(h ^ 0x5bd1e995);
}
