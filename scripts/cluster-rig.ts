/**
 * Starts a local hub cluster: N eventloom-hub processes on one Postgres log and one Redis bus,
 * behind HAProxy (health checks on /readyz, WebSocket tunnels, round robin without stickiness).
 * `pnpm cluster` runs it for people; the cluster tests run it to kill nodes under load.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { spawnHubProcess, type HubProcess } from '@eventloom/hub-server/testing';
import { ROOT } from './demo-hub.ts';

/** What {@link startCluster} takes. */
export interface ClusterOptions {
  /** HAProxy's port; 0 picks a free one. */
  readonly port: number;
  /** The Postgres database of the log (created when missing). */
  readonly db: string;
  readonly redis: string;
  /** Nodes to start (default 3). */
  readonly nodes?: number;
  /** More flags for every node (`--static`, `--schemas`…). */
  readonly nodeArgs?: readonly string[];
  /** Each log line of each node (`node-1`…). */
  readonly onLine?: (node: string, line: string) => void;
  /** The HAProxy binary (default `$HAPROXY` or /usr/sbin/haproxy). */
  readonly haproxy?: string;
}

/** A running cluster. */
export interface Cluster {
  /** HAProxy's URL: what clients connect to. */
  readonly url: string;
  readonly db: string;
  readonly redis: string;
  /** The nodes, as started (a killed one stays in the list). */
  readonly nodes: readonly HubProcess[];
  /** Stops HAProxy and every node (SIGTERM: graceful), and removes the HAProxy config. */
  stop(): Promise<void>;
}

/** Starts the nodes, then HAProxy in front of them, and resolves once HAProxy routes to a ready node. */
export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  await ensureDatabase(options.db);
  const count = options.nodes ?? 3;
  const nodes: HubProcess[] = [];
  let proxy: ChildProcess | undefined;
  const dir = await mkdtemp(join(tmpdir(), 'eventloom-cluster-'));
  const stop = async () => {
    if (proxy !== undefined && proxy.exitCode === null && proxy.signalCode === null) {
      const exited = new Promise((resolve) => proxy!.once('exit', resolve));
      proxy.kill('SIGTERM');
      await exited;
    }
    await Promise.all(
      nodes.map(async (node) => {
        if (node.child.exitCode === null && node.child.signalCode === null) node.child.kill('SIGTERM');
        await node.exited;
      }),
    );
    await rm(dir, { recursive: true, force: true });
  };
  try {
    // Together: the first to migrate the log holds the migration lock, the others then find it current.
    const started = await Promise.allSettled(
      Array.from({ length: count }, (_, i) => {
        const name = `node-${i + 1}`;
        return spawnHubProcess(
          [
            '--insecure-dev',
            '--port',
            '0',
            '--db',
            options.db,
            '--redis',
            options.redis,
            ...(options.nodeArgs ?? []),
          ],
          {
            cwd: ROOT,
            killOnExit: 'SIGKILL',
            ...(options.onLine === undefined
              ? {}
              : { onLine: (line: string) => options.onLine!(name, line) }),
          },
        );
      }),
    );
    for (const result of started) if (result.status === 'fulfilled') nodes.push(result.value);
    const refused = started.find((r) => r.status === 'rejected');
    if (refused !== undefined) throw refused.reason;
    const port = options.port === 0 ? await freePort() : options.port;
    const config = join(dir, 'haproxy.cfg');
    await writeFile(
      config,
      haproxyConfig(
        port,
        nodes.map((n) => new URL(n.url)),
      ),
    );
    const bin = options.haproxy ?? process.env['HAPROXY'] ?? '/usr/sbin/haproxy';
    proxy = spawn(bin, ['-f', config, '-db'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const output: string[] = [];
    proxy.stdout?.on('data', (d: Buffer) => output.push(d.toString()));
    proxy.stderr?.on('data', (d: Buffer) => output.push(d.toString()));
    const spawned = proxy;
    const failed = new Promise<never>((_, reject) => {
      spawned.once('error', (error) =>
        reject(new Error(`cannot run ${bin}: ${error.message} (apt-get install haproxy)`)),
      );
      spawned.once('exit', (code) => reject(new Error(`haproxy exited (${code}):\n${output.join('')}`)));
    });
    const url = `http://127.0.0.1:${port}`;
    await Promise.race([waitReady(url), failed]);
    failed.catch(() => undefined);
    return { url, db: options.db, redis: options.redis, nodes, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * HAProxy in front of the nodes: HTTP mode (WebSocket upgrades become tunnels), round robin, and
 * each node checked on /readyz every second (down after 2 failures, up after 2 successes). No
 * stickiness: clients speak WebSocket, one connection for a whole session. Long polling would need
 * it (`cookie` or `balance source`): its requests must all reach the node that holds the session.
 */
export function haproxyConfig(port: number, nodes: readonly URL[]): string {
  return [
    'global',
    '  maxconn 4096',
    'defaults',
    '  mode http',
    '  option http-server-close',
    '  timeout connect 2s',
    '  timeout client 60s',
    '  timeout server 60s',
    '  timeout tunnel 1h',
    '  timeout client-fin 5s',
    'frontend eventloom',
    `  bind 127.0.0.1:${port}`,
    '  stats enable',
    '  stats uri /haproxy?stats',
    '  default_backend hubs',
    'backend hubs',
    '  balance roundrobin',
    '  option httpchk GET /readyz',
    '  http-check expect status 200',
    '  default-server inter 1s fall 2 rise 2 on-marked-down shutdown-sessions',
    ...nodes.map((u, i) => `  server node-${i + 1} ${u.hostname}:${u.port} check`),
    '',
  ].join('\n');
}

/** Creates the database of `url` when it does not exist (connecting to the server's `postgres` database). */
async function ensureDatabase(url: string): Promise<void> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.slice(1));
  if (!/^[A-Za-z0-9_]+$/.test(name))
    throw new Error(`database name ${JSON.stringify(name)}: letters, digits and _ only`);
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const sql = postgres(admin.toString(), { max: 1, onnotice: () => undefined, connect_timeout: 5 });
  try {
    const [row] = await sql`SELECT 1 AS found FROM pg_database WHERE datname = ${name}`;
    if (row === undefined) await sql.unsafe(`CREATE DATABASE "${name}"`);
  } catch (error) {
    throw new Error(`Postgres at ${admin.host}: ${String(error)}`);
  } finally {
    await sql.end({ timeout: 1 });
  }
}

async function waitReady(url: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const res = await fetch(`${url}/readyz`);
      if (res.ok) return;
    } catch {
      // HAProxy not listening yet.
    }
    if (Date.now() > deadline) throw new Error(`HAProxy at ${url} did not route to a ready node in 30 s`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
