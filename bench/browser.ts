import { commands } from 'vitest/browser';
import { toResult, type BenchMeasurement, type BenchResult } from './report.ts';

/**
 * Records a benchmark measured in Chromium: the page cannot touch the disk, so Vitest's server
 * command writes bench/results/<name>.json (paths are relative to the project root).
 */
export async function reportBench(m: BenchMeasurement): Promise<BenchResult> {
  const result = toResult(m);
  await commands.writeFile(`bench/results/${result.name}.json`, `${JSON.stringify(result, null, 2)}\n`);
  console.log(
    `[bench] ${result.name}: ${result.value} ${result.unit} vs ${result.baseline} → ${result.ratio}×`,
  );
  return result;
}
