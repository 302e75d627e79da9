import { randomInt } from 'node:crypto';

/** The environment variables that replay a seed, in the order they are read. */
export const SEED_VARIABLES = ['EVENTLOOM_SEED', 'FC_SEED'] as const;
/** The environment variable that asks property tests for more (or fewer) runs. */
export const RUNS_VARIABLE = 'EVENTLOOM_RUNS';

/** Fast-check takes 32-bit integer seeds; so do we, so that one seed replays both. */
const MIN_SEED = -(2 ** 31);
const MAX_SEED = 2 ** 31 - 1;

type Env = Readonly<Record<string, string | undefined>>;

/**
 * The seed of this run: `EVENTLOOM_SEED`, else `FC_SEED`, else a fresh random one. A set but
 * malformed variable throws, rather than silently running another schedule than the one asked for.
 *
 * @example
 * const seed = replaySeed(); // EVENTLOOM_SEED=1234 pnpm vitest run … replays 1234
 */
export function replaySeed(env: Env = process.env): number {
  for (const name of SEED_VARIABLES) {
    const raw = env[name];
    if (raw === undefined || raw.trim() === '') continue;
    const seed = Number(raw.trim());
    if (!Number.isInteger(seed) || seed < MIN_SEED || seed > MAX_SEED) {
      throw new RangeError(`${name}=${raw} is not a 32-bit integer seed`);
    }
    return seed;
  }
  return randomInt(0, MAX_SEED);
}

/**
 * How many runs a property test makes: `EVENTLOOM_RUNS` when set (CI can ask for more), else
 * `defaultRuns`.
 *
 * @example
 * fc.assert(property, { seed, numRuns: propertyRuns(200) });
 */
export function propertyRuns(defaultRuns: number, env: Env = process.env): number {
  const raw = env[RUNS_VARIABLE];
  if (raw === undefined || raw.trim() === '') return defaultRuns;
  const runs = Number(raw.trim());
  if (!Number.isSafeInteger(runs) || runs < 1) {
    throw new RangeError(`${RUNS_VARIABLE}=${raw} is not a positive integer`);
  }
  return runs;
}

/** What {@link withReplaySeed} passes to the run. */
export interface ReplayRun {
  readonly seed: number;
  /** The number of property runs ({@link propertyRuns} of `defaultRuns`). */
  readonly runs: number;
}

/** Options of {@link withReplaySeed}. */
export interface ReplayOptions {
  /** Runs when `EVENTLOOM_RUNS` is not set (default 1). */
  readonly defaultRuns?: number;
  /** Named in the replay line, e.g. the test's name. */
  readonly label?: string;
  /** Where the replay line is printed on failure (default `console.error`). */
  readonly print?: (line: string) => void;
  /**
   * Where the seed is announced before the run (default `console.info`): a run that hangs or is
   * killed never reaches the failure line, and the seed rotates on every run.
   */
  readonly announce?: (line: string) => void;
  readonly env?: Env;
}

/**
 * Runs `run` with this run's seed ({@link replaySeed}), announced first; if it throws, prints the line that replays
 * it and rethrows the error with that line prepended to its message (the error stays the same
 * object, so a test runner's diff survives).
 *
 * @example
 * await withReplaySeed(({ seed, runs }) => fc.assert(property, { seed, numRuns: runs }), { defaultRuns: 200 });
 * // on failure: "replay: EVENTLOOM_SEED=1234 (fault schedule) …"
 */
export async function withReplaySeed<T>(
  run: (replay: ReplayRun) => T | Promise<T>,
  options: ReplayOptions = {},
): Promise<T> {
  const env = options.env ?? process.env;
  const seed = replaySeed(env);
  const runs = propertyRuns(options.defaultRuns ?? 1, env);
  (options.announce ?? ((text: string) => console.info(text)))(
    `${options.label ?? 'property test'}: seed ${seed}, ${runs === 1 ? '1 run' : `${runs} runs`} (${replayLine(seed)} replays it)`,
  );
  try {
    return await run({ seed, runs });
  } catch (error) {
    const line = replayLine(seed, options.label);
    (options.print ?? ((text: string) => console.error(text)))(line);
    if (error instanceof Error) {
      error.message = `${line}\n${error.message}`;
      throw error;
    }
    throw new Error(`${line}\n${String(error)}`, { cause: error });
  }
}

/** The line that tells how to replay `seed`. */
export function replayLine(seed: number, label?: string): string {
  return `replay: EVENTLOOM_SEED=${seed}${label === undefined ? '' : ` (${label})`}`;
}
