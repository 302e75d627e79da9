/**
 * `pnpm cluster`: three eventloom-hub nodes on the local Postgres (one shared log) and Redis (the
 * notify bus), behind HAProxy on one port, serving the built demo (built first when missing).
 * Insecure dev mode: for this machine only. Ctrl-C stops everything gracefully.
 *
 * EVENTLOOM_PORT (default 8080) is HAProxy's port; EVENTLOOM_CLUSTER_DB (default
 * postgres://postgres@127.0.0.1:5432/eventloom_cluster, created when missing) and EVENTLOOM_REDIS
 * (default redis://127.0.0.1:6379) name the services; HAPROXY (default /usr/sbin/haproxy) the binary.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DEMO_SCHEMAS, ROOT } from './demo-hub.ts';
import { startCluster } from './cluster-rig.ts';

const dist = join(ROOT, 'apps', 'demo', 'dist');
if (!existsSync(join(dist, 'index.html'))) {
  console.log('apps/demo/dist is missing: building the demo first (pnpm build)…');
  const built = spawnSync('npx', ['-y', 'pnpm@12.4.2', 'build'], { cwd: ROOT, stdio: 'inherit' });
  if (built.status !== 0) process.exit(built.status ?? 1);
}

const cluster = await startCluster({
  port: Number(process.env['EVENTLOOM_PORT'] ?? 8080),
  db: process.env['EVENTLOOM_CLUSTER_DB'] ?? 'postgres://postgres@127.0.0.1:5432/eventloom_cluster',
  redis: process.env['EVENTLOOM_REDIS'] ?? 'redis://127.0.0.1:6379',
  nodeArgs: ['--static', dist, '--schemas', DEMO_SCHEMAS],
  onLine: (node, line) => print(node, line),
}).catch((error: unknown) => {
  console.error(String(error instanceof Error ? error.message : error));
  process.exit(1);
});

console.log(`
  Eventloom cluster: ${cluster.url}/   (HAProxy → ${cluster.nodes.map((n) => n.url).join(', ')})

  three hub nodes on ${cluster.db.replace(/\/\/[^@]*@/, '//…@')} and ${cluster.redis}; health checks on /readyz,
  HAProxy stats on ${cluster.url}/haproxy?stats. Ctrl-C stops it.
`);

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  void cluster.stop().then(() => process.exit(0));
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);

function print(node: string, line: string): void {
  let entry: { level?: number; msg?: string } | undefined;
  try {
    entry = JSON.parse(line) as { level?: number; msg?: string };
  } catch {
    entry = undefined;
  }
  if (entry?.msg === 'insecure dev mode: unauthenticated connection') return;
  if (entry !== undefined && (entry.level ?? 30) < 30) return;
  console.log(`[${node}] ${entry?.msg ?? line}`);
}
