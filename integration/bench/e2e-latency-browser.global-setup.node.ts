/**
 * vitest `globalSetup` of the bench-browser project for e2e-latency-browser: a page cannot start
 * processes, so the real hub (`eventloom-hub` on a SQLite file) and the raw relay (committing to a
 * SQLite log with the hub's settings before it relays: the durable floor) run in Node for the whole
 * run, each a child process as in e2e-latency; their URLs are handed to the pages (`inject`).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HUB_BIN } from '@eventloom/hub-server/testing';
import { startHubProcess } from '@eventloom/sync-lab';
import type { TestProject } from 'vitest/node';
import { startRawRelay } from './sync-bench-kit.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The real hub on a SQLite file (insecure dev auth, any origin). */
    latencyHubUrl: string;
    /** The bare Socket.IO relay whose `durable` messages are committed to SQLite before relaying. */
    latencyRelayUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dir = mkdtempSync(join(tmpdir(), 'eventloom-e2e-latency-browser-'));
  const hub = await startHubProcess({ bin: HUB_BIN, dbPath: join(dir, 'hub.db') });
  const relay = await startRawRelay(join(dir, 'floor.db'));
  project.provide('latencyHubUrl', hub.url);
  project.provide('latencyRelayUrl', relay.url);
  return async () => {
    await relay.close();
    await hub.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
}
