import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { ROOT } from './demo-hub.ts';

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

it('`pnpm dev` starts the hub on SQLite and the demo dev server, prints the URL, and stops both', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'eventloom-dev-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const db = join(dir, 'data', 'events.db');
  // What `pnpm dev` runs.
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/dev.ts'], {
    cwd: ROOT,
    env: { ...process.env, EVENTLOOM_PORT: '0', EVENTLOOM_DEMO_PORT: '0', EVENTLOOM_DB: db },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  cleanups.push(async () => {
    if (child.exitCode === null) child.kill('SIGKILL');
    await exited;
  });
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const found = /Eventloom demo: (http:\/\/\S+)/.exec(output);
      if (found) resolve(found[1]!);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    void exited.then(() => reject(new Error(`pnpm dev exited:\n${output}`)));
  });

  const page = await fetch(url);
  expect(page.status).toBe(200);
  expect(await page.text()).toContain('<div id="app">');
  // The dev server forwards the hub's endpoints (and /socket.io) to the hub.
  expect(await (await fetch(new URL('/healthz', url))).json()).toEqual({ status: 'ok' });
  expect(output).toContain(`SQLite ${db}`);

  child.kill('SIGTERM');
  expect(await exited).toBe(0);
  expect(output).toContain('eventloom-hub stopped');
}, 60_000);
