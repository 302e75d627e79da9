import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { spawnHubProcess } from './spawn-hub-process.ts';
import { SyncLabError, SyncLabErrorCode } from './sync-lab-error.ts';

/** Options of {@link startHubProcess}. */
export interface HubProcessOptions {
  /** The `eventloom-hub` command's entry point (`HUB_BIN` of `@eventloom/hub-server/testing`). */
  readonly bin: string;
  /** The SQLite file of the hub's log; kept across restarts. */
  readonly dbPath: string;
  /**
   * The port, kept across restarts. Absent or 0: a free one below the kernel's ephemeral range, so
   * that no outgoing connection can take it while the hub is down between a kill and a restart.
   */
  readonly port?: number;
  /** The address (default 127.0.0.1). */
  readonly host?: string;
  /** More flags, after `--insecure-dev --host --port --db` (which they must not repeat). */
  readonly args?: readonly string[];
  /** The child's environment, on top of PATH (nothing else of this process leaks into it). */
  readonly env?: Readonly<Record<string, string>>;
  /** Pass `--insecure-dev` (default true). Without it, `args` must configure authentication. */
  readonly insecureDev?: boolean;
  /** How long a start (or restart) may take, port wait included (default 30 s). */
  readonly startTimeoutMs?: number;
  /** How many lines of output to keep, all starts together (default 5000). */
  readonly keepLines?: number;
}

/** How the process ended: its exit code, or the name of the signal that killed it. */
export type HubExit = number | NodeJS.Signals;

/** The hub running as a child process, killable and restartable on the same port and database. */
export interface HubProcess {
  /** `http://host:port`, the same across restarts. */
  readonly url: string;
  readonly port: number;
  readonly dbPath: string;
  /** The pid of the current process. */
  readonly pid: number | undefined;
  /** True from a start until the process exits. */
  readonly running: boolean;
  /** How many times it was started (1 after `startHubProcess`). */
  readonly starts: number;
  /** The last lines it wrote to stdout and stderr, each start headed by a line of its own. */
  readonly output: readonly string[];
  /** Resolves when the current process exits. */
  readonly exited: Promise<HubExit>;
  /** Sends `signal` (default SIGKILL) and resolves once the process is gone; at once if it was. */
  kill(signal?: 'SIGKILL' | 'SIGTERM'): Promise<HubExit>;
  /**
   * Starts the hub again on the same port and database, once the port is free. If it still runs,
   * it is killed first with `signal` (default SIGKILL).
   */
  restart(options?: { readonly signal?: 'SIGKILL' | 'SIGTERM' }): Promise<void>;
  /** A paragraph for a failure message: pid, url, db, starts, and the last `lines` of output. */
  describe(lines?: number): string;
}

/**
 * Runs the real hub (`eventloom-hub --insecure-dev`) as a child process and resolves once it says
 * it listens; rejects with its output if it exits first. Killed with SIGKILL if this process exits.
 *
 * @example
 * const hub = await startHubProcess({ dbPath: join(dir, 'events.db') });
 * await hub.kill('SIGKILL');
 * await hub.restart(); // same port, same database
 */
export async function startHubProcess(options: HubProcessOptions): Promise<HubProcess> {
  const hub = new ChildHub(options);
  await hub.start();
  return hub;
}

class ChildHub implements HubProcess {
  readonly dbPath: string;
  readonly #options: HubProcessOptions;
  readonly #host: string;
  readonly #lines: string[] = [];
  #port: number | undefined;
  #child: ChildProcess | undefined;
  #exited: Promise<HubExit> = Promise.resolve(0);
  #exit: HubExit | undefined;
  #starts = 0;

  constructor(options: HubProcessOptions) {
    this.#options = options;
    this.dbPath = options.dbPath;
    this.#host = options.host ?? '127.0.0.1';
    this.#port = options.port === 0 ? undefined : options.port;
  }

  get url(): string {
    return `http://${this.#host}:${this.port}`;
  }

  get port(): number {
    return this.#port ?? 0;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  get running(): boolean {
    return this.#child !== undefined && this.#exit === undefined;
  }

  get starts(): number {
    return this.#starts;
  }

  get output(): readonly string[] {
    return this.#lines;
  }

  get exited(): Promise<HubExit> {
    return this.#exited;
  }

  async kill(signal: 'SIGKILL' | 'SIGTERM' = 'SIGKILL'): Promise<HubExit> {
    if (this.running) this.#child!.kill(signal);
    return this.#exited;
  }

  async restart(options: { readonly signal?: 'SIGKILL' | 'SIGTERM' } = {}): Promise<void> {
    if (this.running) await this.kill(options.signal ?? 'SIGKILL');
    await this.start();
  }

  describe(lines = 40): string {
    const tail = this.#lines.slice(-lines);
    return [
      `eventloom-hub ${this.running ? `pid ${this.pid}` : `exited (${this.#exit ?? 'never started'})`}` +
        `${this.#port === undefined ? '' : ` on ${this.url}`}, db ${this.dbPath},` +
        ` started ${this.#starts} time(s); last ${tail.length} lines:`,
      ...tail,
    ].join('\n');
  }

  /** Starts a process; on the first start without a port, picks one and retries if it was taken. */
  async start(): Promise<void> {
    const timeoutMs = this.#options.startTimeoutMs ?? 30_000;
    const deadline = Date.now() + timeoutMs;
    const chosen = this.#port === undefined;
    for (;;) {
      const port = this.#port ?? (await freePortBelowEphemeral(this.#host));
      if (!chosen) await waitForFreePort(this.#host, port, deadline);
      const outcome = await this.#spawn(port, deadline);
      if (outcome === 'listening') {
        this.#port = port;
        return;
      }
      if (outcome === 'address-in-use' && Date.now() < deadline) {
        // Taken between the check and the child's listen: another port, or the same once free.
        if (!chosen) await sleep(20);
        continue;
      }
      throw new SyncLabError(
        SyncLabErrorCode.hubStart,
        `eventloom-hub did not start (${outcome === 'timeout' ? `not listening after ${timeoutMs} ms` : 'exited'}):\n${this.describe()}`,
      );
    }
  }

  async #spawn(
    port: number,
    deadline: number,
  ): Promise<'listening' | 'address-in-use' | 'exited' | 'timeout'> {
    const args = [
      ...(this.#options.insecureDev === false ? [] : ['--insecure-dev']),
      '--host',
      this.#host,
      '--port',
      String(port),
      '--db',
      this.dbPath,
      ...(this.#options.args ?? []),
    ];
    let header = '';
    let timer: NodeJS.Timeout | undefined;
    let timedOut = false;
    try {
      await spawnHubProcess(args, {
        bin: this.#options.bin,
        env: { PATH: process.env['PATH'] ?? '', ...this.#options.env },
        killOnExit: 'SIGKILL',
        onSpawn: (child) => {
          this.#started(child);
          header = `── eventloom-hub start ${this.#starts}: pid ${child.pid ?? '?'}, port ${port} ──`;
          this.#record(header);
          timer = setTimeout(
            () => {
              timedOut = true;
              child.kill('SIGKILL');
            },
            Math.max(0, deadline - Date.now()),
          );
        },
        onLine: (line) => this.#record(line),
      });
      return 'listening';
    } catch {
      // It ended before listening, and its whole output is in the lines by now.
      if (timedOut) return 'timeout';
      const thisStart = this.#lines.slice(this.#lines.lastIndexOf(header));
      return thisStart.some((l) => l.includes('EADDRINUSE')) ? 'address-in-use' : 'exited';
    } finally {
      clearTimeout(timer);
    }
  }

  #started(child: ChildProcess): void {
    this.#starts++;
    this.#child = child;
    this.#exit = undefined;
    this.#exited = new Promise<HubExit>((resolve) => {
      child.once('exit', (code, signal) => {
        const exit = code ?? signal ?? 'SIGKILL';
        if (this.#child === child) this.#exit = exit;
        resolve(exit);
      });
    });
  }

  #record(line: string): void {
    this.#lines.push(line);
    const keep = this.#options.keepLines ?? 5000;
    if (this.#lines.length > keep) this.#lines.splice(0, this.#lines.length - keep);
  }
}

/** Resolves once `port` can be listened on; throws `port-busy` after `deadline`. */
export async function waitForFreePort(host: string, port: number, deadline: number): Promise<void> {
  for (;;) {
    if (await canListen(host, port)) return;
    if (Date.now() >= deadline) {
      throw new SyncLabError(SyncLabErrorCode.portBusy, `port ${port} on ${host} is still in use`);
    }
    await sleep(20);
  }
}

function canListen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** A port that is free now, below the ephemeral range (where outgoing connections take theirs). */
async function freePortBelowEphemeral(host: string): Promise<number> {
  const low = ephemeralLow();
  const from = Math.min(10_000, low - 1000);
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = from + Math.floor(Math.random() * (low - from));
    if (await canListen(host, port)) return port;
  }
  throw new SyncLabError(SyncLabErrorCode.portBusy, `no free port found in [${from}, ${low})`);
}

function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 2000 ? low : 32_768;
  } catch {
    return 32_768;
  }
}
