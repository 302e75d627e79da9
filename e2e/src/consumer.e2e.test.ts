/**
 * The consumer check: the published packages as an outside project gets them. Every package is
 * packed (`pnpm pack`, which builds dist/ first) and the tarballs are installed with npm into a
 * project outside the workspace; then, with that project's own node_modules only:
 * - the README's quick start runs as plain .mjs (types stripped) and prints what its comments say;
 * - the packed `eventloom-hub` starts on plain Node and two Node clients sync through it;
 * - a plain Vite app using the client with sync is built, served by that hub, and syncs in Chromium;
 * - a module using every entry point type-checks under moduleResolution bundler and nodenext.
 * (e2e/src/packed-project.ts says how the project is made and cached.)
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { transformWithOxc } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from './device.ts';
import {
  installPackedProject,
  listFiles,
  PACKAGES,
  PROJECT_DIR as DIR,
  run,
  startInstalledHub,
} from './packed-project.ts';
import { ROOT } from './paths.ts';

const SECRET = 'consumer-check-secret-at-least-32-bytes';
const started: ChildProcess[] = [];

// Packing builds every package; npm builds better-sqlite3 from source the first time (minutes).
beforeAll(async () => {
  await installPackedProject();
}, 1_200_000);

afterAll(() => {
  for (const child of started)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

describe('the packed packages, installed by an outside project', () => {
  it('ship dist/ with declarations, no sources, tests or fixtures, a LICENSE and a README, and a hub without tsx', () => {
    for (const dir of PACKAGES) {
      const name = JSON.parse(readFileSync(join(ROOT, dir, 'package.json'), 'utf8')).name as string;
      const installed = join(DIR, 'node_modules', ...name.split('/'));
      const files = listFiles(installed);
      const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8'));
      expect({
        name,
        license: files.includes('LICENSE'),
        readme: files.includes('README.md'),
        javascript: files.includes('dist/index.js'),
        declarations: files.includes('dist/index.d.ts'),
        unwanted: files.filter((f) => /(^src\/|\.test\.|\.bench\.|fixtures\/|tsconfig)/.test(f)),
        exportsSources: JSON.stringify(manifest.exports).includes('/src/'),
        workspaceRanges: JSON.stringify(manifest.dependencies ?? {}).includes('workspace:'),
        repository: String(manifest.repository?.url).startsWith('git+https:'),
      }).toEqual({
        name,
        license: true,
        readme: true,
        javascript: true,
        declarations: true,
        unwanted: [],
        exportsSources: false,
        workspaceRanges: false,
        repository: true,
      });
    }
    const server = JSON.parse(
      readFileSync(join(DIR, 'node_modules/@eventloom/hub-server/package.json'), 'utf8'),
    );
    expect(server.bin).toEqual({ 'eventloom-hub': './dist/main.js' });
    expect(Object.keys(server.dependencies)).not.toContain('tsx');
    const dist = listFiles(join(DIR, 'node_modules/@eventloom/hub-server/dist'));
    for (const file of dist) {
      // No import of tsx (its name appears in the hint for TypeScript modules).
      expect(readFileSync(join(DIR, 'node_modules/@eventloom/hub-server/dist', file), 'utf8')).not.toMatch(
        /(from\s+|import\()['"]tsx/,
      );
    }
  });

  it('run the README quick start as plain .mjs', async () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const snippet = /<!-- quickstart -->\s*```ts\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
    const { code } = await transformWithOxc(snippet, 'quickstart.ts');
    // Printed as the README's comments show values: JSON.
    const shim = `console.log = (...a) => process.stdout.write(a.map((v) => JSON.stringify(v)).join(' ') + '\\n');\n`;
    writeFileSync(join(DIR, 'quickstart.mjs'), shim + code);
    const printed = run('node', ['quickstart.mjs'], DIR).trim().split('\n');
    const expected = [...snippet.matchAll(/\/\/ → (.*)$/gm)].map((m) => m[1]);
    expect(expected.length).toBeGreaterThan(0);
    expect(printed).toEqual(expected);
  });

  it('sync two Node clients through the packed eventloom-hub on plain Node', async () => {
    const hub = await startHub([
      '--jwt-secret',
      SECRET,
      '--schemas',
      './schemas.mjs',
      '--db',
      join(DIR, 'data', 'two.db'),
    ]);
    const out = run('node', ['two-clients.mjs', hub, SECRET], DIR);
    expect(JSON.parse(out)).toEqual({
      a: ['from a', 'from b'].sort(),
      b: ['from a', 'from b'].sort(),
      states: ['live', 'live'],
    });
  });

  it('load a TypeScript --schemas module as documented: a loader on Node 20, by itself from Node 22.18', async () => {
    const args = ['--jwt-secret', SECRET, '--schemas', './schemas.ts', '--db', join(DIR, 'data', 'ts.db')];
    const [major, minor] = process.versions.node.split('.').map(Number) as [number, number];
    let nodeOptions: string | undefined;
    if (major < 22 || (major === 22 && minor < 18)) {
      const refused = spawnSync(
        join(DIR, 'node_modules', '.bin', 'eventloom-hub'),
        ['--port', '0', ...args],
        {
          cwd: DIR,
          encoding: 'utf8',
          env: { PATH: process.env['PATH'] ?? '' },
        },
      );
      expect(refused.status).toBe(1);
      expect(refused.stderr).toContain('cannot import TypeScript by itself');
      expect(refused.stderr).toContain('NODE_OPTIONS=--import=tsx');
      // tsx is in this project already (a dependency of @eventloom/cli).
      nodeOptions = '--import=tsx';
    }
    const hub = await startHub(args, nodeOptions);
    expect(hub).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('build a plain Vite app with the client and sync, which syncs in Chromium', async () => {
    run('node', ['node_modules/vite/bin/vite.js', 'build', 'app', '--logLevel', 'warn'], DIR);
    const hub = await startHub([
      '--insecure-dev',
      '--static',
      'app/dist',
      '--db',
      join(DIR, 'data', 'app.db'),
    ]);
    const browser: Browser = await launchChromium();
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(String(error)));
      await page.goto(hub);
      await page.waitForFunction(
        () =>
          document.getElementById('state')?.textContent === 'live' &&
          document.getElementById('confirmed')?.textContent === '1' &&
          document.getElementById('pending')?.textContent === '0',
        undefined,
        { timeout: 30_000 },
      );
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  });

  it('type-check with moduleResolution bundler and nodenext', () => {
    const base = {
      strict: true,
      target: 'ES2022',
      lib: ['ES2023', 'DOM', 'DOM.Iterable'],
      types: ['node'],
      jsx: 'react-jsx',
      noEmit: true,
      skipLibCheck: false,
    };
    const configs = {
      'tsconfig.bundler.json': { ...base, module: 'preserve', moduleResolution: 'bundler' },
      'tsconfig.nodenext.json': { ...base, module: 'nodenext', moduleResolution: 'nodenext' },
    };
    for (const [file, compilerOptions] of Object.entries(configs)) {
      writeFileSync(join(DIR, file), JSON.stringify({ compilerOptions, files: ['check.ts'] }));
      // The repository's compiler (TypeScript 7, native: seconds, where tsc 5 takes minutes on two
      // busy cores); it resolves every import from the project's own node_modules.
      const tsc = spawnSync(join(ROOT, 'node_modules', '.bin', 'tsc'), ['-p', file], {
        cwd: DIR,
        encoding: 'utf8',
      });
      expect({ file, output: tsc.stdout + tsc.stderr, status: tsc.status }).toEqual({
        file,
        output: '',
        status: 0,
      });
    }
  });
});

/** Starts the installed `eventloom-hub` on 127.0.0.1 and a free port; killed after the tests. */
async function startHub(args: string[], nodeOptions?: string): Promise<string> {
  const hub = await startInstalledHub(
    DIR,
    args,
    nodeOptions === undefined ? {} : { NODE_OPTIONS: nodeOptions },
  );
  started.push(hub.child);
  return hub.url;
}
