/**
 * hub-memory-rss: the resident memory of an idle `eventloom-hub`, run as a user installs it (the
 * packed package installed with npm, its bin on plain Node: built JavaScript, no TypeScript
 * compiled at run time; SQLite file, JWT auth), against a bare Socket.IO server on the same
 * socket.io and Node. Each is started alone, left idle 3 s after it listens, and its VmRSS read
 * from /proc; the smallest of three runs each. Target ≤ 1.5×.
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { reportBench } from '../../bench/node.ts';
import { installPackedProject, startInstalledHub, startServer } from './packed-project.ts';

const ROUNDS = 3;

it('hub-memory-rss', async () => {
  const dir = await installPackedProject();
  let hub = Infinity;
  let bare = Infinity;
  for (let round = 0; round < ROUNDS; round++) {
    bare = Math.min(
      bare,
      await idleRss(() => startServer(dir, process.execPath, ['bare-socket-io.mjs'], 'listening')),
    );
    hub = Math.min(
      hub,
      await idleRss(() =>
        startInstalledHub(dir, [
          '--db',
          join(dir, 'data', `rss-${round}.db`),
          '--jwt-secret',
          'hub-memory-rss-secret-at-least-32-bytes',
        ]),
      ),
    );
  }
  expect(hub).toBeGreaterThan(0);
  console.log(
    `[bench] hub-memory-rss: hub ${(hub / 2 ** 20).toFixed(1)} MiB, bare Socket.IO ${(bare / 2 ** 20).toFixed(1)} MiB`,
  );
  await reportBench({
    name: 'hub-memory-rss',
    value: hub / 2 ** 20,
    unit: 'MiB RSS idle',
    baseline: bare / 2 ** 20,
    target: 1.5,
    better: 'lower',
  });
});

/** Starts a server, waits 3 s once it listens, reads its resident set size, and kills it. */
async function idleRss(start: () => Promise<{ readonly child: ChildProcess }>): Promise<number> {
  const { child } = await start();
  try {
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
    const kb = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
    if (kb === undefined) throw new Error(`no VmRSS for ${child.pid}`);
    return Number(kb) * 1024;
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    }
  }
}
