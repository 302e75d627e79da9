/**
 * hub-memory-rss: the resident memory of an idle `eventloom-hub`, run as a user installs it (the
 * packed package installed with npm, its bin on plain Node: built JavaScript, no TypeScript
 * compiled at run time; SQLite file, JWT auth), against a bare Socket.IO server on the same
 * socket.io and Node, with the same (no) Node flags. Each is started alone and left idle
 * {@link IDLE_MS} after it listens, and its VmRSS read from /proc then; the smallest of three runs
 * each. Target ≤ 1.5×.
 *
 * Idle means after the start-up garbage is collected, in both: V8's memory reducer runs its
 * collections once a process has been quiet for about 8 s, and gives back the heap that start-up
 * grew (the hub's 3 s after listening is some 10 MiB above what it then keeps for good; the bare
 * server's hardly moves). The reading at 3 s is logged beside, for comparison.
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { reportBench } from '../../bench/node.ts';
import { installPackedProject, startInstalledHub, startServer } from './packed-project.ts';

const ROUNDS = 3;
/** How long each server is left idle before its RSS is read. */
const IDLE_MS = 25_000;
/** The early reading, logged only. */
const EARLY_MS = 3_000;

it('hub-memory-rss', async () => {
  const dir = await installPackedProject();
  let hub: Rss = { early: Infinity, idle: Infinity };
  let bare: Rss = { early: Infinity, idle: Infinity };
  for (let round = 0; round < ROUNDS; round++) {
    bare = smallest(
      bare,
      await idleRss(() => startServer(dir, process.execPath, ['bare-socket-io.mjs'], 'listening')),
    );
    hub = smallest(
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
  expect(hub.idle).toBeGreaterThan(0);
  const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
  console.log(
    `[bench] hub-memory-rss: idle ${IDLE_MS / 1000} s: hub ${mib(hub.idle)} MiB, bare Socket.IO ${mib(bare.idle)} MiB; ` +
      `${EARLY_MS / 1000} s after listening: hub ${mib(hub.early)} MiB, bare ${mib(bare.early)} MiB`,
  );
  await reportBench({
    name: 'hub-memory-rss',
    value: hub.idle / 2 ** 20,
    unit: 'MiB RSS idle',
    baseline: bare.idle / 2 ** 20,
    target: 1.5,
    better: 'lower',
  });
});

/** Resident set sizes in bytes: {@link EARLY_MS} and {@link IDLE_MS} after listening. */
interface Rss {
  readonly early: number;
  readonly idle: number;
}

function smallest(a: Rss, b: Rss): Rss {
  return { early: Math.min(a.early, b.early), idle: Math.min(a.idle, b.idle) };
}

/** Starts a server, reads its resident set size {@link EARLY_MS} then {@link IDLE_MS} after it listens, and kills it. */
async function idleRss(start: () => Promise<{ readonly child: ChildProcess }>): Promise<Rss> {
  const { child } = await start();
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  try {
    await sleep(EARLY_MS);
    const early = vmRss(child);
    await sleep(IDLE_MS - EARLY_MS);
    return { early, idle: vmRss(child) };
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    }
  }
}

function vmRss(child: ChildProcess): number {
  const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
  const kb = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
  if (kb === undefined) throw new Error(`no VmRSS for ${child.pid}`);
  return Number(kb) * 1024;
}
