import { playwright } from '@vitest/browser-playwright';
import { defineConfig } from 'vitest/config';

/** Debian's Chromium, launched the way this machine needs it (no sandbox as root, no network chatter). */
const chromium = playwright({
  launchOptions: {
    executablePath: process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  },
});

const browser = (
  name: string,
  include: string[],
  testTimeout: number,
  fileParallelism = true,
  globalSetup: string[] = [],
) => ({
  // Pre-bundled up front: a late re-optimisation reloads the page in the middle of a test run.
  optimizeDeps: {
    include: [
      '@eventloom/client > dexie',
      'rxjs',
      'rxjs/operators',
      'fast-check',
      'zod',
      '@eventloom/client > socket.io-client',
      '@eventloom/react > react',
      '@eventloom/react > react/jsx-runtime',
      '@eventloom/react > react-dom/client',
      '@eventloom/react > react-dom/server',
    ],
  },
  test: {
    name,
    fileParallelism,
    include,
    testTimeout,
    // Node-side setup (a page cannot start a hub): what it starts, tests read with `inject`.
    globalSetup,
    browser: {
      enabled: true,
      provider: chromium,
      headless: true,
      screenshotFailures: false,
      instances: [{ browser: 'chromium' as const }],
    },
  },
});

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'node',
          include: [
            'packages/**/*.test.ts',
            'apps/**/*.test.ts',
            'integration/**/*.test.ts',
            'bench/**/*.test.ts',
            'scripts/**/*.test.ts',
            'README.test.ts',
          ],
          exclude: ['**/node_modules/**', '**/*.browser.test.ts', '**/*.bench.test.ts', '**/*.soak.test.ts'],
          environment: 'node',
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'soak',
          // The attack soak saturates both cores for its 12 s and checks /healthz within 1 s: it
          // runs alone, after the node and browser projects (group 0) and before e2e (group 2).
          include: ['packages/**/*.soak.test.ts'],
          exclude: ['**/node_modules/**'],
          environment: 'node',
          fileParallelism: false,
          testTimeout: 120_000,
          sequence: { groupOrder: 1 },
        },
      },
      browser(
        'browser',
        [
          'packages/**/*.browser.test.{ts,tsx}',
          'apps/**/*.browser.test.ts',
          'integration/**/*.browser.test.ts',
        ],
        30_000,
        true,
        ['integration/src/sync/sync-hub.global-setup.node.ts'],
      ),
      {
        test: {
          name: 'e2e',
          // Real browsers against the real hub and the built demo (e2e/src/global-setup.ts builds
          // it): one file at a time, on two cores.
          include: ['e2e/**/*.e2e.test.ts'],
          exclude: ['**/node_modules/**'],
          environment: 'node',
          globalSetup: ['e2e/src/global-setup.ts'],
          fileParallelism: false,
          // After the other projects, so that a browser timing out on a starved dev server is never
          // what a run measures.
          sequence: { groupOrder: 2 },
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          name: 'bench-node',
          // One benchmark at a time: two cores, and each figure is a ratio measured in one run.
          fileParallelism: false,
          include: [
            'packages/**/*.bench.ts',
            'apps/**/*.bench.ts',
            'e2e/**/*.bench.ts',
            'integration/**/*.bench.ts',
          ],
          exclude: ['**/node_modules/**', '**/*.browser.bench.ts'],
          environment: 'node',
          testTimeout: 600_000,
          hookTimeout: 600_000,
        },
      },
      // The hubs the sync benchmarks in Chromium push to, started in Node: a memory one (outbox-drain),
      // and a real `eventloom-hub` on SQLite beside the raw relay (e2e-latency-browser).
      browser(
        'bench-browser',
        ['packages/**/*.browser.bench.ts', 'integration/**/*.browser.bench.ts'],
        600_000,
        false,
        [
          'integration/src/sync/sync-hub.global-setup.node.ts',
          'integration/bench/e2e-latency-browser.global-setup.node.ts',
        ],
      ),
    ],
  },
});
