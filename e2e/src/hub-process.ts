import type { ChildProcess } from 'node:child_process';
import { spawnHubProcess } from '@eventloom/hub-server/testing';
import { join } from 'node:path';
import { ROOT } from './paths.ts';

const SCHEMAS = join(ROOT, 'apps', 'demo', 'src', 'domain', 'registry.ts');

/** What a hub of the tests is started with. */
export interface HubProcessOptions {
  /** The SQLite file: a restart on the same file keeps the log. */
  readonly db: string;
  /** The built demo the hub serves. */
  readonly dist: string;
  /** 0 picks a free port; a restart passes the first run's port, so that browsers find it again. */
  readonly port?: number;
}

/**
 * The real `eventloom-hub` as a child process, serving the built demo (`--static`) and the sync
 * protocol on one port, in insecure dev mode with the board's schemas, as `pnpm start` runs it.
 */
export class HubProcess {
  readonly url: string;
  readonly port: number;
  /** Everything it printed, for a failure's message. */
  readonly output: string[];
  readonly #child: ChildProcess;
  readonly #exited: Promise<number | string>;
  readonly #options: HubProcessOptions;

  private constructor(
    child: ChildProcess,
    url: string,
    output: string[],
    exited: Promise<number | string>,
    options: HubProcessOptions,
  ) {
    this.#child = child;
    this.url = url;
    this.port = Number(new URL(url).port);
    this.output = output;
    this.#exited = exited;
    this.#options = options;
  }

  /** Starts a hub and resolves once it listens (rejects with its output if it exits first). */
  static async start(options: HubProcessOptions): Promise<HubProcess> {
    const args = [
      '--insecure-dev',
      '--host',
      '127.0.0.1',
      '--port',
      String(options.port ?? 0),
      '--db',
      options.db,
      '--schemas',
      SCHEMAS,
      '--static',
      options.dist,
    ];
    const hub = await spawnHubProcess(args, { cwd: ROOT });
    return new HubProcess(hub.child, hub.url, hub.output, hub.exited, options);
  }

  /** Kills it at once (SIGKILL: no goodbye, whatever is in flight is cut). */
  async kill(): Promise<void> {
    if (this.#running()) this.#child.kill('SIGKILL');
    await this.#exited;
  }

  /** Stops it gracefully (SIGTERM). */
  async stop(): Promise<void> {
    if (this.#running()) this.#child.kill('SIGTERM');
    await this.#exited;
  }

  /** A new hub on the same port and database file. */
  restart(): Promise<HubProcess> {
    return HubProcess.start({ ...this.#options, port: this.port });
  }

  #running(): boolean {
    return this.#child.exitCode === null && this.#child.signalCode === null;
  }
}
