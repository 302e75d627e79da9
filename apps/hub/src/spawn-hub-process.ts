/**
 * `@eventloom/hub-server/testing`: this app's command as a child process, for its own tests, the
 * end-to-end tests and `pnpm dev` / `pnpm start` (scripts/demo-hub.ts). The spawner itself lives in
 * `@eventloom/sync-lab` (packages never depend on apps): this file only names the entry point.
 * Node only, not part of the package entry point.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  spawnHubProcess as spawnHub,
  type SpawnedHub,
  type SpawnHubOptions as SpawnOptions,
} from '@eventloom/sync-lab';

/** The command's entry point, as a user runs it. */
export const HUB_BIN = join(dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'eventloom-hub.js');

/** A hub child process that announced its URL. */
export type HubProcess = SpawnedHub;

/** How the command runs: the caller's environment and directory by default. */
export type SpawnHubOptions = Omit<SpawnOptions, 'bin'>;

/**
 * Runs `eventloom-hub` with `args` and resolves once it listens; rejects with its output if it ends first.
 *
 * @example
 * const hub = await spawnHubProcess(['--insecure-dev', '--port', '0', '--db', 'events.db']);
 * hub.child.kill('SIGTERM');
 * await hub.exited;
 */
export function spawnHubProcess(args: readonly string[], options: SpawnHubOptions = {}): Promise<HubProcess> {
  return spawnHub(args, { ...options, bin: HUB_BIN });
}
