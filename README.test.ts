import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, test, vi } from 'vitest';

// The README's quick start is run here, so that the front door cannot drift from the code.
const readme = readFileSync(join(import.meta.dirname, 'README.md'), 'utf8');
const match = /<!-- quickstart -->\s*```ts\n([\s\S]*?)```/.exec(readme);
const snippet = match?.[1] ?? '';
const dir = join(import.meta.dirname, 'node_modules', '.readme');
const file = join(dir, 'quickstart.ts');

afterEach(() => {
  vi.restoreAllMocks();
});

test('the README has a quick start', () => {
  expect(snippet).toContain('import');
});

test('the quick start type-checks', () => {
  mkdirSync(dir, { recursive: true });
  writeFileSync(file, snippet);
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      extends: '../../tsconfig.base.json',
      compilerOptions: { types: ['node'], lib: ['ES2023', 'DOM'] },
      files: ['quickstart.ts'],
    }),
  );
  const tsc = spawnSync(join(import.meta.dirname, 'node_modules', '.bin', 'tsc'), ['-p', dir], {
    encoding: 'utf8',
  });
  expect(tsc.stdout + tsc.stderr).toBe('');
  expect(tsc.status).toBe(0);
});

test('the quick start prints what its comments say', async () => {
  mkdirSync(dir, { recursive: true });
  writeFileSync(file, snippet);
  const printed: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
    printed.push(args.map((a) => JSON.stringify(a)).join(' '));
  });
  await import(/* @vite-ignore */ `${file}?t=${Date.now()}`);
  const expected = [...snippet.matchAll(/\/\/ → (.*)$/gm)].map((m) => m[1]);
  expect(expected.length).toBeGreaterThan(0);
  expect(printed).toEqual(expected);
});
