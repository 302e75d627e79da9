import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Device, launchChromium } from './device.ts';
import { ROOT } from './paths.ts';

/**
 * The README's `pnpm dev`, run as pnpm runs it (the `dev` script of package.json, in a shell with
 * node_modules/.bin on the PATH), on free ports and a fresh SQLite file.
 */
let dev: ChildProcess;
let exited: Promise<number | null>;
let output = '';
let url: string;
let browser: Browser;
const dir = mkdtempSync(join(tmpdir(), 'eventloom-dev-e2e-'));

beforeAll(async () => {
  const scripts = (
    JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: { dev: string } }
  ).scripts;
  dev = spawn('sh', ['-c', scripts.dev], {
    cwd: ROOT,
    env: {
      ...process.env,
      PATH: `${join(ROOT, 'node_modules', '.bin')}${delimiter}${process.env['PATH'] ?? ''}`,
      EVENTLOOM_PORT: '0',
      EVENTLOOM_DEMO_PORT: '0',
      EVENTLOOM_DB: join(dir, 'events.db'),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  exited = new Promise((resolve) => dev.once('exit', (code) => resolve(code)));
  url = await new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const found = /Eventloom demo: (http:\/\/\S+)/.exec(output);
      if (found) resolve(found[1]!);
    };
    dev.stdout!.on('data', onData);
    dev.stderr!.on('data', onData);
    void exited.then(() => reject(new Error(`pnpm dev exited:\n${output}`)));
  });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  if (dev !== undefined && dev.exitCode === null) {
    dev.kill('SIGINT');
    await exited;
  }
  rmSync(dir, { recursive: true, force: true });
});

it('`pnpm dev` serves a service worker: a reload with the network off opens the app on its data', async () => {
  const device = await Device.open(browser, url, 'dev', 'dev-offline');
  try {
    await device.waitForServiceWorker();
    // The modules the page loaded before the worker took control are copied into its cache just
    // after: going offline before that ends would reload into a page that misses some of them.
    await device.page.locator('html[data-offline-ready]').waitFor({ state: 'attached', timeout: 30_000 });
    await device.addCard('todo', 'Written under pnpm dev');
    const before = await device.board();

    await device.setOffline(true);
    await device.page.reload();
    await device.waitForBoard();
    await device.page
      .locator('[data-testid="card-title"]', { hasText: 'Written under pnpm dev' })
      .waitFor({ timeout: 15_000 });
    expect(await device.board()).toEqual(before);
    await device.screenshot('reloaded-offline-under-pnpm-dev');
    await device.addCard('backlog', 'Added offline under pnpm dev');
    expect((await device.syncState()).pending).toBeGreaterThan(0);
  } finally {
    await device.close();
  }
});

it('stops cleanly on Ctrl-C (SIGINT): both servers down, exit code 0', async () => {
  dev.kill('SIGINT');
  expect(await exited).toBe(0);
  expect(output).toContain('eventloom-hub stopped');
  expect(output).not.toMatch(/Command failed|ERR_/);
});
