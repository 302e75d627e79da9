/**
 * `pnpm start`: the hub serving the built demo (`pnpm build` first) and the sync protocol on one
 * port, SQLite in ./data, insecure dev mode. Prints the URL; Ctrl-C stops it gracefully.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, startDemoHub } from './demo-hub.ts';

const dist = join(ROOT, 'apps', 'demo', 'dist');
if (!existsSync(join(dist, 'index.html'))) {
  console.error('apps/demo/dist is missing: run `pnpm build` first.');
  process.exit(1);
}

const hub = await startDemoHub(['--static', dist]).catch((error: unknown) => {
  console.error(String(error instanceof Error ? error.message : error));
  process.exit(1);
});
console.log(`
  Eventloom demo (built): ${hub.url}/

  the hub serves the app, /socket.io, /healthz, /readyz and /metrics on one port.
  Ctrl-C stops it.
`);

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  void hub.stop().then(() => process.exit(0));
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
hub.child.once('exit', (code) => {
  if (!stopping) process.exit(typeof code === 'number' ? code : 1);
});
