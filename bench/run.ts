/**
 * `pnpm bench [name…]`: runs all benchmarks, or those whose file name contains one of the names,
 * then prints one table of bench/results/*.json and exits non-zero if a target was missed.
 */
import { spawnSync } from 'node:child_process';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { RESULTS_DIR } from './node.ts';
import { formatTable, type BenchResult } from './report.ts';

const filters = process.argv.slice(2).filter((a) => a !== '--');
await rm(RESULTS_DIR, { recursive: true, force: true });
// The two projects run one after the other, so that Node and Chromium benchmarks never share the CPU.
const statuses = ['bench-node', 'bench-browser'].map(
  (project) =>
    spawnSync('vitest', ['run', '--project', project, '--passWithNoTests', ...filters], {
      stdio: 'inherit',
      env: process.env,
    }).status,
);
const run = { status: statuses.every((s) => s === 0) ? 0 : 1 };
const files = await readdir(RESULTS_DIR).catch(() => [] as string[]);
const results: BenchResult[] = [];
for (const file of files.filter((f) => f.endsWith('.json')).sort()) {
  results.push(JSON.parse(await readFile(join(RESULTS_DIR, file), 'utf8')) as BenchResult);
}
if (results.length === 0) {
  console.error(`no benchmark results${filters.length ? ` for ${filters.join(', ')}` : ''}`);
  process.exit(1);
}
console.log(`\n${formatTable(results)}\n`);
const failed = results.filter((r) => !r.pass);
if (run.status !== 0) console.error('a benchmark run failed: see above');
if (failed.length) console.error(`targets missed: ${failed.map((r) => r.name).join(', ')}`);
process.exit(run.status !== 0 || failed.length ? 1 : 0);
