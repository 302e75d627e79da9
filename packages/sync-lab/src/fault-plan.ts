import type { SeededRandom } from './seeded-random.ts';

/** What the proxy does to the chunks of one direction. Probabilities are per chunk read. */
export interface FaultSettings {
  /** Each chunk is held for a uniform random time in [min, max] ms. Bytes are never reordered. */
  readonly delayMs: readonly [number, number];
  /** Chance that a chunk is written as several smaller writes, cut at random points. */
  readonly splitProbability: number;
  /** The most pieces a split chunk is cut into (at least 2). */
  readonly maxPieces: number;
  /**
   * Chance that the connection is reset when this chunk comes due: a random prefix of the chunk
   * gets through, the rest is dropped, and both sides are destroyed with a TCP RST.
   */
  readonly resetProbability: number;
  /**
   * Chance that the connection goes silent when this chunk comes due: nothing more is delivered
   * in either direction, and after a time drawn from {@link blackholeMs} the connection is reset.
   */
  readonly blackholeProbability: number;
  /** How long a blackhole lasts before its reset, in [min, max] ms. */
  readonly blackholeMs: readonly [number, number];
}

/** A range in ms, or one fixed value. */
export type MsRange = number | readonly [number, number];

/** Settings as given to `setFaults`: any subset, ranges also as one number. */
export type FaultSettingsInput = Partial<
  Omit<FaultSettings, 'delayMs' | 'blackholeMs'> & { delayMs: MsRange; blackholeMs: MsRange }
>;

/** A clean pipe: no delay, no split, no reset, no blackhole. */
export const NO_FAULTS: FaultSettings = {
  delayMs: [0, 0],
  splitProbability: 0,
  maxPieces: 4,
  resetProbability: 0,
  blackholeProbability: 0,
  blackholeMs: [100, 100],
};

/** The longest delay or blackhole the proxy accepts: faults are bounded, a test must end. */
export const MAX_FAULT_MS = 60_000;

/** What happens to one chunk, drawn before it is queued. */
export interface ChunkPlan {
  readonly delayMs: number;
  /** Lengths of the writes the chunk is cut into (one entry: not split). Sums to the chunk's length. */
  readonly pieces: readonly number[];
  /** When set, the connection is reset once this many bytes of the chunk were written. */
  readonly resetAfter: number | undefined;
  /** When set, the connection goes silent for this long (instead of delivering the chunk), then resets. */
  readonly blackholeMs: number | undefined;
}

/** Merges `input` into `base`, checking every value; throws a RangeError naming a bad one. */
export function mergeFaultSettings(base: FaultSettings, input: FaultSettingsInput): FaultSettings {
  const merged: FaultSettings = {
    ...base,
    ...input,
    delayMs: input.delayMs === undefined ? base.delayMs : toRange('delayMs', input.delayMs),
    blackholeMs:
      input.blackholeMs === undefined ? base.blackholeMs : toRange('blackholeMs', input.blackholeMs),
  };
  for (const key of ['splitProbability', 'resetProbability', 'blackholeProbability'] as const) {
    const p = merged[key];
    if (!(p >= 0 && p <= 1)) throw new RangeError(`${key} must be in [0, 1], not ${p}`);
  }
  if (!Number.isInteger(merged.maxPieces) || merged.maxPieces < 2) {
    throw new RangeError(`maxPieces must be an integer >= 2, not ${merged.maxPieces}`);
  }
  return merged;
}

/**
 * Draws the fate of a chunk of `length` bytes. Always draws the same count of numbers, whatever
 * the settings, so that one connection's stream of decisions depends only on its seed and on the
 * sizes of its chunks.
 */
export function planChunk(random: SeededRandom, settings: FaultSettings, length: number): ChunkPlan {
  const [resetDraw, resetAtDraw, blackholeDraw, blackholeMsDraw, delayDraw, splitDraw, piecesDraw, cutsSeed] =
    Array.from({ length: 8 }, () => random.next()) as [
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
    ];
  const within = ([min, max]: readonly [number, number], u: number) => Math.round(min + u * (max - min));
  const blackholeMs =
    blackholeDraw < settings.blackholeProbability ? within(settings.blackholeMs, blackholeMsDraw) : undefined;
  const resetAfter =
    blackholeMs === undefined && resetDraw < settings.resetProbability
      ? Math.floor(resetAtDraw * length)
      : undefined;
  let pieces: number[] = [length];
  if (splitDraw < settings.splitProbability && length > 1) {
    const count = Math.min(length, 2 + Math.floor(piecesDraw * (settings.maxPieces - 1)));
    pieces = cutPoints(random.fork('cuts', Math.floor(cutsSeed * 0x1_0000_0000)), length, count);
  }
  return { delayMs: within(settings.delayMs, delayDraw), pieces, resetAfter, blackholeMs };
}

/** `count` non-empty lengths summing to `length`, cut at distinct random points. */
function cutPoints(random: SeededRandom, length: number, count: number): number[] {
  const cuts = new Set<number>();
  while (cuts.size < count - 1) cuts.add(random.int(1, length - 1));
  const sorted = [...cuts].sort((a, b) => a - b);
  const pieces: number[] = [];
  let previous = 0;
  for (const cut of [...sorted, length]) {
    pieces.push(cut - previous);
    previous = cut;
  }
  return pieces;
}

function toRange(name: string, value: MsRange): readonly [number, number] {
  const [min, max] = typeof value === 'number' ? [value, value] : value;
  if (!(min >= 0 && max >= min && max <= MAX_FAULT_MS)) {
    throw new RangeError(`${name} must be a range [min, max] with 0 <= min <= max <= ${MAX_FAULT_MS}`);
  }
  return [min, max];
}
