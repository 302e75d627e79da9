/**
 * An outside project with the published packages installed as a user gets them: every package is
 * packed (`pnpm pack`, which builds dist/ first) and the tarballs are installed with npm, beside
 * what such a project takes from the registry. Used by the consumer check and by the benchmarks
 * that measure the packages as installed (hub-memory-rss, bundle-size, bundle-size-react).
 *
 * The project lives in the system's temp folder, under a name derived from the checkout it packs
 * and what it installs from the registry (so that two checkouts never share one), and keeps its
 * node_modules between runs (only our tarballs change), so that npm builds better-sqlite3 from
 * source once, not on every run. EVENTLOOM_CONSUMER_FRESH=1 starts it
 * anew.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './paths.ts';

/** The published packages, by folder. */
export const PACKAGES = [
  'packages/protocol',
  'packages/core',
  'packages/client',
  'packages/hub',
  'packages/cli',
  'packages/react',
  'apps/hub',
];
/** What the outside project installs from the registry beside our tarballs: the peers, and its own tools. */
const REGISTRY_DEPENDENCIES: Record<string, string> = {
  zod: '^4.6.7',
  rxjs: '^7.8.2',
  'fake-indexeddb': '^6.2.8',
  jose: '^6.2.18',
  react: '^19.2.0',
  'react-dom': '^19.2.0',
  '@types/react': '^19.2.0',
  '@types/node': '^20.19.0',
  typescript: '~5.9.3',
  vite: '^8.3.8',
};
/** The files the consumer check copies into the project. */
const FIXTURES = join(ROOT, 'e2e', 'src', 'consumer');

/** Where the project is. */
export const PROJECT_DIR = join(
  tmpdir(),
  `eventloom-consumer-${createHash('sha256')
    .update(JSON.stringify([ROOT, REGISTRY_DEPENDENCIES, externalDependencies()]))
    .digest('hex')
    .slice(0, 12)}`,
);

/**
 * Packs every package, and installs the tarballs and the registry dependencies into a fresh
 * {@link PROJECT_DIR} (but for its node_modules, kept); copies the consumer check's files in.
 */
export function installPackedProject(): Promise<string> {
  installing ??= install();
  return installing;
}

/** Once per process: the benchmarks of one file share the project. */
let installing: Promise<string> | undefined;

async function install(): Promise<string> {
  const dir = PROJECT_DIR;
  if (process.env['EVENTLOOM_CONSUMER_FRESH'] === '1') rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const entry of readdirSync(dir)) {
    if (entry !== 'node_modules' && entry !== 'package-lock.json') {
      rmSync(join(dir, entry), { recursive: true, force: true });
    }
  }
  const packs = join(dir, 'packs');
  mkdirSync(packs);
  for (const pkg of PACKAGES) {
    await runAsync('npx', ['-y', 'pnpm@12.4.2', 'pack', '--pack-destination', packs], join(ROOT, pkg));
  }
  const tarballs = Object.fromEntries(
    readdirSync(packs).map((file) => {
      const manifest = JSON.parse(run('tar', ['-xzOf', join(packs, file), 'package/package.json'], dir)) as {
        name: string;
      };
      return [manifest.name, `file:./packs/${file}`];
    }),
  );
  if (Object.keys(tarballs).length !== PACKAGES.length) {
    throw new Error(`packed ${Object.keys(tarballs).join(', ')}, not ${PACKAGES.length} packages`);
  }
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify(
      {
        name: 'consumer',
        private: true,
        type: 'module',
        dependencies: { ...tarballs, ...REGISTRY_DEPENDENCIES },
      },
      null,
      2,
    ),
  );
  cpSync(FIXTURES, dir, { recursive: true });
  // npm would keep the copies of our packages it installed last time (same name and version):
  // they go, with their lock entries, so that this run installs the tarballs just packed.
  rmSync(join(dir, 'node_modules', '@eventloom'), { recursive: true, force: true });
  const lockFile = join(dir, 'package-lock.json');
  if (existsSync(lockFile)) {
    const lock = JSON.parse(readFileSync(lockFile, 'utf8')) as { packages?: Record<string, unknown> };
    for (const path of Object.keys(lock.packages ?? {})) {
      if (path.includes('node_modules/@eventloom/')) delete lock.packages![path];
    }
    writeFileSync(lockFile, JSON.stringify(lock, null, 2));
  }
  await runAsync('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], dir);
  return dir;
}

/** Like {@link run}, without blocking the event loop (so that a test's timeout can end it). */
export function runAsync(command: string, args: string[], cwd: string): Promise<string> {
  const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) =>
      code === 0
        ? resolve(stdout)
        : reject(new Error(`${command} ${args.join(' ')} failed (${code ?? signal}):\n${stdout}\n${stderr}`)),
    );
  });
}

/** Runs a command to its end; throws with its output unless it exits 0. */
export function run(command: string, args: string[], cwd: string): string {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} failed (${result.status ?? result.signal}):\n${result.stdout}\n${result.stderr}`,
    );
  }
  return result.stdout;
}

/** Every file under `dir`, relative, `/`-separated. */
export function listFiles(dir: string, prefix = ''): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? listFiles(join(dir, entry.name), `${prefix}${entry.name}/`)
      : [`${prefix}${entry.name}`],
  );
}

/** The registry dependencies of the packages we publish: a new one means a new install. */
function externalDependencies(): Record<string, string> {
  const all: Record<string, string> = {};
  for (const pkg of PACKAGES) {
    const manifest = JSON.parse(readFileSync(join(ROOT, pkg, 'package.json'), 'utf8')) as {
      dependencies?: Record<string, string>;
    };
    for (const [name, range] of Object.entries(manifest.dependencies ?? {})) {
      if (!name.startsWith('@eventloom/')) all[name] = range;
    }
  }
  return all;
}

/**
 * Starts a server of the project (`command` with `args`, on this Node, nothing preloaded, a bare
 * environment) and resolves once it logs a JSON line with `msg` and `url`.
 */
export function startServer(
  dir: string,
  command: string,
  args: readonly string[],
  msg: string,
  env: Record<string, string> = {},
): Promise<{ readonly child: ChildProcess; readonly url: string }> {
  const child = spawn(command, args, {
    cwd: dir,
    env: { PATH: process.env['PATH'] ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      for (const line of output.split('\n')) {
        try {
          const entry = JSON.parse(line) as { msg?: string; url?: string };
          if (entry.msg === msg && entry.url !== undefined) resolve({ child, url: entry.url });
        } catch {
          // not a whole JSON line yet
        }
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) =>
      reject(new Error(`${command} exited (${code}) before listening:\n${output}`)),
    );
  });
}

/** Starts the installed `eventloom-hub` (its bin, as `npm i` linked it) on 127.0.0.1 and a free port. */
export function startInstalledHub(
  dir: string,
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<{ readonly child: ChildProcess; readonly url: string }> {
  const bin = join(dir, 'node_modules', '.bin', 'eventloom-hub');
  return startServer(
    dir,
    bin,
    ['--port', '0', '--host', '127.0.0.1', ...args],
    'eventloom-hub listening',
    env,
  );
}
