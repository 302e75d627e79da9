/**
 * Test support: runs the `eventloom-hub` command as a child process and resolves once it announces
 * that it listens. Used by this app's own tests and by the end-to-end tests
 * (`@eventloom/hub-server/testing`); Node only, not part of the package entry point.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The command's entry point, as a user runs it. */
export const HUB_BIN = join(dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'eventloom-hub.js');

/** A hub child process that announced its URL. */
export interface HubProcess {
  readonly child: ChildProcess;
  readonly url: string;
  /** Every line it wrote to stdout and stderr so far. */
  readonly output: string[];
  /** Resolves with the exit code (or the signal's name) once the process ended. */
  readonly exited: Promise<number | string>;
}

/** Where and with what environment the command runs; the caller's environment by default. */
export interface SpawnHubOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
}

/** Runs the command with `args` and resolves once it listens (or rejects with its output if it exits). */
export function spawnHubProcess(args: readonly string[], options: SpawnHubOptions = {}): Promise<HubProcess> {
  const child = spawn(process.execPath, [HUB_BIN, ...args], {
    env: options.env ?? process.env,
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')),
  );
  return new Promise((resolve, reject) => {
    let buffered = '';
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        output.push(line);
        const url = listeningUrl(line);
        if (url !== undefined) resolve({ child, url, output, exited });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    void exited.then((code) =>
      reject(new Error(`eventloom-hub exited (${code}) before listening:\n${output.join('\n')}${buffered}`)),
    );
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
