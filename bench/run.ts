/**
 * `pnpm bench [name…] [--readme]`: runs all benchmarks, or those whose file name contains one of
 * the names, then prints one table of what this run wrote to bench/results and exits non-zero if a
 * target was missed. `--readme` then rewrites the README's generated block from every result in
 * bench/results (this run's and, for the benchmarks it did not run, the last ones kept there).
 */
import { spawnSync } from 'node:child_process';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RESULTS_DIR } from './node.ts';
import { blockResults, describeMachine, renderBlock, rewriteBlock } from './readme.ts';
import { formatTable, type BenchResult } from './report.ts';

const args = process.argv.slice(2).filter((a) => a !== '--');
const readme = args.includes('--readme');
const filters = args.filter((a) => a !== '--readme');
const started = new Date().toISOString();
// A full run starts from nothing; a partial one keeps the other benchmarks' last results.
if (filters.length === 0) await rm(RESULTS_DIR, { recursive: true, force: true });
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
const kept: BenchResult[] = [];
for (const file of files.filter((f) => f.endsWith('.json')).sort()) {
  kept.push(JSON.parse(await readFile(join(RESULTS_DIR, file), 'utf8')) as BenchResult);
}
const results = kept.filter((r) => typeof r.date === 'string' && r.date >= started);
if (readme && kept.length > 0) {
  const path = join(dirname(fileURLToPath(import.meta.url)), '..', 'README.md');
  const text = await readFile(path, 'utf8');
  // The rows of benchmarks with no result here (run in another checkout) stay as the block shows them.
  const shown = blockResults(text).filter((r) => !kept.some((k) => k.name === r.name));
  const rows = [...kept, ...shown].sort((a, b) => a.name.localeCompare(b.name));
  await writeFile(path, rewriteBlock(text, renderBlock(rows, describeMachine())));
  console.log(
    `README.md: benchmark table rewritten from ${kept.length} results in bench/results and ${shown.length} kept from it`,
  );
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
