import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { startTestHub } from './sync-harness.node.ts';

// packages/client/README.md's SQLite sample, run as the README says: one Node process appends while
// offline and exits, the next ones reopen the file and sync it to a hub.
const readme = readFileSync(join(import.meta.dirname, '../../../packages/client/README.md'), 'utf8');
const sample = /<!-- sqlite-restart -->\s*```ts\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
// Inside this workspace, so that the sample's imports resolve as an installed package's would.
const scripts = join(import.meta.dirname, '../../node_modules/.sqlite-restart');
const tsx = join(import.meta.dirname, '../../../node_modules/.bin/tsx');
const cwd = mkdtempSync(join(tmpdir(), 'eventloom-sqlite-restart-'));
afterAll(() => rmSync(cwd, { recursive: true, force: true }));

/** Runs the sample in a process of its own; resolves with what it printed once it exited 0. */
function run(...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(tsx, [join(scripts, 'todos.ts'), ...args], { cwd, stdio: 'pipe' });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve(out.trim()) : reject(new Error(`exit ${String(code)}: ${out}`)),
    );
  });
}

test('the SQLite sample type-checks', () => {
  mkdirSync(scripts, { recursive: true });
  writeFileSync(join(scripts, 'todos.ts'), sample);
  writeFileSync(
    join(scripts, 'tsconfig.json'),
    JSON.stringify({
      extends: '../../../tsconfig.base.json',
      compilerOptions: { types: ['node'], lib: ['ES2023', 'DOM'] },
      files: ['todos.ts'],
    }),
  );
  const tsc = spawnSync(join(import.meta.dirname, '../../../node_modules/.bin/tsc'), ['-p', scripts], {
    encoding: 'utf8',
  });
  expect(tsc.stdout + tsc.stderr).toBe('');
  expect(tsc.status).toBe(0);
}, 120_000);

test('a Node client on the SQLite store keeps its offline writes across restarts, then syncs them', async () => {
  expect(sample).toContain('SqliteClientStore');
  mkdirSync(scripts, { recursive: true });
  writeFileSync(join(scripts, 'package.json'), JSON.stringify({ type: 'module' }));
  writeFileSync(join(scripts, 'todos.ts'), sample);
  expect(await run('add', 'milk')).toBe('pending: 1');
  expect(await run('add', 'bread')).toBe('pending: 2');
  const hub = await startTestHub();
  try {
    expect(await run('sync', hub.url)).toBe('pending: 2, confirmed: 2');
    const events = await hub.events();
    expect(events.map((e) => [e.type, (e.data as { title: string }).title])).toEqual([
      ['todo.added', 'milk'],
      ['todo.added', 'bread'],
    ]);
    // Again: nothing left to push, the log is on the device.
    expect(await run('sync', hub.url)).toBe('pending: 0, confirmed: 2');
    expect(await hub.events()).toHaveLength(2);
  } finally {
    await hub.close();
  }
}, 120_000);
