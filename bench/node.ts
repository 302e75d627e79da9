import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { toResult, type BenchMeasurement, type BenchResult } from './report.ts';

/** Where results go: bench/results/<name>.json at the repository root. */
export const RESULTS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'results');

/** Records a benchmark measured in Node: writes bench/results/<name>.json and returns the result. */
export async function reportBench(m: BenchMeasurement): Promise<BenchResult> {
  const result = toResult(m);
  await mkdir(RESULTS_DIR, { recursive: true });
  await writeFile(join(RESULTS_DIR, `${result.name}.json`), `${JSON.stringify(result, null, 2)}\n`);
  console.log(
    `[bench] ${result.name}: ${result.value} ${result.unit} vs ${result.baseline} → ${result.ratio}×`,
  );
  return result;
}
