/**
 * A real client crash (issue 16 §6): a device in a process of its own, on a SQLite file, appends
 * without end while it syncs, and is SIGKILLed while it writes and pushes — no `close`, nothing
 * drained. A new instance then opens the same file and syncs: every append that had resolved is
 * durable, every event is stored at the hub exactly once, in clientSeq order, and nothing stays
 * pending. (It also needs the SQLite store to let the sync's I/O run while the device appends.)
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createEventloom, createSync } from '@eventloom/client';
import { SqliteClientStore } from '@eventloom/client/sqlite';
import { syncPortOf, todoRegistry } from '@eventloom/client/testing';
import { afterAll, expect, it, vi } from 'vitest';
import { live, syncFixtures, type TestHub, waitFor } from './sync-harness.node.ts';

// Node itself with tsx's loader, not the tsx command: that one runs the script in a child process
// of its own, which a SIGKILL of the command would leave running.
const tsx = pathToFileURL(join(import.meta.dirname, '../../../node_modules/tsx/dist/loader.mjs')).href;
const dir = mkdtempSync(join(tmpdir(), 'eventloom-real-crash-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const { defer, hub: startHub } = syncFixtures();

/**
 * Runs the device until it reported `appends` resolved appends and the hub stored more than
 * `stored` events (its pushes are under way), then SIGKILLs it.
 */
async function runAndKill(hub: TestHub, path: string, prefix: string, appends: number, stored: number) {
  const url = hub.url;
  const script = join(import.meta.dirname, 'crash-child.node.ts');
  const child = spawn(process.execPath, ['--import', tsx, script, path, url, prefix], {
    stdio: 'pipe',
  });
  defer(() => child.kill('SIGKILL'));
  const appended: string[] = [];
  let clientId = '';
  let err = '';
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  await new Promise<void>((resolve, reject) => {
    let buffer = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      for (const line of lines) {
        const [what, value] = line.split(' ');
        if (what === 'ready') clientId = value ?? '';
        if (what === 'appended' && value !== undefined) appended.push(value);
      }
      if (appended.length >= appends) resolve();
    });
    child.on('exit', (code) =>
      reject(new Error(`the device exited (${String(code)}) before the kill: ${err}`)),
    );
  });
  await vi.waitFor(
    async () => {
      const length = (await hub.events()).length;
      if (length <= stored)
        throw new Error(`the hub holds ${length} events; the device said: ${err.slice(-2000)}`);
    },
    { timeout: 60_000, interval: 20 },
  );
  const exited = new Promise((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
  child.kill('SIGKILL');
  expect(await exited).toBe('SIGKILL');
  return { clientId, appended: [...appended] };
}

it('keeps every resolved append of a device SIGKILLed mid-write, and the hub stores each once', async () => {
  const hub = await startHub();
  const path = join(dir, 'device.db');
  const first = await runAndKill(hub, path, 'a', 50, 0);
  const second = await runAndKill(hub, path, 'b', 20, (await hub.events()).length);
  expect(second.clientId).toBe(first.clientId);

  // A new instance on the same file: what it stored, it kept; it pushes the rest.
  const loom = await createEventloom({
    name: 'after-crash',
    registry: todoRegistry,
    storage: { store: new SqliteClientStore({ path }) },
  });
  defer(() => loom.close());
  expect(loom.clientId).toBe(first.clientId);
  const sync = createSync(loom, { url: hub.url, subscriptions: ['*'], warn: false });
  defer(() => sync.close());
  await live(sync, 60_000);
  await sync.flushed();
  const log = await hub.events();
  await waitFor(sync.metrics$, (m) => m.position >= log.length, 60_000);

  const ids = log.map((e) => e.id);
  expect(new Set(ids).size).toBe(ids.length);
  for (const id of [...first.appended, ...second.appended]) expect(ids, `appended ${id}`).toContain(id);
  // One client, its seqs gapless from 1, in the log's order: nothing lost, re-issued or reordered.
  expect(log.every((e) => e.clientId === first.clientId)).toBe(true);
  expect(log.map((e) => e.clientSeq)).toEqual(log.map((_, i) => i + 1));
  expect((await loom.readEvents()).map((e) => e.id)).toEqual(ids);
  expect(await syncPortOf(loom).readOutbox()).toEqual([]);
}, 240_000);
