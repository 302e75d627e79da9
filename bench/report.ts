/**
 * Benchmark results: each figure is a ratio to a raw building block measured in the same run,
 * because the machine is shared and noisy and only ratios hold.
 */
export interface BenchResult {
  /** File name under bench/results, and the row's name in the table. */
  readonly name: string;
  /** What Eventloom achieved. */
  readonly value: number;
  readonly unit: string;
  /** What the raw building block achieved in the same run, in the same unit. */
  readonly baseline: number;
  /** value / baseline. */
  readonly ratio: number;
  /** The ratio the benchmark must reach (at least, or at most: see `better`). */
  readonly target: number;
  readonly better: 'higher' | 'lower';
  readonly pass: boolean;
  /** When it was measured (ISO 8601). */
  readonly date: string;
}

/** What a benchmark measured; {@link toResult} derives the ratio and the verdict. */
export interface BenchMeasurement {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  readonly baseline: number;
  readonly target: number;
  /** `higher`: pass when ratio ≥ target (throughput); `lower`: pass when ratio ≤ target (latency, size). */
  readonly better: 'higher' | 'lower';
}

/** Computes ratio and pass for a measurement. */
export function toResult(m: BenchMeasurement): BenchResult {
  if (!(m.baseline > 0) || !Number.isFinite(m.value)) {
    throw new Error(
      `benchmark ${m.name}: baseline must be > 0 and value finite (got ${m.value} / ${m.baseline})`,
    );
  }
  const ratio = m.value / m.baseline;
  const pass = m.better === 'higher' ? ratio >= m.target : ratio <= m.target;
  return {
    ...m,
    ratio: round(ratio, 3),
    value: round(m.value, 3),
    baseline: round(m.baseline, 3),
    pass,
    date: new Date().toISOString(),
  };
}

/** Formats results as one aligned text table. */
export function formatTable(results: readonly BenchResult[]): string {
  const rows = [
    ['benchmark', 'value', 'baseline', 'unit', 'ratio', 'target', 'pass'],
    ...results.map((r) => [
      r.name,
      fmt(r.value),
      fmt(r.baseline),
      r.unit,
      `${r.ratio.toFixed(2)}×`,
      `${r.better === 'higher' ? '≥' : '≤'} ${r.target}×`,
      r.pass ? 'yes' : 'NO',
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  return rows
    .map((row) =>
      row
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** The p-th percentile (0–100) of a list of samples, by nearest rank. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) throw new Error('percentile of no samples');
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

/** Runs `fn` and returns its duration in ms, by `performance.now()`. */
export async function timeIt(fn: () => unknown): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

/**
 * Runs the subject and its baseline alternately `rounds` times and keeps each side's best, so that
 * noise from the shared machine hits both alike.
 */
export async function bestOf(
  rounds: number,
  subject: () => unknown,
  baseline: () => unknown,
): Promise<{ subjectMs: number; baselineMs: number }> {
  let subjectMs = Infinity;
  let baselineMs = Infinity;
  for (let i = 0; i < rounds; i++) {
    baselineMs = Math.min(baselineMs, await timeIt(baseline));
    subjectMs = Math.min(subjectMs, await timeIt(subject));
  }
  return { subjectMs, baselineMs };
}

/** The median of a list of samples (the mean of the middle two for an even count). */
export function median(samples: readonly number[]): number {
  if (samples.length === 0) throw new Error('median of no samples');
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * Runs the subject and its baseline in small blocks that take turns: each round runs `block`
 * calls of each side (call `i` gets the round's own indexes, `round * block` on), the baseline
 * first in even rounds and the subject first in odd ones. One warm-up round runs first and is not
 * counted. Returns each side's time per call (ms), one sample per round: a slow spell of the
 * shared machine lands in a round or two of both sides, not in one side's whole measure.
 */
export async function interleaved(options: {
  readonly rounds: number;
  readonly block: number;
  readonly subject: (i: number) => Promise<unknown>;
  readonly baseline: (i: number) => Promise<unknown>;
}): Promise<{ readonly subjectMs: number[]; readonly baselineMs: number[] }> {
  const { rounds, block } = options;
  const subjectMs: number[] = [];
  const baselineMs: number[] = [];
  const runBlock = async (call: (i: number) => Promise<unknown>, from: number): Promise<number> => {
    const started = performance.now();
    for (let i = from; i < from + block; i++) await call(i);
    return (performance.now() - started) / block;
  };
  for (let r = -1; r < rounds; r++) {
    const from = (r + 1) * block;
    const baselineFirst = r % 2 === 0;
    const first = await runBlock(baselineFirst ? options.baseline : options.subject, from);
    const second = await runBlock(baselineFirst ? options.subject : options.baseline, from);
    if (r < 0) continue;
    subjectMs.push(baselineFirst ? second : first);
    baselineMs.push(baselineFirst ? first : second);
  }
  return { subjectMs, baselineMs };
}

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

function fmt(n: number): string {
  return Math.abs(n) >= 1000 ? Math.round(n).toLocaleString('en-US') : String(n);
}
