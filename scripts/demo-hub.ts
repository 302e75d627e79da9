/**
 * Runs `eventloom-hub` for the demo as a child process (SQLite under ./data, insecure dev mode,
 * the board's schemas) and turns its JSON log lines into short readable ones. Used by
 * `pnpm dev` (scripts/dev.ts) and `pnpm start` (scripts/start.ts).
 */
import type { ChildProcess } from 'node:child_process';
import { unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnHubProcess } from '@eventloom/hub-server/testing';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
/** The board's event registry: the hub validates what clients push against it. */
export const DEMO_SCHEMAS = join(ROOT, 'apps', 'demo', 'src', 'domain', 'registry.ts');
/** The demo's stream rules: every stream for the one dev principal, domain events only. */
const DEMO_RULES = join(ROOT, 'apps', 'demo', 'hub-rules.json');

/** A running demo hub. */
export interface DemoHub {
  readonly child: ChildProcess;
  /** `http://127.0.0.1:8080`, or wherever it listens. */
  readonly url: string;
  /** SIGTERM (graceful shutdown), then the exit. */
  stop(): Promise<void>;
}

/**
 * Starts the hub and resolves once it listens; rejects with its output if it exits first.
 * `EVENTLOOM_PORT` (default 8080) and `EVENTLOOM_DB` (default ./data/events.db) choose the port
 * and the file.
 */
export async function startDemoHub(extraArgs: readonly string[] = []): Promise<DemoHub> {
  const port = process.env['EVENTLOOM_PORT'] ?? '8080';
  const db = demoDatabase();
  const { child, url, exited } = await spawnHubProcess(
    [
      '--insecure-dev',
      '--port',
      port,
      '--db',
      db,
      '--schemas',
      DEMO_SCHEMAS,
      '--rules',
      DEMO_RULES,
      ...extraArgs,
    ],
    // Its own process group: a Ctrl-C reaches this script only, which then stops the hub once.
    { cwd: ROOT, detached: true, killOnExit: 'SIGTERM', onLine: print },
  );
  return {
    child,
    url,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** The demo's SQLite file, which `pnpm dev` and `pnpm start` share: `EVENTLOOM_DB`, else ./data/events.db. */
export function demoDatabase(): string {
  return process.env['EVENTLOOM_DB'] ?? join(ROOT, 'data', 'events.db');
}

/**
 * Removes the demo's log ({@link demoDatabase} with its `-wal` and `-shm` files), so the next
 * hub starts an empty board; resolves with the files removed. The hub must not be running. The
 * browsers that synced with the old log keep their copy and see the new one as another log
 * (`hub-changed`): clear the site's data in them (dev tools → Application → Clear site data).
 */
export async function resetDemoData(): Promise<string[]> {
  const db = demoDatabase();
  const removed: string[] = [];
  for (const file of [db, `${db}-wal`, `${db}-shm`]) {
    try {
      await unlink(file);
      removed.push(file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  return removed;
}

interface LogEntry {
  readonly level?: number;
  readonly msg?: string;
  readonly [key: string]: unknown;
}

function parse(line: string): LogEntry | undefined {
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null ? (value as LogEntry) : undefined;
  } catch {
    return undefined;
  }
}

// pino levels: 30 info, 40 warn, 50 error. Per-connection chatter of insecure mode is left out.
function print(line: string): void {
  const entry = parse(line);
  if (entry === undefined) {
    if (line.trim() !== '') console.log(`[hub] ${line}`);
    return;
  }
  if (entry.msg === 'insecure dev mode: unauthenticated connection') return;
  const level = entry.level ?? 30;
  if (level < 30) return;
  const tag = level >= 50 ? 'error' : level >= 40 ? 'warn' : 'info';
  console.log(`[hub] ${tag}: ${entry.msg ?? line}`);
}
