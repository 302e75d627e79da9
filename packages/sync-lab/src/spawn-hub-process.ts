/**
 * Runs the `eventloom-hub` command as a child process and resolves once it announces that it
 * listens: the one way this repo starts the hub as a process. The command's entry point is given
 * (`bin`), so that no package depends on the app: `@eventloom/hub-server/testing` passes its own
 * (`HUB_BIN`) for the app's tests, the end-to-end tests and `pnpm dev` / `pnpm start`, and the
 * cross-package tests pass it to {@link startHubProcess}. Node only.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';

/** A hub child process that announced its URL. */
export interface SpawnedHub {
  readonly child: ChildProcess;
  readonly url: string;
  /** Every line it wrote to stdout and stderr so far. */
  readonly output: string[];
  /** Resolves with the exit code (or the signal's name) once the process ended. */
  readonly exited: Promise<number | string>;
}

/** How the command runs: the caller's environment and directory by default. */
export interface SpawnHubOptions {
  /** The command's entry point, a Node script (`HUB_BIN` of `@eventloom/hub-server/testing`). */
  readonly bin: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** Its own process group, so that a Ctrl-C in the terminal reaches only the caller. */
  readonly detached?: boolean;
  /** Sent to the child if this process exits while the child still runs, so that it never outlives it. */
  readonly killOnExit?: 'SIGTERM' | 'SIGKILL';
  /** Called once the child is spawned, before any of its output. */
  readonly onSpawn?: (child: ChildProcess) => void;
  /** Called with each line of stdout and stderr as it comes, the whole life of the process. */
  readonly onLine?: (line: string) => void;
}

/**
 * Runs the command with `args` and resolves once it listens; rejects with its output if it ends first.
 *
 * @example
 * const hub = await spawnHubProcess(['--insecure-dev', '--port', '0', '--db', 'events.db'], { bin: HUB_BIN });
 * hub.child.kill('SIGTERM');
 * await hub.exited;
 */
export function spawnHubProcess(args: readonly string[], options: SpawnHubOptions): Promise<SpawnedHub> {
  const child = spawn(process.execPath, [options.bin, ...args], {
    env: options.env ?? process.env,
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.detached ?? false,
  });
  if (options.killOnExit !== undefined) killOnExit(child, options.killOnExit);
  options.onSpawn?.(child);
  const output: string[] = [];
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')),
  );
  return new Promise((resolve, reject) => {
    const onLine = (line: string) => {
      output.push(line);
      options.onLine?.(line);
      const url = listeningUrl(line);
      if (url !== undefined) resolve({ child, url, output, exited });
    };
    readLines(child.stdout, onLine);
    readLines(child.stderr, onLine);
    // 'close' comes after the output streams ended, so the reason it exited is in the output.
    child.once('close', () => {
      void exited.then((code) =>
        reject(new Error(`eventloom-hub exited (${code}) before listening:\n${output.join('\n')}`)),
      );
    });
  });
}

/** Calls `onLine` with each line of `stream`, the last one too if it has no newline. */
function readLines(stream: Readable, onLine: (line: string) => void): void {
  let partial = '';
  stream.setEncoding('utf8');
  stream.on('data', (text: string) => {
    const lines = (partial + text).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) onLine(line);
  });
  stream.on('end', () => {
    if (partial !== '') onLine(partial);
    partial = '';
  });
}

/** The URL of the JSON log line `eventloom-hub listening`, if `line` is that line. */
function listeningUrl(line: string): string | undefined {
  try {
    const entry = JSON.parse(line) as { msg?: string; url?: string };
    return entry.msg === 'eventloom-hub listening' ? entry.url : undefined;
  } catch {
    return undefined;
  }
}

const killedOnExit = new Map<ChildProcess, NodeJS.Signals>();

/** One `exit` hook for all children, each dropped from it when it ends. */
function killOnExit(child: ChildProcess, signal: NodeJS.Signals): void {
  if (killedOnExit.size === 0) process.once('exit', killAll);
  killedOnExit.set(child, signal);
  child.once('exit', () => {
    killedOnExit.delete(child);
    if (killedOnExit.size === 0) process.off('exit', killAll);
  });
}

function killAll(): void {
  for (const [child, signal] of killedOnExit) child.kill(signal);
}
