/**
 * Runs `eventloom-hub` for the demo as a child process (SQLite under ./data, insecure dev mode,
 * the board's schemas) and turns its JSON log lines into short readable ones. Used by
 * `pnpm dev` (scripts/dev.ts) and `pnpm start` (scripts/start.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const HUB_BIN = join(ROOT, 'apps', 'hub', 'bin', 'eventloom-hub.js');
/** The board's event registry: the hub validates what clients push against it. */
export const DEMO_SCHEMAS = join(ROOT, 'apps', 'demo', 'src', 'domain', 'registry.ts');

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
export function startDemoHub(extraArgs: readonly string[] = []): Promise<DemoHub> {
  const port = process.env['EVENTLOOM_PORT'] ?? '8080';
  const db = process.env['EVENTLOOM_DB'] ?? join(ROOT, 'data', 'events.db');
  const child = spawn(
    process.execPath,
    [HUB_BIN, '--insecure-dev', '--port', port, '--db', db, '--schemas', DEMO_SCHEMAS, ...extraArgs],
    // Its own process group: a Ctrl-C reaches this script only, which then stops the hub once.
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  const orphaned = () => child.kill('SIGTERM');
  process.once('exit', orphaned);
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => {
      process.off('exit', orphaned);
      resolve(code ?? signal ?? 'unknown');
    }),
  );
  const seen: string[] = [];
  return new Promise((resolve, reject) => {
    let buffered = '';
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        seen.push(line);
        const entry = parse(line);
        if (entry?.msg === 'eventloom-hub listening' && typeof entry.url === 'string') {
          resolve({
            child,
            url: entry.url,
            stop: async () => {
              if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
              await exited;
            },
          });
        }
        print(entry, line);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    void exited.then((code) =>
      reject(
        new Error(`eventloom-hub exited (${code}) before listening:\n${[...seen, buffered].join('\n')}`),
      ),
    );
  });
}

interface LogEntry {
  readonly level?: number;
  readonly msg?: string;
  readonly url?: unknown;
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
function print(entry: LogEntry | undefined, line: string): void {
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
