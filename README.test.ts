import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, test, vi } from 'vitest';
import { startDemoHub } from './scripts/demo-hub.ts';

// The README's samples are run here, so that the front door cannot drift from the code.
const readme = readFileSync(join(import.meta.dirname, 'README.md'), 'utf8');
const coreReadme = readFileSync(join(import.meta.dirname, 'packages', 'core', 'README.md'), 'utf8');
const sample = (marker: string, text = readme) =>
  new RegExp(`<!-- ${marker} -->\\s*\`\`\`ts\\n([\\s\\S]*?)\`\`\``).exec(text)?.[1] ?? '';
const snippet = sample('quickstart');
/** The sync sample, written for the hub `pnpm dev` starts on port 8080. */
const syncSnippet = sample('sync-sample');
/** packages/core/README.md's decider sample. */
const deciderSnippet = sample('decider-sample', coreReadme);
const dir = join(import.meta.dirname, 'node_modules', '.readme');
const file = join(dir, 'quickstart.ts');
const syncFile = join(dir, 'sync-sample.ts');
const deciderFile = join(dir, 'decider-sample.ts');

afterEach(() => {
  vi.restoreAllMocks();
});

/** What the `// →` comments of a sample say it prints. */
const expectedOutput = (code: string) => [...code.matchAll(/\/\/ → (.*)$/gm)].map((m) => m[1]);

/** Runs a sample as a module; resolves with what it printed with `console.log` (as JSON) that `keep` keeps. */
async function run(
  path: string,
  code: string,
  keep: (line: string) => boolean = () => true,
): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path, code);
  const printed: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
    const line = args
      .map((a) => (typeof a === 'string' && a.startsWith('[hub]') ? a : JSON.stringify(a)))
      .join(' ');
    if (keep(line)) printed.push(line);
  });
  await import(/* @vite-ignore */ `${path}?t=${Date.now()}`);
  return printed;
}

test('the README has a quick start and a sync sample', () => {
  expect(snippet).toContain('import');
  expect(syncSnippet).toContain('createSync');
  expect(syncSnippet).toContain("'http://127.0.0.1:8080'");
  expect(deciderSnippet).toContain('defineDecider');
});

test('the quick start, the sync sample and the core decider sample type-check', () => {
  mkdirSync(dir, { recursive: true });
  writeFileSync(file, snippet);
  writeFileSync(syncFile, syncSnippet);
  writeFileSync(deciderFile, deciderSnippet);
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      extends: '../../tsconfig.base.json',
      compilerOptions: { types: ['node'], lib: ['ES2023', 'DOM'] },
      files: ['quickstart.ts', 'sync-sample.ts', 'decider-sample.ts'],
    }),
  );
  const tsc = spawnSync(join(import.meta.dirname, 'node_modules', '.bin', 'tsc'), ['-p', dir], {
    encoding: 'utf8',
  });
  expect(tsc.stdout + tsc.stderr).toBe('');
  expect(tsc.status).toBe(0);
});

test('the quick start prints what its comments say', async () => {
  const expected = expectedOutput(snippet);
  expect(expected.length).toBeGreaterThan(0);
  expect(await run(file, snippet)).toEqual(expected);
});

test('the core README’s decider sample prints what its comments say', async () => {
  const expected = expectedOutput(deciderSnippet);
  expect(expected.length).toBe(2);
  expect(await run(deciderFile, deciderSnippet)).toEqual(expected);
});

test('the sync sample syncs with the hub `pnpm dev` starts (the demo board’s schemas), refused by nothing', async () => {
  const data = mkdtempSync(join(tmpdir(), 'eventloom-readme-'));
  const env = { port: process.env['EVENTLOOM_PORT'], db: process.env['EVENTLOOM_DB'] };
  // What `pnpm dev` starts, on a free port and a fresh file.
  process.env['EVENTLOOM_PORT'] = '0';
  process.env['EVENTLOOM_DB'] = join(data, 'events.db');
  const hubLines: string[] = [];
  const warnings: string[] = [];
  vi.spyOn(console, 'warn').mockImplementation((...args: unknown[]) => void warnings.push(args.join(' ')));
  vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => void warnings.push(args.join(' ')));
  try {
    // The hub's log lines (the dev script prints them) are kept apart from the sample's output.
    const keep = (line: string) => {
      if (!line.startsWith('[hub]')) return true;
      hubLines.push(line);
      return false;
    };
    vi.spyOn(console, 'log').mockImplementation((line: string) => void keep(line));
    const hub = await startDemoHub();
    try {
      const code = syncSnippet.replace("'http://127.0.0.1:8080'", `'${hub.url}'`);
      const printed = await run(syncFile, code, keep);
      expect(printed).toEqual(expectedOutput(syncSnippet));
    } finally {
      await hub.stop();
    }
  } finally {
    for (const [key, value] of [
      ['EVENTLOOM_PORT', env.port],
      ['EVENTLOOM_DB', env.db],
    ] as const) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
    rmSync(data, { recursive: true, force: true });
  }
  // No refusal, no other registry: neither side warned.
  expect(warnings).toEqual([]);
  expect(hubLines).toContain('[hub] info: eventloom-hub listening');
  const insecureModeNotice = /INSECURE DEVELOPMENT MODE/;
  expect(hubLines.filter((l) => /\] (warn|error):/.test(l) && !insecureModeNotice.test(l))).toEqual([]);
}, 60_000);
